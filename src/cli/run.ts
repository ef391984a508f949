/**
 * The CLI's entry, run by bin/run.js from the bundle esbuild makes of it (scripts/bundle.mjs, dist/bundle/run.js):
 * oclif itself, from the manifest, answers --version and --help and finds the command; the bundled commands share
 * this bundle's copy of oclif (issue 20: one file to compile instead of hundreds to resolve and read).
 */
import {execute, settings} from '@oclif/core'

// bin/run.js runs compiled code only; without this, NODE_ENV=development|test (vitest sets it for the CLIs the tests
// spawn) makes oclif register tsx and look for TypeScript sources before falling back to dist/.
settings.enableAutoTranspile = false

export async function cli__run(bin: string): Promise<void> {
  await execute({dir: bin})
}
