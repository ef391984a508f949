#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 keeps the compiled bundle on disk between runs (Node 20 has no compile cache: the bundle alone helps
// there). Enabled before the bundle is imported, so it covers it.
module.enableCompileCache?.()

const {cli__run} = await import('../dist/bundle/run.js')
await cli__run(import.meta.url)
