/** Shared bits of the transport tests: a broker on port-0 listeners, WebSocket helpers, MQTT clients. */
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import WebSocket from 'ws'
import {Broker, type BrokerOptions} from '../../src/broker/broker.js'
import type {ListenerSpec} from '../../src/broker/transport/index.js'

export async function broker__start(listeners: ListenerSpec[], options: BrokerOptions = {}): Promise<Broker> {
  const broker = new Broker({logLevel: 'silent', ...options, listeners})
  await broker.listen()
  return broker
}

/** The port the broker bound for the listener of this type (the first one). */
export function portOf(broker: Broker, type: ListenerSpec['type']): number {
  const listener = broker.listeners.find((l) => l.spec.type === type)
  if (listener === undefined) throw new Error(`no ${type} listener`)
  return listener.address.port
}

const clients = new Set<MqttClient>()

export async function mqtt__connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {reconnectPeriod: 0, connectTimeout: 10_000, ...options})
  clients.add(client)
  return client
}

export async function mqtt__closeAll(): Promise<void> {
  await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})))
  clients.clear()
}

/** Resolves with the next message on `topic` (exact match) received by `client`. */
export function mqtt__next(client: MqttClient, topic: string): Promise<{payload: Buffer; retain: boolean; qos: number}> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: {retain: boolean; qos: number}) => {
      if (t !== topic) return
      client.off('message', onMessage)
      resolve({payload, retain: packet.retain, qos: packet.qos})
    }
    client.on('message', onMessage)
  })
}

export function ws__open(url: string, protocols?: string | string[], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
}

export function ws__closed(ws: WebSocket): Promise<{code: number; reason: string}> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve({code: -1, reason: 'already closed'})
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({code, reason: reason.toString()})))
}
