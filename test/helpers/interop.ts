/**
 * The three third-party clients (mqtt.js, mosquitto_pub/sub, Python paho-mqtt) behind one small interface, so an
 * interop scenario can be written once and run for every pair of publisher and subscriber.
 */
import type {MqttClient} from 'mqtt'
import {mosq__pub, mosq__require, mosq__sub, type MosqSub} from './mosquitto-clients.js'
import {mqttjs__connect, mqttjs__drop, mqttjs__record} from './mqttjs.js'
import {PahoAgent, paho__require} from './paho.js'

export type ClientKind = 'mqtt.js' | 'mosquitto' | 'paho'
export const CLIENT_KINDS: ClientKind[] = ['mqtt.js', 'mosquitto', 'paho']

/** A received message, the same shape whichever client got it. */
export interface Msg {
  topic: string
  payload: string
  qos: number
  retain: boolean
}

export interface SubOptions {
  topic: string
  qos: 0 | 1 | 2
  clientId?: string
  /** false: a persistent session (clean session 0). */
  clean?: boolean
  will?: {topic: string; payload: string; qos?: 0 | 1 | 2; retain?: boolean}
}

export interface Sub {
  /** CONNACK session present, where the client reports it (mosquitto_sub does not). */
  sessionPresent?: boolean
  messages(): Msg[]
  until(n: number, timeoutMs?: number): Promise<Msg[]>
  /** Clean DISCONNECT, then the connection closes. */
  disconnect(): Promise<void>
  /** Connection lost without DISCONNECT. */
  drop(): Promise<void>
}

interface Skippable {
  skip(note?: string): void
}

/** Fails (CI) or skips (locally) when the client's program is missing; true when it can run. */
export function interop__require(ctx: Skippable, kind: ClientKind): boolean {
  if (kind === 'mosquitto') return mosq__require(ctx)
  if (kind === 'paho') return paho__require(ctx)
  return true
}

export async function interop__subscribe(kind: ClientKind, port: number, o: SubOptions): Promise<Sub> {
  if (kind === 'mqtt.js') return mqttjsSub(port, o)
  if (kind === 'paho') return pahoSub(port, o)
  return mosqSub(port, o)
}

export interface PubOptions {
  topic: string
  payload: string
  qos: 0 | 1 | 2
  retain?: boolean
}

/** Publishes messages in order with one client connection and disconnects cleanly. */
export async function interop__publish(kind: ClientKind, port: number, messages: PubOptions[]): Promise<void> {
  if (kind === 'mqtt.js') {
    const client = await mqttjs__connect(port, {protocolVersion: 4})
    for (const m of messages) await client.publishAsync(m.topic, m.payload, {qos: m.qos, retain: m.retain ?? false})
    await client.endAsync()
  } else if (kind === 'paho') {
    const agent = new PahoAgent()
    await agent.connect(port, {version: 4})
    for (const m of messages) await agent.publish(m.topic, m.payload, {qos: m.qos, retain: m.retain ?? false})
    await agent.disconnect()
    agent.kill()
  } else {
    // One mosquitto_pub per message: it publishes a single -m and waits for the whole QoS flow before exiting.
    for (const m of messages) {
      const args = ['-V', '311', '-t', m.topic, '-q', String(m.qos)]
      if (m.payload === '') args.push('-n')
      else args.push('-m', m.payload)
      if (m.retain) args.push('-r')
      const result = await mosq__pub(port, args)
      if (result.code !== 0) throw new Error(`mosquitto_pub exited ${result.code}: ${result.stderr}`)
    }
  }
}

async function mqttjsSub(port: number, o: SubOptions): Promise<Sub> {
  let rec!: ReturnType<typeof mqttjs__record>
  const client: MqttClient = await mqttjs__connect(port, {
    protocolVersion: 4,
    clientId: o.clientId ?? `mqttjs-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: o.clean ?? true,
    will: o.will ? {topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos ?? 0, retain: o.will.retain ?? false} : undefined,
  }, (c) => {
    // Queued messages of a resumed session may arrive right behind the CONNACK.
    rec = mqttjs__record(c)
  })
  const sessionPresent = (client as unknown as {connackPacket?: {sessionPresent?: boolean}}).connackPacket?.sessionPresent
  await client.subscribeAsync(o.topic, {qos: o.qos})
  const norm = (): Msg[] =>
    rec.messages.map((m) => ({topic: m.topic, payload: m.payload, qos: m.packet.qos, retain: m.packet.retain}))
  return {
    sessionPresent,
    messages: norm,
    until: async (n, ms) => {
      await rec.until(n, ms)
      return norm()
    },
    disconnect: () => client.endAsync(),
    drop: async () => mqttjs__drop(client),
  }
}

async function pahoSub(port: number, o: SubOptions): Promise<Sub> {
  const agent = new PahoAgent()
  const connack = await agent.connect(port, {version: 4, client_id: o.clientId ?? '', clean: o.clean ?? true, will: o.will})
  if (connack.rc !== 0) throw new Error(`paho CONNACK ${connack.rc}`)
  await agent.subscribe(o.topic, {qos: o.qos})
  const norm = (): Msg[] => agent.messages().map((e) => ({topic: e.topic, payload: e.payload, qos: e.qos, retain: e.retain}))
  return {
    sessionPresent: connack.session_present,
    messages: norm,
    until: async (n, ms) => {
      await agent.messagesUntil(n, ms)
      return norm()
    },
    disconnect: async () => {
      await agent.disconnect()
      agent.kill()
    },
    drop: () => agent.drop(),
  }
}

async function mosqSub(port: number, o: SubOptions): Promise<Sub> {
  const args = ['-V', '311', '-t', o.topic, '-q', String(o.qos)]
  if (o.clientId) args.push('-i', o.clientId)
  if (o.clean === false) args.push('-c')
  if (o.will) {
    args.push('--will-topic', o.will.topic, '--will-payload', o.will.payload, '--will-qos', String(o.will.qos ?? 0))
    if (o.will.retain) args.push('--will-retain')
  }
  const sub: MosqSub = await mosq__sub(port, args)
  const norm = (): Msg[] =>
    sub.messages().map((m) => ({topic: m.topic, payload: m.payload, qos: m.qos, retain: Boolean(m.retain)}))
  return {
    messages: norm,
    until: async (n, ms) => {
      await sub.until(n, ms)
      return norm()
    },
    disconnect: async () => {
      await sub.stop()
    },
    drop: async () => {
      await sub.kill()
    },
  }
}
