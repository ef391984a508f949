/**
 * A received message and its JSON shapes: the `--jsonl` record (ours) and the `%j`/`%J` record of `-F` (shaped
 * like mosquitto_sub's, so scripts written for it keep working).
 */
import type {IPublishPacket} from 'mqtt-packet'
import {payload__isUtf8, payload__toJson, type PayloadFormat} from './payload.js'

export type PublishProperties = NonNullable<IPublishPacket['properties']>

export interface ReceivedMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** Packet identifier (QoS 1 and 2 only). */
  messageId?: number
  properties?: PublishProperties
  /** Arrival time, milliseconds since the epoch with a sub-millisecond fraction. */
  timeMs: number
}

export function record__fromPacket(packet: IPublishPacket, timeMs: number): ReceivedMessage {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
  return {
    topic: packet.topic,
    payload,
    qos: packet.qos,
    retain: packet.retain,
    messageId: packet.qos > 0 ? packet.messageId : undefined,
    properties: packet.properties,
    timeMs,
  }
}

/** Binary correlation data stays readable: a string when it is UTF-8, else base64 marked as such. */
function bytesToJson(bytes: Buffer): string {
  return payload__isUtf8(bytes) ? bytes.toString('utf8') : `base64:${bytes.toString('base64')}`
}

/** The PUBLISH properties as JSON, keys in mqtt.js's camelCase; undefined when there are none. */
export function record__propertiesJson(props: PublishProperties | undefined): Record<string, unknown> | undefined {
  if (props === undefined) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue
    out[key] = Buffer.isBuffer(value) ? bytesToJson(value) : value
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/** `--jsonl`: {time, topic, qos, retain, payload, encoding, properties?}. */
export function record__jsonl(message: ReceivedMessage, format: PayloadFormat): Record<string, unknown> {
  const {payload, encoding} = payload__toJson(message.payload, format)
  const record: Record<string, unknown> = {
    time: new Date(message.timeMs).toISOString(),
    topic: message.topic,
    qos: message.qos,
    retain: message.retain,
    payload,
    encoding,
  }
  const properties = record__propertiesJson(message.properties)
  if (properties) record.properties = properties
  return record
}

/** mosquitto's property names for `%j`. */
const kebab: Record<string, string> = {
  userProperties: 'user-properties',
  contentType: 'content-type',
  correlationData: 'correlation-data',
  payloadFormatIndicator: 'payload-format-indicator',
  responseTopic: 'response-topic',
  messageExpiryInterval: 'message-expiry-interval',
  topicAlias: 'topic-alias',
  subscriptionIdentifier: 'subscription-identifier',
}

/** Microsecond UTC timestamp, e.g. 2026-01-02T03:04:05.123456Z. */
export function record__isoMicros(timeMs: number): string {
  const iso = new Date(Math.floor(timeMs)).toISOString()
  const micros = Math.floor((timeMs % 1000) * 1000)
  return `${iso.slice(0, 19)}.${String(micros).padStart(6, '0')}Z`
}

/**
 * `%j` (payload as a JSON string) and `%J` (payload inserted as JSON, falling back to a string when it does not
 * parse, so the line stays valid JSON).
 */
export function record__mosquittoJson(message: ReceivedMessage, rawPayload: boolean): string {
  const record: Record<string, unknown> = {
    tst: record__isoMicros(message.timeMs),
    topic: message.topic,
    qos: message.qos,
    retain: message.retain ? 1 : 0,
    payloadlen: message.payload.length,
  }
  if (message.messageId !== undefined) record.mid = message.messageId
  const properties = record__propertiesJson(message.properties)
  if (properties) {
    const named: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(properties)) {
      named[kebab[key] ?? key] = key === 'payloadFormatIndicator' ? Number(value) : value
    }
    record.properties = named
  }
  let payload: unknown = payload__toJson(message.payload, 'text').payload
  if (rawPayload) {
    try {
      payload = JSON.parse(message.payload.toString('utf8'))
    } catch {
      // Not JSON: keep the string so the output stays parseable.
    }
  }
  record.payload = payload
  return JSON.stringify(record)
}
