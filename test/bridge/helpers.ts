/**
 * Bridge tests: an in-process mqttkit with a BridgeManager, real mosquitto processes (restartable on the same
 * port, with persistence), and counting subscribers.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {MqttClient} from 'mqtt'
import {Broker} from '../../src/broker/broker.js'
import {BridgeManager, bridge__checkList} from '../../src/broker/bridge/index.js'
import {MOSQUITTO, brokers__freePort, brokers__waitForPort} from '../helpers/brokers.js'
import {mqttjs__connect} from '../helpers/mqttjs.js'
import {requireProgram} from '../helpers/system.js'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export function bridge__requireMosquitto(ctx: {skip(note?: string): void}): boolean {
  return requireProgram(ctx, MOSQUITTO, 'mosquitto')
}

export interface Mqttkit {
  broker: Broker
  bridges: BridgeManager
  port: number
  stop(): Promise<void>
}

const started = new Set<{stop(): Promise<void>}>()

/** mqttkit on 127.0.0.1 with the given `bridges` list (checked like the config file's). */
export async function bridge__mqttkit(bridges: unknown[] = [], options: Record<string, unknown> = {}, nodeId?: string): Promise<Mqttkit> {
  const broker = new Broker({logLevel: process.env.BRIDGE_DEBUG ? 'debug' : 'silent', listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], raiseFileLimit: false, ...options})
  const [listener] = await broker.listen()
  const manager = new BridgeManager(broker, nodeId === undefined ? {} : {nodeId})
  await manager.start(bridge__checkList(bridges))
  const running: Mqttkit = {
    broker,
    bridges: manager,
    port: listener!.address.port,
    async stop() {
      started.delete(running)
      await manager.stop()
      await broker.close()
    },
  }
  started.add(running)
  return running
}

export interface Mosquitto {
  port: number
  /** SIGTERM and wait (mosquitto saves its persistence file on the way out). */
  stop(): Promise<void>
  /** Starts again on the same port with the same configuration. */
  start(): Promise<void>
  log(): string
}

/** A mosquitto with persistence in a temporary directory and `extra` lines (bridge sections…). */
export async function bridge__mosquitto(extra: string[] = [], port?: number): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bridge-mosq-'))
  // Run as root, mosquitto drops to its own user: that user must be able to write the persistence file.
  chmodSync(dir, 0o777)
  const p = port ?? (await brokers__freePort())
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [`listener ${p} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}/`, 'max_queued_messages 10000', ...extra, ''].join('\n'),
  )
  let child: ChildProcess | null = null
  let log = ''
  const m: Mosquitto = {
    port: p,
    async start() {
      const c = spawn(MOSQUITTO, ['-c', conf, '-v'], {stdio: ['ignore', 'pipe', 'pipe']})
      child = c
      c.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s))
      c.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s))
      await brokers__waitForPort(p, 5000).catch((error: unknown) => {
        throw new Error(`mosquitto did not start: ${String(error)}\n${log}`)
      })
    },
    async stop() {
      const c = child
      child = null
      if (c === null || c.exitCode !== null || c.signalCode !== null) return
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
      c.kill('SIGTERM')
      await exited
    },
    log: () => log,
  }
  await m.start()
  started.add(m)
  return m
}

export async function bridge__cleanup(): Promise<void> {
  await Promise.allSettled([...started].map((s) => s.stop()))
  started.clear()
}

/** A subscriber that records topics and payloads (QoS 1, MQTT 5 unless told). */
export async function bridge__subscriber(port: number, filter: string, options: Record<string, unknown> = {}): Promise<{client: MqttClient; got: Array<{topic: string; payload: string; retain: boolean; properties: Record<string, unknown> | undefined}>}> {
  const client = await mqttjs__connect(port, {protocolVersion: 5, ...options})
  const got: Array<{topic: string; payload: string; retain: boolean; properties: Record<string, unknown> | undefined}> = []
  client.on('message', (topic, payload, packet) => got.push({topic, payload: payload.toString(), retain: packet.retain, properties: packet.properties as Record<string, unknown> | undefined}))
  await client.subscribeAsync(filter, {qos: 1, rap: true})
  return {client, got}
}

/** Waits until `check` holds (polling), or throws with `what` after `timeoutMs`. */
export async function bridge__until(check: () => boolean, what: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`)
    await sleep(50)
  }
}

/** Waits until every bridge of `m` is up. */
export async function bridge__up(m: Mqttkit, timeoutMs = 10_000): Promise<void> {
  await bridge__until(
    () => m.bridges.status().every((s) => s.state === 'up'),
    () => `bridges not up: ${JSON.stringify(m.bridges.status())}`,
    timeoutMs,
  )
}

/** Publishes `count` QoS 1 messages `prefix0..` to `topic` in order, each waiting for its PUBACK in batches of 100. */
export async function bridge__publish(client: MqttClient, topic: string, count: number, prefix = 'm'): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    const batch = []
    for (let k = i; k < Math.min(count, i + 100); k++) batch.push(client.publishAsync(topic, `${prefix}${k}`, {qos: 1}))
    await Promise.all(batch)
  }
}

export interface Proxy {
  port: number
  /** Packet types (the high nibble of the first byte: 3 PUBLISH, 5 PUBREC, 6 PUBREL, 7 PUBCOMP…) seen each way. */
  fromClient: number[]
  fromServer: number[]
  /** The packet id of every PUBREL from the client, in order. */
  releases: number[]
  /** Packet types from the server not passed on (while set). */
  drop: Set<number>
  /** Cuts every connection (the client sees the remote go away). */
  cut(): void
  stop(): Promise<void>
}

/** Splits an MQTT byte stream into whole packets (fixed header, 1-4 bytes of remaining length, body). */
function mqtt__frames(onPacket: (type: number, bytes: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0)
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      let length = 0
      let at = 1
      for (let shift = 0; ; shift += 7, at++) {
        if (at >= buffered.length) return
        length += (buffered[at]! & 0x7f) << shift
        if ((buffered[at]! & 0x80) === 0) break
      }
      const end = at + 1 + length
      if (buffered.length < end) return
      onPacket(buffered[0]! >> 4, buffered.subarray(0, end))
      buffered = buffered.subarray(end)
    }
  }
}

/** A TCP proxy on 127.0.0.1 in front of `target` that records packet types and can hold back some from the server. */
export async function bridge__proxy(target: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>()
  const proxy: Proxy = {port: 0, fromClient: [], fromServer: [], releases: [], drop: new Set(), cut: () => {}, stop: async () => {}}
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', mqtt__frames((type, bytes) => {
      proxy.fromClient.push(type)
      // PUBREL: the packet id follows the fixed header (type byte, remaining length 2-4 here: one byte).
      if (type === 6) proxy.releases.push(bytes.readUInt16BE(2))
      upstream.write(bytes)
    }))
    upstream.on('data', mqtt__frames((type, bytes) => {
      proxy.fromServer.push(type)
      if (!proxy.drop.has(type)) client.write(bytes)
    }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.port = (server.address() as net.AddressInfo).port
  proxy.cut = () => {
    for (const s of sockets) s.destroy()
  }
  proxy.stop = async () => {
    started.delete(proxy)
    proxy.cut()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  started.add(proxy)
  return proxy
}
