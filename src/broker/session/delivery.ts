/**
 * Getting one message to one session: QoS 0 straight out (or dropped for an offline client or a slow reader),
 * QoS 1/2 into the inflight window when there is room [MQTT-4.9.0-2], else into the bounded queue. The queue
 * drains as acknowledgements free the window and when the client comes back.
 *
 * Slow-reader policy: a connection whose socket holds more than `maxOutputBuffer` unsent bytes gets no more QoS 0
 * messages (they are dropped and counted); QoS 1/2 messages are bounded by the inflight window and go to the queue
 * beyond it, up to `--max-queued` (past it only while the client keeps acknowledging, within the broker-wide
 * budget of limits/queue-budget.ts). Nothing ever waits for a slow socket, so one slow reader never delays anyone
 * else; only the broker as a whole being over that budget pauses publishers.
 */
import type {BrokerContext} from '../context.js'
import {queue__limit} from '../limits/queue-budget.js'
import type {Connection} from '../connection/connection.js'
import {hooks__dropped} from '../handlers/hook-call.js'
import {copy__keepPayload} from '../store/copy.js'
import type {QueuedRecord, StoredMessage} from '../store/store.js'
import {type IPublishPacket, type ProtocolVersion, protocol__ack, protocol__encode, protocol__publishIdOffset, protocol__withPacketId} from '../../protocol/index.js'
import type {OutgoingInflight, Session} from './session.js'

type PublishProperties = NonNullable<IPublishPacket['properties']>

/** Seconds left before expiry, at least 1 [MQTT-3.3.2-6]. */
function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000))
}

/** Encodes a PUBLISH for one protocol level; packet id 1 is a placeholder when `packetId` is 0. */
export function delivery__encode(
  message: StoredMessage,
  version: ProtocolVersion,
  qos: number,
  retain: boolean,
  packetId: number,
  dup: boolean,
  subscriptionIds: number[] | undefined,
  now: number,
  alias = 0,
  aliasOnly = false,
): Buffer {
  let properties: PublishProperties | undefined
  if (version === 5 && (message.properties !== undefined || subscriptionIds !== undefined || message.expiresAt !== undefined || alias > 0)) {
    properties = {...message.properties}
    if (alias > 0) properties.topicAlias = alias
    if (message.expiresAt !== undefined) properties.messageExpiryInterval = remainingSeconds(message.expiresAt, now)
    if (subscriptionIds !== undefined && subscriptionIds.length > 0) {
      properties.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0] : subscriptionIds
    }
  }
  return protocol__encode(
    {
      cmd: 'publish',
      topic: aliasOnly ? '' : message.topic,
      payload: message.payload,
      qos: qos as 0 | 1 | 2,
      retain,
      dup,
      messageId: qos > 0 ? packetId || 1 : undefined,
      properties,
    },
    version,
  )
}

/**
 * The encode-once cache of one routed message: one buffer per (protocol family, QoS, retain) variant shared by
 * every subscriber that needs it; QoS 1/2 copies get their packet id patched in.
 */
export class PublishVariants {
  private readonly slots: Array<Buffer | undefined> = []
  private readonly messages: Array<StoredMessage | undefined> = []
  readonly now = Date.now()

  constructor(readonly message: StoredMessage) {}

  /** The message as delivered at this QoS and retain flag: one object per variant, not one per subscriber. */
  variant(qos: number, retain: boolean): StoredMessage {
    const m = this.message
    if (qos === m.qos && retain === m.retain) return m
    const slot = qos * 2 + (retain ? 1 : 0)
    let v = this.messages[slot]
    if (v === undefined) {
      v = {...m, qos: qos as 0 | 1 | 2, retain}
      this.messages[slot] = v
    }
    return v
  }

  get(version: ProtocolVersion, qos: number, retain: boolean): Buffer {
    const slot = (version === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
    let buffer = this.slots[slot]
    if (buffer === undefined) {
      buffer = delivery__encode(this.message, version, qos, retain, 0, false, undefined, this.now)
      this.slots[slot] = buffer
    }
    return buffer
  }
}

/** Topics shorter than this are sent in full: a 3-byte alias property would save next to nothing. */
const ALIAS_MIN_TOPIC = 8

/**
 * Outbound topic aliases (MQTT 5 §3.3.2.3.4), used "where it helps": only for clients that allow them, only for
 * topics long enough to gain, first come first served up to the client's Topic Alias Maximum [MQTT-3.3.2-9].
 * Such clients get a per-connection encoding; everybody else shares the routed message's encodings.
 */
function encodeWithAlias(connection: Connection, message: StoredMessage, packetId: number, dup: boolean, subscriptionIds: number[] | undefined, now: number): Buffer {
  const topic = message.topic
  const aliases = (connection.outAliases ??= new Map())
  let alias = aliases.get(topic) ?? 0
  let aliasOnly = alias > 0
  if (alias === 0 && topic.length >= ALIAS_MIN_TOPIC && aliases.size < connection.clientTopicAliasMaximum) {
    alias = aliases.size + 1
    aliases.set(topic, alias)
  }
  const encoded = delivery__encode(message, 5, message.qos, message.retain, packetId, dup, subscriptionIds, now, alias, aliasOnly)
  // A packet the client will never see must not be the one that teaches it a new alias.
  if (alias > 0 && !aliasOnly && tooLargeFor(connection, encoded.length)) aliases.delete(topic)
  return encoded
}

/** The bytes of one PUBLISH to one connection, from the shared variants when possible. */
function encodeFor(
  connection: Connection,
  message: StoredMessage,
  packetId: number,
  dup: boolean,
  subscriptionIds: number[] | undefined,
  variants: PublishVariants | null,
  now: number,
): Buffer {
  if (connection.clientTopicAliasMaximum > 0 && connection.protocolVersion === 5) {
    return encodeWithAlias(connection, message, packetId, dup, subscriptionIds, now)
  }
  if (variants !== null && subscriptionIds === undefined && !dup) {
    const shared = variants.get(connection.protocolVersion, message.qos, message.retain)
    return message.qos === 0 ? shared : protocol__withPacketId(shared, protocol__publishIdOffset(shared), packetId, false)
  }
  return delivery__encode(message, connection.protocolVersion, message.qos, message.retain, packetId, dup, subscriptionIds, now)
}

function tooLargeFor(connection: Connection, length: number): boolean {
  // [MQTT-3.1.2-25] never send a packet over the client's Maximum Packet Size: drop it for this client only.
  return connection.clientMaximumPacketSize > 0 && length > connection.clientMaximumPacketSize
}

function sendWindow(ctx: BrokerContext, connection: Connection): number {
  return Math.min(connection.clientReceiveMaximum, ctx.options.maxInflight)
}

/**
 * Delivers `message` (whose qos and retain are already this delivery's) to a session. `variants` is the shared
 * encoding cache of a routed message; null for one-off deliveries (retained on subscribe, queue drain).
 */
export function delivery__deliver(
  ctx: BrokerContext,
  session: Session,
  message: StoredMessage,
  subscriptionIds: number[] | undefined,
  variants: PublishVariants | null,
): void {
  const now = variants?.now ?? Date.now()
  if (message.expiresAt !== undefined && message.expiresAt <= now) {
    ctx.stats.messagesExpired++
    hooks__dropped(ctx, session.client, message, 'expired')
    return
  }
  const connection = session.connection
  const online = connection !== null && connection.state === 'connected'
  if (message.qos === 0) {
    if (!online) return
    // Behind queued QoS 1/2 messages a QoS 0 one waits its turn: every topic is an ordered topic [MQTT-4.6.0-6].
    if (session.queued > 0) {
      delivery__enqueue(ctx, session, message, subscriptionIds)
      return
    }
    if (connection.outputBuffered > ctx.options.maxOutputBuffer) {
      ctx.stats.messagesDropped++
      hooks__dropped(ctx, session.client, message, 'slow-reader')
      return
    }
    const encoded = encodeFor(connection, message, 0, false, subscriptionIds, variants, now)
    if (tooLargeFor(connection, encoded.length)) {
      hooks__dropped(ctx, session.client, message, 'too-large')
      return
    }
    ctx.stats.publishSent++
    connection.publishOut++
    connection.write(encoded)
    return
  }
  if (online && session.queued === 0 && session.inflight < sendWindow(ctx, connection)) {
    sendInflight(ctx, session, connection, message, subscriptionIds, variants, now)
    return
  }
  delivery__enqueue(ctx, session, message, subscriptionIds)
}

function sendInflight(
  ctx: BrokerContext,
  session: Session,
  connection: Connection,
  message: StoredMessage,
  subscriptionIds: number[] | undefined,
  variants: PublishVariants | null,
  now: number,
): void {
  const packetId = session.allocatePacketId()
  const encoded = encodeFor(connection, message, packetId, false, subscriptionIds, variants, now)
  if (tooLargeFor(connection, encoded.length)) {
    hooks__dropped(ctx, session.client, message, 'too-large')
    return
  }
  // Kept until the client acknowledges it, which may be after a reconnection.
  copy__keepPayload(message)
  const record: OutgoingInflight = {packetId, message, subscriptionIds, state: 'publish'}
  // A client that owed nothing starts owing now, not at its last acknowledgement, which may be long ago.
  if (session.inflight === 0) session.lastAck = now
  session.outgoing.set(packetId, record)
  if (session.persistent) {
    ctx.store.setInflight({clientId: session.clientId, packetId, direction: 'outgoing', state: 'publish', message, subscriptionIds})
  }
  ctx.stats.publishSent++
  connection.publishOut++
  connection.write(encoded)
}

export function delivery__enqueue(ctx: BrokerContext, session: Session, message: StoredMessage, subscriptionIds: number[] | undefined): void {
  const limit = queue__limit(ctx.options, session)
  const over = session.queued >= limit
  if (over && !ctx.budget.mayOverflow(session, Date.now())) {
    // Drop policy: the queue keeps the oldest messages; a new message that finds it full is dropped and counted,
    // unless the client keeps acknowledging and the broker-wide budget has room (limits/queue-budget.ts).
    session.dropped++
    ctx.stats.messagesDropped++
    hooks__dropped(ctx, session.client, message, 'queue-full')
    if (session.dropped === 1 || session.dropped % 1000 === 0) {
      ctx.logger.warn(`session ${session.clientId}: queue full (${limit}), ${session.dropped} message(s) dropped so far`)
    }
    return
  }
  copy__keepPayload(message)
  const record: QueuedRecord = {clientId: session.clientId, seq: session.nextSeq++, message}
  if (subscriptionIds !== undefined) record.subscriptionIds = subscriptionIds
  session.push(record)
  if (session.persistent) ctx.store.enqueue(record)
  if (over) ctx.budget.update(session)
}

/** Sends queued messages while the client's window has room (after an ack, or on reconnect). */
export function delivery__drain(ctx: BrokerContext, session: Session): void {
  const connection = session.connection
  // Nothing queued (every fresh connection): return before touching the inflight map, made on first use.
  if (connection === null || connection.state !== 'connected' || session.queued === 0) return
  const window = sendWindow(ctx, connection)
  const now = Date.now()
  while (session.inflight < window) {
    const record = session.shift()
    if (record === undefined) break
    if (session.overflowBytes > 0) ctx.budget.update(session)
    if (session.persistent) ctx.store.dequeue(session.clientId, record.seq)
    const message = record.message
    if (message.expiresAt !== undefined && message.expiresAt <= now) {
      ctx.stats.messagesExpired++
      hooks__dropped(ctx, session.client, message, 'expired')
      continue
    }
    try {
      if (message.qos === 0) {
        const encoded = encodeFor(connection, message, 0, false, record.subscriptionIds, null, now)
        if (!tooLargeFor(connection, encoded.length)) connection.write(encoded)
        else hooks__dropped(ctx, session.client, message, 'too-large')
        continue
      }
      sendInflight(ctx, session, connection, message, record.subscriptionIds, null, now)
    } catch (error) {
      // A queued message that cannot be encoded is dropped, or it would block the queue at every reconnect.
      ctx.logger.error(`dropping a queued message for ${session.clientId}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/**
 * On a resumed session, sends every unacknowledged message again with DUP set and every PUBREL again
 * [MQTT-4.4.0-1], in the original order, before anything new.
 */
export function delivery__resend(ctx: BrokerContext, session: Session, connection: Connection): void {
  const now = Date.now()
  for (const record of session.outgoing.values()) {
    if (record.state === 'pubrel') {
      connection.write(protocol__ack('pubrel', record.packetId))
      continue
    }
    const m = record.message
    connection.write(encodeFor(connection, m, record.packetId, true, record.subscriptionIds, null, now))
  }
}
