/**
 * Brokers for end-to-end tests: the mqttkit Broker in this process, or a real mosquitto on a free port (to check
 * that a test passes and fails on real behaviour). `E2E_BROKERS=mqttkit,mosquitto` picks which brokers the
 * parameterised suites run against (default: mqttkit only). Everything started here is stopped by
 * `brokers__cleanup()` (call it in afterAll/afterEach).
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export type BrokerKind = 'mqttkit' | 'mosquitto'

export interface RunningBroker {
  kind: BrokerKind
  host: string
  port: number
  /** The in-process mqttkit Broker (absent for mosquitto). */
  mqttkit?: import('../../src/broker/broker.js').Broker
  stop(): Promise<void>
}

export const MOSQUITTO = '/usr/sbin/mosquitto'

const running = new Set<RunningBroker>()

/** The brokers `E2E_BROKERS` names (comma separated), default `mqttkit`. */
export function brokers__underTest(): BrokerKind[] {
  const list = (process.env.E2E_BROKERS ?? 'mqttkit').split(',').map((s) => s.trim()).filter(Boolean)
  for (const kind of list) {
    if (kind !== 'mqttkit' && kind !== 'mosquitto') throw new Error(`E2E_BROKERS: unknown broker ${kind}`)
  }
  return list as BrokerKind[]
}

/** A free TCP port on 127.0.0.1 (bind 0, read it, close), for programs that need a number. */
export function brokers__freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs`. */
export async function brokers__waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export interface StartOptions {
  /** Extra mosquitto.conf lines (mosquitto only). */
  mosquittoConf?: string[]
  /** Extra BrokerOptions (mqttkit only). */
  mqttkit?: Record<string, unknown>
}

/** A mosquitto with `listener PORT 127.0.0.1` and `allow_anonymous true` plus `extra` lines. */
export async function brokers__startMosquitto(extra: string[] = []): Promise<RunningBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttkit-e2e-mosq-'))
  const port = await brokers__freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', ...extra, ''].join('\n'))
  const child = spawn(MOSQUITTO, ['-c', conf], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const broker: RunningBroker = {
    kind: 'mosquitto',
    host: '127.0.0.1',
    port,
    async stop() {
      running.delete(broker)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
  running.add(broker)
  try {
    await brokers__waitForPort(port, 5000)
  } catch (error) {
    await broker.stop()
    throw new Error(`mosquitto did not start: ${String(error)}\n${stderr}`)
  }
  return broker
}

/** The mqttkit Broker in this process on 127.0.0.1 and a port chosen by the system. */
export async function brokers__startMqttkit(options: Record<string, unknown> = {}): Promise<RunningBroker> {
  const {Broker} = await import('../../src/broker/broker.js')
  const instance = new Broker({logLevel: 'silent', listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], ...options})
  const [listener] = await instance.listen()
  const broker: RunningBroker = {
    kind: 'mqttkit',
    host: '127.0.0.1',
    port: listener!.address.port,
    mqttkit: instance,
    async stop() {
      running.delete(broker)
      await instance.close()
    },
  }
  running.add(broker)
  return broker
}

export function brokers__start(kind: BrokerKind, options: StartOptions = {}): Promise<RunningBroker> {
  return kind === 'mosquitto' ? brokers__startMosquitto(options.mosquittoConf) : brokers__startMqttkit(options.mqttkit)
}

export async function brokers__cleanup(): Promise<void> {
  await Promise.allSettled([...running].map((b) => b.stop()))
}
