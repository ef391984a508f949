/**
 * Rows of the SQLite store <-> store records. Payloads are BLOB columns; the small structured parts (MQTT 5
 * properties, subscriptions, a will) are JSON text, with Buffers (correlation data, a will payload) written as
 * `{"$b64": "..."}` so they come back as Buffers.
 */
import type {
  InflightRecord,
  MessageProperties,
  QoS,
  QueuedRecord,
  SessionRecord,
  StoredMessage,
  SubscriptionRecord,
  WillRecord,
} from './store.js'

/** JSON.stringify calls Buffer#toJSON before the replacer; `this[key]` still holds the Buffer itself. */
function bufferReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key]
  return Buffer.isBuffer(original) ? {$b64: original.toString('base64')} : value
}

function bufferReviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const b64 = (value as {$b64?: unknown}).$b64
    if (typeof b64 === 'string' && Object.keys(value).length === 1) return Buffer.from(b64, 'base64')
  }

  return value
}

export function codec__toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value, bufferReplacer)
}

export function codec__fromJson<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text, bufferReviver) as T)
}

/** Columns shared by the retained, queue and inflight tables. */
export interface MessageRow {
  topic: string
  payload: Buffer
  qos: number
  retain: number
  props: string | null
  expires_at: number | null
}

export function codec__messageParams(m: StoredMessage): [string, Buffer, number, number, string | null, number | null] {
  return [m.topic, m.payload, m.qos, m.retain ? 1 : 0, codec__toJson(m.properties), m.expiresAt ?? null]
}

/** A retained row: the message columns plus `stored_at`. */
export function codec__retainedParams(m: StoredMessage): [string, Buffer, number, number, string | null, number | null, number | null] {
  return [...codec__messageParams(m), m.storedAt ?? null]
}

/** Rows read in the store's worker thread arrive as Uint8Array; the broker works with Buffers (no copy here). */
export function codec__buffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function codec__message(row: MessageRow): StoredMessage {
  const message: StoredMessage = {topic: row.topic, payload: codec__buffer(row.payload), qos: row.qos as QoS, retain: row.retain === 1}
  const properties = codec__fromJson<MessageProperties>(row.props)
  if (properties) message.properties = properties
  if (row.expires_at !== null) message.expiresAt = row.expires_at
  return message
}

export function codec__retained(row: MessageRow & {stored_at?: number | null}): StoredMessage {
  const message = codec__message(row)
  if (row.stored_at !== undefined && row.stored_at !== null) message.storedAt = row.stored_at
  return message
}

export interface SessionRow {
  client_id: string
  protocol_version: number
  expiry_interval: number
  disconnected_at: number | null
  subscriptions: string
  will: string | null
}

export function codec__sessionParams(s: SessionRecord): [string, number, number, number | null, string, string | null] {
  return [
    s.clientId,
    s.protocolVersion,
    s.expiryInterval,
    s.disconnectedAt,
    codec__toJson(s.subscriptions) ?? '[]',
    codec__toJson(s.will),
  ]
}

export function codec__session(row: SessionRow): SessionRecord {
  const session: SessionRecord = {
    clientId: row.client_id,
    protocolVersion: row.protocol_version as SessionRecord['protocolVersion'],
    expiryInterval: row.expiry_interval,
    disconnectedAt: row.disconnected_at,
    subscriptions: codec__fromJson<SubscriptionRecord[]>(row.subscriptions) ?? [],
  }
  const will = codec__fromJson<WillRecord>(row.will)
  if (will) session.will = will
  return session
}

export interface QueueRow extends MessageRow {
  client_id: string
  seq: number
  sub_ids: string | null
}

export function codec__queued(row: QueueRow): QueuedRecord {
  const record: QueuedRecord = {clientId: row.client_id, seq: row.seq, message: codec__message(row)}
  const ids = codec__fromJson<number[]>(row.sub_ids)
  if (ids) record.subscriptionIds = ids
  return record
}

export interface InflightRow {
  client_id: string
  direction: number
  packet_id: number
  state: number
  topic: string | null
  payload: Buffer | null
  qos: number | null
  retain: number | null
  props: string | null
  expires_at: number | null
  sub_ids: string | null
}

/** Directions and states are small integers in the table; these are the only mappings. */
export const DIRECTION = {outgoing: 0, incoming: 1} as const
export const STATE = {publish: 0, pubrel: 1} as const

export function codec__inflight(row: InflightRow): InflightRecord {
  const record: InflightRecord = {
    clientId: row.client_id,
    packetId: row.packet_id,
    direction: row.direction === DIRECTION.incoming ? 'incoming' : 'outgoing',
    state: row.state === STATE.pubrel ? 'pubrel' : 'publish',
  }
  if (row.topic !== null && row.payload !== null && row.qos !== null) {
    record.message = codec__message({...row, topic: row.topic, payload: row.payload, qos: row.qos, retain: row.retain ?? 0})
  }

  const ids = codec__fromJson<number[]>(row.sub_ids)
  if (ids) record.subscriptionIds = ids
  return record
}
