#!/usr/bin/env node
import module from 'node:module'

// Node >= 22.1 keeps compiled code on disk between runs (Node 20 has no compile cache: the bundle alone helps there).
// Enabled before anything else is imported, so it covers all of it.
module.enableCompileCache?.()

// --version is answered without oclif (the same line); --help and the commands scripts call in loops run from the
// esbuild bundle (oclif inside, see scripts/bundle.mjs); the other commands are oclif as installed, with their tsc
// build, so oclif loads only once.
const first = process.argv[2]
if (first === '--version') {
  const {cli__version} = await import('../dist/bundle/version.js')
  cli__version(import.meta.url)
} else {
  const {BUNDLED} = await import('../dist/bundle/bundled.js')
  const bundled = first === undefined || first.startsWith('-') || BUNDLED.includes(first)
  const {cli__run} = await import(bundled ? '../dist/bundle/run.js' : '../dist/cli/run.js')
  await cli__run(import.meta.url)
}
