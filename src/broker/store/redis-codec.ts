/**
 * Store records <-> Redis values. A message is one binary value: a 4-byte length, a small JSON header (topic, QoS,
 * retain, MQTT 5 properties, expiry, subscription ids, inflight state) and the payload bytes as they are, so a
 * payload is never base64-inflated. Buffers inside the header (correlation data) use the SQLite store's `$b64`
 * JSON form (sqlite-codec.ts), and a session is plain JSON text in the same form.
 */
import {codec__fromJson, codec__toJson} from './sqlite-codec.js'
import type {InflightRecord, MessageProperties, QoS, QueuedRecord, SessionRecord, StoredMessage} from './store.js'

interface Header {
  t?: string
  q?: number
  r?: 1
  p?: MessageProperties
  e?: number
  /** storedAt (retained messages) */
  a?: number
  /** subscription ids */
  i?: number[]
  /** inflight state: 1 = pubrel */
  s?: 1
}

function frame(header: Header, payload: Buffer | undefined): Buffer {
  const json = Buffer.from(codec__toJson(header)!, 'utf8')
  const out = Buffer.allocUnsafe(4 + json.length + (payload?.length ?? 0))
  out.writeUInt32BE(json.length, 0)
  json.copy(out, 4)
  if (payload) payload.copy(out, 4 + json.length)
  return out
}

function unframe(value: Buffer): {header: Header; payload: Buffer} {
  const length = value.readUInt32BE(0)
  const header = codec__fromJson<Header>(value.subarray(4, 4 + length).toString('utf8')) ?? {}
  return {header, payload: value.subarray(4 + length)}
}

function messageHeader(m: StoredMessage, header: Header): Header {
  header.t = m.topic
  header.q = m.qos
  if (m.retain) header.r = 1
  if (m.properties) header.p = m.properties
  if (m.expiresAt !== undefined) header.e = m.expiresAt
  if (m.storedAt !== undefined) header.a = m.storedAt
  return header
}

function messageOf(header: Header, payload: Buffer): StoredMessage {
  // The value Buffer may be one of many slices of a reply: the payload gets its own memory (copy.ts explains why).
  const message: StoredMessage = {topic: header.t ?? '', payload: Buffer.from(payload), qos: (header.q ?? 0) as QoS, retain: header.r === 1}
  if (header.p) message.properties = header.p
  if (header.e !== undefined) message.expiresAt = header.e
  if (header.a !== undefined) message.storedAt = header.a
  return message
}

export function redisCodec__message(m: StoredMessage): Buffer {
  return frame(messageHeader(m, {}), m.payload)
}

export function redisCodec__toMessage(value: Buffer): StoredMessage {
  const {header, payload} = unframe(value)
  return messageOf(header, payload)
}

export function redisCodec__queued(record: QueuedRecord): Buffer {
  const header = messageHeader(record.message, {})
  if (record.subscriptionIds) header.i = record.subscriptionIds
  return frame(header, record.message.payload)
}

export function redisCodec__toQueued(clientId: string, seq: number, value: Buffer): QueuedRecord {
  const {header, payload} = unframe(value)
  const record: QueuedRecord = {clientId, seq, message: messageOf(header, payload)}
  if (header.i) record.subscriptionIds = header.i
  return record
}

/** The field of an inflight record inside its client's hash: `o7` outgoing, `i7` incoming. */
export function redisCodec__inflightField(direction: InflightRecord['direction'], packetId: number): string {
  return (direction === 'outgoing' ? 'o' : 'i') + packetId
}

export function redisCodec__inflight(record: InflightRecord): Buffer {
  const header: Header = record.message ? messageHeader(record.message, {}) : {}
  if (record.state === 'pubrel') header.s = 1
  if (record.subscriptionIds) header.i = record.subscriptionIds
  return frame(header, record.message?.payload)
}

export function redisCodec__toInflight(clientId: string, field: string, value: Buffer): InflightRecord {
  const {header, payload} = unframe(value)
  const record: InflightRecord = {
    clientId,
    packetId: Number(field.slice(1)),
    direction: field[0] === 'i' ? 'incoming' : 'outgoing',
    state: header.s === 1 ? 'pubrel' : 'publish',
  }
  if (header.t !== undefined) record.message = messageOf(header, payload)
  if (header.i) record.subscriptionIds = header.i
  return record
}

export function redisCodec__session(session: SessionRecord): string {
  return codec__toJson(session)!
}

export function redisCodec__toSession(value: string): SessionRecord {
  const session = codec__fromJson<SessionRecord>(value)!
  // JSON has no undefined: an absent will stays absent.
  if (session.will === undefined || session.will === null) delete session.will
  return session
}
