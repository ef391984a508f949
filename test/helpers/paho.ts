/**
 * Drives Python paho-mqtt (Debian's python3-paho-mqtt under /usr/bin/python3) through test/e2e/py/agent.py: JSON
 * commands in, JSON events out. `paho__require(ctx)` fails the test under CI when paho is missing and skips it
 * loudly elsewhere.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {requireProgram, requirePythonModule} from './system.js'

export const PYTHON = '/usr/bin/python3'
const AGENT = fileURLToPath(new URL('../e2e/py/agent.py', import.meta.url))

export interface PahoEvent {
  ev: string
  [field: string]: any
}

const agents = new Set<PahoAgent>()

interface Skippable {
  skip(note?: string): void
}

export function paho__require(ctx: Skippable): boolean {
  return requireProgram(ctx, PYTHON, 'python3') && requirePythonModule(ctx, 'paho.mqtt.client', 'python3-paho-mqtt')
}

export class PahoAgent {
  readonly events: PahoEvent[] = []
  private readonly child: ChildProcess
  private waiters: Array<() => void> = []
  private stderr = ''
  readonly exited: Promise<number | null>

  constructor() {
    this.child = spawn(PYTHON, ['-u', AGENT], {stdio: ['pipe', 'pipe', 'pipe']})
    agents.add(this)
    let buffered = ''
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() !== '') this.events.push(JSON.parse(line) as PahoEvent)
      }
      for (const w of this.waiters) w()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk))
    this.child.stdin!.on('error', () => {})
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        agents.delete(this)
        for (const w of this.waiters) w()
        resolve(code)
      }),
    )
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`)
  }

  /** Resolves with the first event (from index `from` on) satisfying `match`; rejects on timeout or an error event. */
  wait(match: (e: PahoEvent) => boolean, timeoutMs = 8000, from = 0): Promise<PahoEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = from; i < this.events.length; i++) {
          const e = this.events[i]!
          if (e.ev === 'error') {
            done()
            reject(new Error(`paho agent error: ${e.message}`))
            return true
          }
          if (match(e)) {
            done()
            resolve(e)
            return true
          }
        }
        if (this.child.exitCode !== null) {
          done()
          reject(new Error(`paho agent exited; stderr: ${this.stderr}`))
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`paho: timed out; events so far: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`))
      }, timeoutMs)
      const waiter = (): void => void check()
      const done = (): void => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((w) => w !== waiter)
      }
      this.waiters.push(waiter)
      check()
    })
  }

  /** Connects and resolves with the CONNACK event. */
  async connect(port: number, options: Record<string, unknown> = {}): Promise<PahoEvent> {
    this.send({op: 'connect', host: '127.0.0.1', port, ...options})
    return this.wait((e) => e.ev === 'connack')
  }

  /** Subscribes and resolves with the SUBACK event. */
  async subscribe(topic: string, options: Record<string, unknown> = {}): Promise<PahoEvent> {
    const from = this.events.length
    this.send({op: 'subscribe', topic, ...options})
    const sent = await this.wait((e) => e.ev === 'sent' && e.op === 'subscribe', 5000, from)
    return this.wait((e) => e.ev === 'suback' && e.mid === sent.mid, 5000, from)
  }

  /** Publishes; for QoS 1/2 resolves once the flow completed (paho's on_publish). */
  async publish(topic: string, payload: string, options: Record<string, unknown> = {}): Promise<void> {
    const from = this.events.length
    this.send({op: 'publish', topic, payload, ...options})
    const sent = await this.wait((e) => e.ev === 'sent' && e.op === 'publish', 5000, from)
    if (sent.rc !== 0) throw new Error(`paho publish failed with rc ${sent.rc}`)
    await this.wait((e) => e.ev === 'published' && e.mid === sent.mid, 5000, from)
  }

  /** Messages received so far. */
  messages(): PahoEvent[] {
    return this.events.filter((e) => e.ev === 'message')
  }

  /** Resolves once `n` messages arrived in total. */
  async messagesUntil(n: number, timeoutMs = 8000): Promise<PahoEvent[]> {
    let seen = 0
    await this.wait((e) => e.ev === 'message' && ++seen >= n, timeoutMs)
    return this.messages()
  }

  async disconnect(options: Record<string, unknown> = {}): Promise<void> {
    const from = this.events.length
    this.send({op: 'disconnect', ...options})
    await this.wait((e) => e.ev === 'sent' && e.op === 'disconnect', 5000, from)
  }

  /** Exits without DISCONNECT: the broker sees the connection lost. */
  async drop(): Promise<void> {
    this.send({op: 'drop'})
    await this.exited
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
  }
}

export async function paho__cleanup(): Promise<void> {
  const all = [...agents]
  for (const a of all) a.kill()
  await Promise.all(all.map((a) => a.exited))
}
