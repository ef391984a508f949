/**
 * Tests that need a system program (mosquitto, paho, chromium). Under CI a missing program FAILS the test;
 * on a developer machine the test is skipped with a loud message saying what to install.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'

interface SkippableContext {
  skip(note?: string): void
}

const found = new Map<string, boolean>()

function missing(ctx: SkippableContext, what: string, aptPackage: string): false {
  const message = `${what} is missing: install it with "apt-get install ${aptPackage}"`
  if (process.env.CI) throw new Error(`${message} (required under CI)`)
  console.warn(`\n*** SKIPPED: ${message} ***\n`)
  ctx.skip(message)
  return false
}

/** True when `path` exists; otherwise fails (CI) or skips (locally) the current test. */
export function requireProgram(ctx: SkippableContext, path: string, aptPackage: string): boolean {
  if (!found.has(path)) found.set(path, existsSync(path))
  return found.get(path)! || missing(ctx, path, aptPackage)
}

/** True when Debian's /usr/bin/python3 can import `module`; otherwise fails (CI) or skips (locally). */
export function requirePythonModule(ctx: SkippableContext, module: string, aptPackage: string): boolean {
  const key = `python:${module}`
  if (!found.has(key)) {
    const probe = spawnSync('/usr/bin/python3', ['-c', `import ${module}`], {stdio: 'ignore'})
    found.set(key, probe.status === 0)
  }
  return found.get(key)! || missing(ctx, `/usr/bin/python3 module ${module}`, aptPackage)
}
