/**
 * A real redis-server for tests: on 127.0.0.1, a free port, its own temporary directory, no RDB snapshots
 * (`--save ''`), append-only file on request. Stopped by pid (SIGTERM, or SIGKILL to simulate a crash); `stop()`
 * and `start()` again on the same port and directory simulate an outage. Missing redis-server: the test fails
 * under CI and is skipped loudly elsewhere (system.ts).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {brokers__freePort} from './brokers.js'
import {requireProgram} from './system.js'

export const REDIS_SERVER = '/usr/bin/redis-server'

interface SkippableContext {
  skip(note?: string): void
}

export interface RunningRedis {
  port: number
  url: string
  /** Stops the server (SIGTERM, or SIGKILL); its directory is kept so start() brings the same data back. */
  stop(signal?: NodeJS.Signals): Promise<void>
  start(): Promise<void>
  /** Stops and removes its directory. */
  dispose(): Promise<void>
}

const started = new Set<RunningRedis>()

/** True when redis-server exists; otherwise fails (CI) or skips (locally) the current test. */
export function requireRedis(ctx: SkippableContext): boolean {
  return requireProgram(ctx, REDIS_SERVER, 'redis-server')
}

export async function redis__start(options: {appendonly?: boolean} = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttkit-redis-'))
  const port = await brokers__freePort()
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let output = ''

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no']
    args.push('--appendonly', options.appendonly ? 'yes' : 'no', '--protected-mode', 'no', '--loglevel', 'warning')
    const proc = spawn(REDIS_SERVER, args, {stdio: ['ignore', 'pipe', 'pipe']})
    child = proc
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s))
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s))
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    const deadline = Date.now() + 5000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${output}`)
      if (await ping(port)) return
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${port}: ${output}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child
    if (proc === null) return
    child = null
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
    await exited
  }

  const redis: RunningRedis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    stop,
    start,
    async dispose() {
      started.delete(redis)
      await stop()
      rmSync(dir, {recursive: true, force: true})
    },
  }
  started.add(redis)
  await start()
  return redis
}

export async function redis__cleanup(): Promise<void> {
  await Promise.allSettled([...started].map((r) => r.dispose()))
}

/** One PING over a raw socket (no client library: this helper must not depend on the code under test). */
async function ping(port: number): Promise<boolean> {
  const net = await import('node:net')
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let reply = ''
    socket.setTimeout(500, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      reply += d.toString()
      if (reply.includes('\r\n')) {
        socket.destroy()
        resolve(reply.startsWith('+PONG'))
      }
    })
    socket.once('error', () => resolve(false))
  })
}
