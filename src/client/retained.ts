/**
 * `mqttkit retained list|clear` over plain MQTT, so it works against any broker: subscribe to the filters and
 * take what arrives with the retain flag set (retained messages follow the SUBACK [MQTT-3.3.1-8]); clear by
 * publishing an empty retained message to each topic [MQTT-3.3.1-10], then look again to report what is left.
 *
 * The end of the retained burst is not announced by MQTT: collection stops once `quietMs` pass without another
 * retained message (or at `timeoutMs`). Live messages (retain flag clear) are ignored.
 */
import type {IPublishPacket, MqttClient} from 'mqtt'
import {ClientError, ExitCode, client__reasonText} from './errors.js'

export interface RetainedEntry {
  topic: string
  /** Payload bytes. */
  size: number
  /** The QoS it arrived at: the stored QoS, or less when the broker grants less than the QoS 2 asked for. */
  qos: number
  /** MQTT 5 only: seconds until it expires, when it carries a message expiry. */
  expiresIn?: number
  /**
   * Seconds since it was stored, when known. MQTT does not carry it; kept in the type for brokers that do (via
   * their admin API), so it is absent over plain MQTT.
   */
  age?: number
  payload: Buffer
}

export interface CollectOptions {
  quietMs: number
  timeoutMs: number
}

/** Subscribes at QoS 2 to every filter and returns the retained messages, one per topic, sorted by topic. */
export async function retained__collect(client: MqttClient, filters: string[], options: CollectOptions): Promise<RetainedEntry[]> {
  const found = new Map<string, RetainedEntry>()
  let last = Date.now()
  const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => {
    if (!packet.retain) return
    last = Date.now()
    const entry: RetainedEntry = {topic, size: payload.length, qos: packet.qos, payload}
    const expiry = packet.properties?.messageExpiryInterval
    if (expiry !== undefined) entry.expiresIn = expiry
    found.set(topic, entry)
  }
  client.on('message', onMessage)
  try {
    const granted = await client.subscribeAsync(Object.fromEntries(filters.map((f) => [f, {qos: 2 as const, rh: 0}]))).catch((error: Error & {code?: unknown; packet?: {granted?: number[]}}) => {
      // mqtt.js rejects a SUBACK with a failure code (ErrorWithSubackPacket), the SUBACK attached.
      const codes = error.packet?.granted ?? (typeof error.code === 'number' ? filters.map(() => error.code as number) : undefined)
      if (codes === undefined) throw error
      return filters.map((topic, i) => ({topic, qos: codes[i] ?? 0x80}))
    })
    refusedGrants(granted)
    last = Date.now()
    const deadline = last + options.timeoutMs
    while (Date.now() - last < options.quietMs && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    await client.unsubscribeAsync(filters).catch(() => {})
  } finally {
    client.off('message', onMessage)
  }
  return [...found.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
}

function refusedGrants(granted: Array<{topic: string; qos: number}>): void {
  const refused = granted.filter((g) => g.qos >= 0x80)
  if (refused.length === 0) return
  const what = refused.map((g) => `"${g.topic}" (${client__reasonText(g.qos, 5)})`).join(', ')
  throw new ClientError(`the broker refused the subscription to ${what}`, ExitCode.refused)
}

export interface ClearOutcome {
  cleared: string[]
  /** Topics whose clearing the broker refused (MQTT 5 PUBACK code), with the reason. */
  refused: Array<{topic: string; reason: string}>
}

/** Publishes an empty retained QoS 1 message to each topic and waits for every PUBACK. */
export async function retained__clear(client: MqttClient, topics: string[]): Promise<ClearOutcome> {
  const outcome: ClearOutcome = {cleared: [], refused: []}
  await Promise.all(
    topics.map(async (topic) => {
      try {
        await client.publishAsync(topic, Buffer.alloc(0), {qos: 1, retain: true})
        outcome.cleared.push(topic)
      } catch (error) {
        const code = (error as {code?: unknown}).code
        outcome.refused.push({topic, reason: typeof code === 'number' ? client__reasonText(code, 5) : String((error as Error).message)})
      }
    }),
  )
  outcome.cleared.sort()
  return outcome
}
