/**
 * mosquitto_pub and mosquitto_sub as third-party clients. `mosq__sub` starts a subscriber printing one JSON object
 * per message (`-F %j`, properties included under MQTT 5) and resolves once its SUBACK arrived (seen in `-d`
 * output), so a publish after that is guaranteed to be routed to it.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {requireProgram} from './system.js'

export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub'
export const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub'
const STDBUF = '/usr/bin/stdbuf'

interface Skippable {
  skip(note?: string): void
}

export function mosq__require(ctx: Skippable): boolean {
  return requireProgram(ctx, MOSQUITTO_PUB, 'mosquitto-clients') && requireProgram(ctx, MOSQUITTO_SUB, 'mosquitto-clients')
}

export interface MosqMessage {
  topic: string
  qos: number
  retain: number
  payload: string
  properties?: Record<string, any>
}

export interface ExitResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const children = new Set<ChildProcess>()

function track(child: ChildProcess, timeoutMs: number): {exited: Promise<ExitResult>; out: () => string; err: () => string; onData: (fn: () => void) => void} {
  children.add(child)
  let stdout = ''
  let stderr = ''
  const listeners: Array<() => void> = []
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
    for (const l of listeners) l()
  })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s
    for (const l of listeners) l()
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const exited = new Promise<ExitResult>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      for (const l of listeners) l()
      resolve({code, signal, stdout, stderr})
    }),
  )
  return {exited, out: () => stdout, err: () => stderr, onData: (fn) => listeners.push(fn)}
}

/** Runs mosquitto_pub to the end (killed after `timeoutMs`). */
export function mosq__pub(port: number, args: string[], timeoutMs = 10_000): Promise<ExitResult> {
  const child = spawn(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  return track(child, timeoutMs).exited
}

export interface MosqSub {
  child: ChildProcess
  /** Messages printed so far. */
  messages(): MosqMessage[]
  /** Resolves once `n` messages were printed in total. */
  until(n: number, timeoutMs?: number): Promise<MosqMessage[]>
  stderr(): string
  exited: Promise<ExitResult>
  /** SIGKILL: the socket closes without DISCONNECT. */
  kill(): Promise<ExitResult>
  /** SIGINT: mosquitto_sub sends DISCONNECT and exits. */
  stop(): Promise<ExitResult>
}

/** Starts mosquitto_sub with `-d -F %j` plus `args`; resolves once subscribed (every -t acknowledged). */
export async function mosq__sub(port: number, args: string[], timeoutMs = 15_000): Promise<MosqSub> {
  // stdbuf: mosquitto_sub's debug lines are block-buffered on a pipe; the SUBACK line must be seen at once.
  const child = spawn(STDBUF, ['-oL', MOSQUITTO_SUB, '-h', '127.0.0.1', '-p', String(port), '-d', '-F', '%j', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const t = track(child, timeoutMs)
  // With -d, debug lines go to stdout too; messages are the lines that parse as JSON objects.
  const messages = (): MosqMessage[] =>
    t
      .out()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as MosqMessage)
  const waitFor = (done: () => boolean, what: string, ms: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (done()) return resolve()
      const timer = setTimeout(() => reject(new Error(`mosquitto_sub: timed out waiting for ${what}; output: ${t.out()} ${t.err()}`)), ms)
      t.onData(() => {
        if (done()) {
          clearTimeout(timer)
          resolve()
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer)
          reject(new Error(`mosquitto_sub exited before ${what}; output: ${t.out()} ${t.err()}`))
        }
      })
    })
  await waitFor(() => /received SUBACK/.test(t.out() + t.err()), 'SUBACK', 5000)
  return {
    child,
    messages,
    async until(n, ms = 8000) {
      await waitFor(() => messages().length >= n, `${n} messages`, ms)
      return messages()
    },
    stderr: t.err,
    exited: t.exited,
    kill() {
      child.kill('SIGKILL')
      return t.exited
    },
    async stop() {
      // mosquitto_sub sends DISCONNECT from its signal handler, which takes libmosquitto's locks: a SIGINT landing
      // while the client thread still holds them (just after the SUBACK this helper waits for) can hang it until
      // the SIGKILL of `track`. A moment's pause lets it finish handling the SUBACK first.
      await new Promise((resolve) => setTimeout(resolve, 100))
      child.kill('SIGINT')
      return t.exited
    },
  }
}

export async function mosq__cleanup(): Promise<void> {
  const all = [...children]
  for (const c of all) c.kill('SIGKILL')
  await Promise.all(all.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('close', r)))))
}
