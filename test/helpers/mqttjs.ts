/**
 * mqtt.js clients for e2e tests: connected (or refused) without reconnecting, tracked and force-closed by
 * `mqttjs__cleanup()`, plus a message collector.
 */
import mqtt, {type IClientOptions, type IPublishPacket, type MqttClient} from 'mqtt'

const clients = new Set<MqttClient>()

/** Connects and resolves once CONNACK arrived (rejects on a refused CONNACK or an error). */
export async function mqttjs__connect(
  port: number,
  options: IClientOptions = {},
  /** Runs before the connection opens: attach message listeners here to see what arrives with the CONNACK. */
  before?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const client = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options})
  clients.add(client)
  before?.(client)
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
    client.once('close', () => reject(new Error('connection closed before CONNACK')))
  })
  return client
}

export interface Got {
  topic: string
  payload: string
  packet: IPublishPacket
}

/** Records every message the client receives from now on. */
export function mqttjs__record(client: MqttClient): {messages: Got[]; until(n: number, timeoutMs?: number): Promise<Got[]>} {
  const messages: Got[] = []
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({topic, payload: payload.toString(), packet})
    for (const w of waiters) w()
  })
  return {
    messages,
    until(n, timeoutMs = 8000) {
      return new Promise((resolve, reject) => {
        if (messages.length >= n) return resolve(messages)
        const timer = setTimeout(
          () => reject(new Error(`mqtt.js: got ${messages.length}/${n} messages: ${JSON.stringify(messages.map((m) => [m.topic, m.payload]))}`)),
          timeoutMs,
        )
        waiters.push(() => {
          if (messages.length >= n) {
            clearTimeout(timer)
            resolve(messages)
          }
        })
      })
    },
  }
}

/** Resolves once the client's connection closed (rejects after `timeoutMs`). */
export function mqttjs__closed(client: MqttClient, timeoutMs = 5000): Promise<void> {
  if (!client.connected && client.disconnected) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs)
    client.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Closes the socket without DISCONNECT, as a crashed device would. */
export function mqttjs__drop(client: MqttClient): void {
  ;(client as unknown as {stream: {destroy(): void}}).stream.destroy()
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function mqttjs__cleanup(): Promise<void> {
  const all = [...clients]
  clients.clear()
  await Promise.all(all.map((c) => c.endAsync(true).catch(() => {})))
}
