/**
 * Copies of store records. A store must not share objects with the broker: the broker mutates its live session
 * objects (subscriptions are added, `disconnectedAt` changes), and what was stored must stay what was stored.
 * Payload buffers are shared, not copied: nothing in the broker writes into a received payload, and copying every
 * payload would double the memory of a large offline queue. The broker gives a payload it keeps a buffer of its
 * own once, with copy__keepPayload, before the message reaches a store.
 */
import type {
  InflightRecord,
  MessageProperties,
  QueuedRecord,
  SessionRecord,
  StoredMessage,
  SubscriptionRecord,
  WillRecord,
} from './store.js'

export function copy__properties(properties: MessageProperties): MessageProperties {
  const out: MessageProperties = {...properties}
  if (properties.userProperties) {
    const user: Record<string, string | string[]> = {}
    for (const [key, value] of Object.entries(properties.userProperties)) {
      user[key] = Array.isArray(value) ? [...value] : value
    }

    out.userProperties = user
  }

  return out
}

export function copy__message(message: StoredMessage): StoredMessage {
  const out: StoredMessage = {...message}
  if (message.properties) out.properties = copy__properties(message.properties)
  return out
}

function copy__will(will: WillRecord): WillRecord {
  return {...copy__message(will), delayInterval: will.delayInterval}
}

function copy__subscription(subscription: SubscriptionRecord): SubscriptionRecord {
  return {...subscription}
}

export function copy__session(session: SessionRecord): SessionRecord {
  const out: SessionRecord = {...session, subscriptions: session.subscriptions.map(copy__subscription)}
  if (session.will) out.will = copy__will(session.will)
  return out
}

export function copy__queued(record: QueuedRecord): QueuedRecord {
  const out: QueuedRecord = {...record, message: copy__message(record.message)}
  if (record.subscriptionIds) out.subscriptionIds = [...record.subscriptionIds]
  return out
}

export function copy__inflight(record: InflightRecord): InflightRecord {
  const out: InflightRecord = {...record}
  if (record.message) out.message = copy__message(record.message)
  if (record.subscriptionIds) out.subscriptionIds = [...record.subscriptionIds]
  return out
}

/**
 * Gives a message the broker keeps (retained, queued or in flight to a session, a will) a payload buffer of its own
 * size. A payload parsed under load is a view into the socket's read buffer, up to 64 KiB shared with the packets
 * around it: kept as it is, one small retained message pins that whole buffer (2,000 retained 64-byte messages
 * published amid QoS 0 traffic held 73 MiB; bench/kept-payloads.ts). Mutates `message`, which every session
 * receiving it shares, so the copy is made once; small payloads go to Node's shared buffer pool.
 */
export function copy__keepPayload(message: {payload: Buffer}): void {
  const payload = message.payload
  if (payload.buffer.byteLength > Math.max(Buffer.poolSize, 2 * payload.byteLength)) message.payload = Buffer.from(payload)
}
