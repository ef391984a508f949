/** Brokers and fault-injecting proxies for the bench tests: each started on a free loopback port, stopped after. */
import net from 'node:net'
import {Broker} from '../../src/index.js'
import type {BenchSpec, BenchTarget} from '../../src/bench/types.js'
import {brokers__freePort, brokers__startMosquitto} from '../helpers/brokers.js'

export {MOSQUITTO} from '../helpers/brokers.js'
export const freePort = brokers__freePort

export interface Running {
  port: number
  stop(): Promise<void>
  /** The in-process mqttkit broker (startMqttkit only). */
  broker?: Broker
}

/** mosquitto on a free loopback port with anonymous access plus `extra` mosquitto.conf lines. */
export async function startMosquitto(extra: string[] = []): Promise<Running> {
  const {port, stop} = await brokers__startMosquitto(extra)
  return {port, stop}
}

export async function startMqttkit(): Promise<Running> {
  const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent'})
  const listeners = await broker.listen()
  return {port: listeners[0]!.address.port, stop: () => broker.close(), broker}
}

/**
 * A proxy in front of a broker that misbehaves on purpose towards subscribers: it splits the broker → client
 * stream into MQTT frames and, counting PUBLISH frames per connection, drops, duplicates or swaps them as `policy`
 * says. What it did is counted in `stats`, so a test can demand exactly that much loss, duplication, reordering.
 */
export type Fault = 'pass' | 'drop' | 'duplicate' | 'swap'
export async function startFaultyProxy(upstreamPort: number, policy: (n: number) => Fault): Promise<Running & {stats: Record<Fault, number>}> {
  const stats: Record<Fault, number> = {pass: 0, drop: 0, duplicate: 0, swap: 0}
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream)
    let pending = Buffer.alloc(0)
    let publishes = 0
    let held: Buffer | null = null
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      const out: Buffer[] = []
      for (;;) {
        if (pending.length < 2) break
        let len = 0
        let mul = 1
        let i = 1
        let byte: number
        do {
          if (i >= pending.length) break
          byte = pending[i++]!
          len += (byte & 0x7f) * mul
          mul *= 128
        } while (byte & 0x80)
        if (i + len > pending.length || (pending[i - 1]! & 0x80)) break
        const frame = pending.subarray(0, i + len)
        pending = pending.subarray(i + len)
        if (frame[0]! >> 4 !== 3) {
          out.push(frame)
          continue
        }
        const fault = held ? 'pass' : policy(publishes++)
        stats[fault]++
        if (fault === 'drop') continue
        if (fault === 'duplicate') out.push(frame, frame)
        else if (fault === 'swap') held = Buffer.from(frame)
        else {
          out.push(frame)
          if (held) {
            out.push(held)
            held = null
          }
        }
      }
      if (out.length) client.write(Buffer.concat(out))
    })
    const end = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as net.AddressInfo).port,
    stats,
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}

export function target(port: number, version: 3 | 4 | 5 = 4): BenchTarget {
  return {protocol: 'mqtt', host: '127.0.0.1', port, protocolVersion: version, keepalive: 30, clean: true, clientIdPrefix: `t${process.pid}-${Math.random().toString(36).slice(2, 6)}-`}
}

/** A small bounded spec; tests override what they check. */
export function spec(port: number, over: Partial<BenchSpec> = {}): BenchSpec {
  const s: BenchSpec = {
    scenario: 'run',
    target: target(port),
    clients: 0,
    publishers: 2,
    subscribers: 1,
    topic: 'bt/%i',
    filter: 'bt/#',
    qos: 0,
    subQos: 0,
    retain: false,
    size: 32,
    rate: 0,
    inflight: 16,
    backlog: 1000,
    count: 200,
    duration: 10,
    connectRate: 0,
    connectConcurrency: 100,
    connectTimeout: 5000,
    hold: 0,
    drain: 500,
    runId: 1 + Math.floor(Math.random() * 1e9),
    pubBase: 0,
    subBase: 0,
    clientBase: 0,
    totalPublishers: 0,
    ...over,
  }
  if (!over.totalPublishers) s.totalPublishers = s.publishers
  return s
}
