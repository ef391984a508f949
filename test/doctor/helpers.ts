// Helpers for the doctor tests: recorded command outputs, a fake `exec` replaying them, free ports and
// child processes that are always cleaned up.
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import type {CommandResult, Exec} from '../../src/doctor/types.js'

export function fixture(name: string): string {
  return readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
}

/** An Exec that answers `file args…` from a table; unknown commands behave as "not installed" (null). */
export function fakeExec(table: Record<string, string | CommandResult>): Exec & {calls: string[]} {
  const calls: string[] = []
  const exec = async (file: string, args: string[]) => {
    const key = [file, ...args].join(' ')
    calls.push(key)
    const hit = table[key]
    if (hit === undefined) return null
    return typeof hit === 'string' ? {code: 0, stdout: hit, stderr: ''} : hit
  }
  return Object.assign(exec, {calls})
}

/** A port nobody listens on right now (bound on port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (a child's server is up). */
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const {connect} = await import('node:net')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({host: '127.0.0.1', port})
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const children = new Set<ChildProcess>()

export function spawnChild(file: string, args: string[], opts: {cwd?: string} = {}): ChildProcess {
  const child = spawn(file, args, {stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd})
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

export async function killChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve()
          c.once('exit', () => resolve())
          c.kill('SIGTERM')
        }),
    ),
  )
}

/**
 * A child process holding a TCP port without speaking any protocol. It binds port 0 and reports the port it got,
 * so no other test can take the port between "found free" and "bound".
 */
export async function holdPort(): Promise<{port: number; child: ChildProcess}> {
  const child = spawnChild(process.execPath, [
    '-e',
    "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))",
  ])
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.once('exit', (code) => reject(new Error(`port holder exited with ${code}`)))
  })
  return {port, child}
}
