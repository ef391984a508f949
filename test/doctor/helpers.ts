// Helpers for the doctor tests: recorded command outputs, a fake `exec` replaying them, free ports and
// child processes that are always cleaned up.
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {CommandResult, Exec} from '../../src/doctor/types.js'
import {brokers__freePort} from '../helpers/brokers.js'

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
export const freePort = brokers__freePort

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

export const MOSQUITTO = '/usr/sbin/mosquitto'

/**
 * Starts mosquitto with `conf(ports)` on `count` free ports and resolves once it logs "running" (every listener
 * bound). mosquitto needs port numbers, so a port another test takes in between makes it exit: then it is tried
 * again on new ports.
 */
export async function startMosquitto(confFile: string, count: number, conf: (ports: number[]) => string): Promise<{ports: number[]; pid: number}> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports: number[] = []
    while (ports.length < count) {
      const p = await freePort()
      if (!ports.includes(p)) ports.push(p)
    }
    writeFileSync(confFile, conf(ports))
    const child = spawnChild(MOSQUITTO, ['-c', confFile])
    const up = await new Promise<boolean>((resolve) => {
      let log = ''
      const timer = setTimeout(() => resolve(false), 5000)
      child.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString()
        if (/ running\b/.test(log)) {
          clearTimeout(timer)
          resolve(true)
        }
      })
      child.once('exit', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
    if (up) return {ports, pid: child.pid!}
    child.kill('SIGKILL')
  }
  throw new Error(`mosquitto did not start with ${confFile}`)
}

/** Doctor's target for an MQTT 5 broker on 127.0.0.1:`port` (what `-h 127.0.0.1 -p PORT` gives). */
export function doctor__target(port: number) {
  return {
    protocol: 'mqtt' as const,
    host: '127.0.0.1',
    port,
    path: '',
    display: `mqtt://127.0.0.1:${port}`,
    clientOptions: {protocol: 'mqtt' as const, host: '127.0.0.1', port, protocolVersion: 5 as const, reconnectPeriod: 0},
    protocolVersionGiven: false,
  }
}
