/**
 * SUBSCRIBE (§3.8): each filter is validated, limited, authorized, then added (replacing an identical filter of
 * the session [MQTT-3.8.4-3]); SUBACK carries one code per filter in order [MQTT-3.8.4-6]; retained messages
 * follow the SUBACK per Retain Handling, never for shared subscriptions (MQTT 5 §4.8.2).
 */
import type {Connection} from '../connection/connection.js'
import {delivery__deliver} from '../session/delivery.js'
import type {SubscriptionRecord} from '../store/store.js'
import {topic__hasWildcard, topic__parseShared, topic__validateFilter} from '../topics/index.js'
import {type ISubscribePacket, ReasonCode, reason__name, reason__toV3Suback} from '../../protocol/index.js'
import {events__emit, hooks__decide, hooks__isThenable, hooks__notify} from './hook-call.js'

export function handleSubscribe(connection: Connection, packet: ISubscribePacket): void | Promise<void> {
  const ctx = connection.ctx
  const v5 = connection.protocolVersion === 5
  if (packet.subscriptions.length === 0) {
    // [MQTT-3.8.3-3] a SUBSCRIBE must hold at least one topic filter.
    connection.close(ReasonCode.ProtocolError, 'SUBSCRIBE without a topic filter')
    return
  }
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier : undefined
  if (subscriptionId === 0) {
    connection.close(ReasonCode.ProtocolError, 'subscription identifier 0') // §3.8.2.1.2: 0 is a protocol error
    return
  }
  const limits = {maxLength: ctx.options.maxTopicLength, maxLevels: ctx.options.maxTopicLevels}
  const records: Array<SubscriptionRecord | number> = []
  const verdicts: Array<number | Promise<number>> = []
  let pending = false
  for (const sub of packet.subscriptions) {
    const bad = topic__validateFilter(sub.topic, limits)
    if (bad !== null) {
      ctx.logger.debug(`client ${connection.label}: refused filter ${JSON.stringify(sub.topic)}: ${bad}`)
      records.push(ReasonCode.TopicFilterInvalid)
      verdicts.push(0)
      continue
    }
    const shared = topic__parseShared(sub.topic) !== null
    if (shared && v5 && sub.nl === true) {
      // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error.
      connection.close(ReasonCode.ProtocolError, 'No Local set on a shared subscription')
      return
    }
    const unavailable = capability(ctx.options, sub.topic, shared, subscriptionId)
    if (unavailable !== 0) {
      records.push(unavailable)
      verdicts.push(0)
      continue
    }
    const record: SubscriptionRecord = {
      filter: sub.topic,
      qos: Math.min(sub.qos, ctx.options.maxQos) as 0 | 1 | 2,
      // A 3.1.1 bridge in bridge mode (protocol level | 0x80, mosquitto's try_private) cannot ask for No Local and
      // Retain As Published, but needs both: its own messages must not come back to it (a loop) and retained
      // messages must stay retained on the other broker (docs/bridges.md).
      noLocal: (v5 && sub.nl === true) || (connection.bridgeMode && !shared),
      retainAsPublished: (v5 && sub.rap === true) || connection.bridgeMode,
      retainHandling: v5 ? ((sub.rh ?? 0) as 0 | 1 | 2) : 0,
    }
    if (subscriptionId !== undefined) record.subscriptionId = subscriptionId
    const verdict = hooks__decide(ctx, 'authorizeSubscribe', ctx.hooks.authorizeSubscribe, ReasonCode.NotAuthorized, connection.client!, record)
    if (hooks__isThenable(verdict)) pending = true
    records.push(record)
    verdicts.push(verdict)
  }
  if (pending) return Promise.all(verdicts).then((codes) => apply(connection, packet, records, codes))
  apply(connection, packet, records, verdicts as number[])
}

/**
 * A feature the broker was configured without, as CONNACK told the client (MQTT 5 §3.2.2.3.11-13): SUBACK 0x9E for
 * a shared subscription, 0xA1 for a subscription identifier, 0xA2 for a wildcard filter; 0 when available.
 */
function capability(o: Connection['ctx']['options'], filter: string, shared: boolean, subscriptionId: number | undefined): number {
  if (shared && !o.sharedSubscriptionAvailable) return ReasonCode.SharedSubscriptionsNotSupported
  if (subscriptionId !== undefined && !o.subscriptionIdentifiersAvailable) return ReasonCode.SubscriptionIdentifiersNotSupported
  if (!o.wildcardSubscriptionAvailable && topic__hasWildcard(filter)) return ReasonCode.WildcardSubscriptionsNotSupported
  return 0
}

function apply(connection: Connection, packet: ISubscribePacket, records: Array<SubscriptionRecord | number>, verdicts: number[]): void {
  if (connection.state !== 'connected') return
  const ctx = connection.ctx
  const session = connection.session!
  const v5 = connection.protocolVersion === 5
  const granted: number[] = []
  const accepted: SubscriptionRecord[] = []
  const added: boolean[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    let code = typeof record === 'number' ? record : verdicts[i]!
    if (typeof record !== 'number' && code === 0) {
      const isNew = !session.subscriptions.has(record.filter)
      if (isNew && session.subscriptions.size >= ctx.options.maxSubscriptions) {
        code = ReasonCode.QuotaExceeded
      } else {
        session.subscriptions.set(record.filter, record)
        ctx.router.subscribe(session.clientId, record)
        accepted.push(record)
        added.push(isNew)
        code = record.qos
      }
    }
    granted.push(v5 ? code : reason__toV3Suback(code))
  }
  if (accepted.length > 0) ctx.sessions.persist(session)
  // [MQTT-3.8.4-1] SUBACK with the same packet id, before any retained message.
  const failed = v5 && connection.requestProblemInformation && ctx.options.sendReasonStrings ? granted.filter((code) => code >= 0x80) : []
  const properties = failed.length > 0 ? {reasonString: [...new Set(failed)].map((c) => reason__name(c)).join(', ')} : undefined
  connection.send({cmd: 'suback', messageId: packet.messageId, granted, properties})
  for (let i = 0; i < accepted.length; i++) sendRetained(connection, accepted[i]!, added[i]!)
  if (accepted.length > 0) {
    hooks__notify(ctx, 'onSubscribe', connection.client!, accepted)
    events__emit(ctx, 'subscribe', accepted, connection.client)
  }
}

/**
 * Retained messages for a new subscription, with the retain flag set [MQTT-3.3.1-8]: Retain Handling 0 always,
 * 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11]; shared subscriptions get none (§4.8.2).
 */
function sendRetained(connection: Connection, record: SubscriptionRecord, isNew: boolean): void {
  if (record.retainHandling === 2 || (record.retainHandling === 1 && !isNew)) return
  if (topic__parseShared(record.filter) !== null) return
  const ctx = connection.ctx
  const session = connection.session!
  const ids = record.subscriptionId === undefined ? undefined : [record.subscriptionId]
  // Only live messages: one past its expiry or --retain-ttl is deleted instead (retained/keeper.ts).
  ctx.router.retained.match(record.filter, (message) => {
    if (!ctx.router.mayForward(session, message)) return
    const qos = (message.qos < record.qos ? message.qos : record.qos) as 0 | 1 | 2
    delivery__deliver(ctx, session, {...message, qos, retain: true}, ids, null)
  })
}
