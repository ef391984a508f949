/**
 * The CLI's entry, run by bin/run.js in one of two builds of this same file: the esbuild bundle
 * (dist/bundle/run.js, oclif inside, sharing its copy with the bundled commands: one file to compile instead of
 * hundreds to resolve and read) for --version, --help, pub and sub; the tsc build (dist/cli/run.js, oclif from
 * node_modules) for the commands that are not bundled (scripts/bundle.mjs says why), so oclif loads only once.
 */
// The subpaths, not the package index: that one loads every part of oclif (the parser, semver, …) before --help.
import {execute} from '@oclif/core/execute'
import {settings} from '@oclif/core/settings'

// bin/run.js runs compiled code only; without this, NODE_ENV=development|test (vitest sets it for the CLIs the tests
// spawn) makes oclif register tsx and look for TypeScript sources before falling back to dist/.
settings.enableAutoTranspile = false

export async function cli__run(bin: string): Promise<void> {
  await execute({dir: bin})
}
