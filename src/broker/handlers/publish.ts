/**
 * An inbound PUBLISH: resolve the topic alias, validate, authorize, then retain/route and acknowledge.
 * QoS 1 gets PUBACK and QoS 2 PUBREC only once the store has made the message durable (connection/acks.ts). A
 * QoS 2 PUBLISH whose packet id still waits for PUBREL is a duplicate: answered again, never routed twice
 * [MQTT-4.3.3-9].
 */
import type {Connection} from '../connection/connection.js'
import type {StoredMessage} from '../store/store.js'
import {topic__validateName} from '../topics/index.js'
import {type IPublishPacket, type Packet, ReasonCode, protocol__ack, protocol__encodeWithin, reason__name} from '../../protocol/index.js'
import {events__emit, hooks__decide, hooks__isThenable, hooks__notify} from './hook-call.js'
import {message__payload, message__payloadValid, message__properties} from './message.js'
import {publishRate__check} from '../limits/publish-rate.js'

export function handlePublish(connection: Connection, packet: IPublishPacket): void | Promise<void> {
  const ctx = connection.ctx
  ctx.stats.publishReceived++
  connection.publishIn++
  // --max-publish-rate / --max-publish-bytes-rate (limits/publish-rate.ts): over budget, DISCONNECT 0x96/0x97 (MQTT 5) or close.
  const overRate = publishRate__check(connection, ctx.options, packet.payload.length)
  if (overRate !== 0) {
    connection.close(overRate, overRate === ReasonCode.MessageRateTooHigh ? 'publish rate limit exceeded' : 'publish byte rate limit exceeded')
    return
  }
  const v5 = connection.protocolVersion === 5
  if (packet.qos === 0 && packet.dup) {
    connection.close(ReasonCode.MalformedPacket, 'DUP set on a QoS 0 PUBLISH') // [MQTT-3.3.1-2]
    return
  }
  if (v5 && packet.properties?.subscriptionIdentifier !== undefined) {
    connection.close(ReasonCode.ProtocolError, 'subscription identifier in a PUBLISH from a client') // [MQTT-3.3.4-6]
    return
  }
  const topic = v5 ? resolveAlias(connection, packet) : packet.topic
  if (topic === null) return
  const bad = topic__validateName(topic, {maxLength: ctx.options.maxTopicLength, maxLevels: ctx.options.maxTopicLevels})
  if (bad !== null) {
    // [MQTT-3.3.2-2] a topic name with wildcards (or otherwise invalid) closes the connection.
    ctx.logger.warn(`client ${connection.label}: PUBLISH to an invalid topic (${bad}), closing`)
    connection.close(ReasonCode.TopicNameInvalid, `invalid topic name: ${bad}`)
    return
  }
  const qos = packet.qos
  if (qos > ctx.options.maxQos) {
    // [MQTT-3.2.2-11] a QoS over Maximum QoS is a protocol violation (0x9B).
    connection.close(ReasonCode.QosNotSupported, `QoS ${qos} is over the maximum ${ctx.options.maxQos}`)
    return
  }
  if (packet.retain && !ctx.options.retainAvailable) {
    connection.close(ReasonCode.RetainNotSupported, 'retained messages are not available') // [MQTT-3.2.2-14]
    return
  }
  const session = connection.session!
  const id = packet.messageId ?? 0
  if (qos === 2 && session.incoming.has(id)) {
    ack(connection, 'pubrec', id, 0)
    return
  }
  if (qos > 0 && v5 && connection.acksWaiting + session.incoming.size >= ctx.options.maxInflight) {
    // [MQTT-3.3.4-9] more unacknowledged QoS 1/2 PUBLISHes than our Receive Maximum.
    connection.close(ReasonCode.ReceiveMaximumExceeded, `more than ${ctx.options.maxInflight} unacknowledged QoS 1/2 messages`)
    return
  }
  const payload = message__payload(packet.payload)
  if (v5 && !message__payloadValid(packet.properties, payload)) {
    // [MQTT-3.3.2-4] payload format indicator 1 with a payload that is not UTF-8.
    if (qos > 0) ack(connection, qos === 1 ? 'puback' : 'pubrec', id, ReasonCode.PayloadFormatInvalid, false)
    return
  }
  const message: StoredMessage = {topic, payload, qos, retain: packet.retain}
  if (v5 && packet.properties !== undefined) {
    const properties = message__properties(packet.properties)
    if (properties !== undefined) {
      message.properties = properties
      const expiry = properties.messageExpiryInterval
      if (expiry !== undefined && expiry > 0) message.expiresAt = Date.now() + expiry * 1000
    }
  }
  const verdict = hooks__decide(ctx, 'authorizePublish', ctx.hooks.authorizePublish, ReasonCode.NotAuthorized, connection.client!, message)
  if (hooks__isThenable(verdict)) return verdict.then((code) => accept(connection, message, id, code))
  accept(connection, message, id, verdict)
}

function accept(connection: Connection, message: StoredMessage, id: number, refused: number): void {
  if (connection.state !== 'connected') return
  const ctx = connection.ctx
  const qos = message.qos
  if (refused !== 0) {
    // A client writing to the broker's own $SYS topics is worth a line in the log, not just a debug one.
    const sys = message.topic.startsWith('$SYS')
    ctx.logger[sys ? 'warn' : 'debug'](`client ${connection.label}: PUBLISH to ${message.topic} not authorized${sys ? ' ($SYS belongs to the broker)' : ''}`)
    // MQTT 5 says why; 3.1.1 has no negative ack, so the message is acknowledged and dropped [MQTT-3.3.5-2].
    if (qos > 0) ack(connection, qos === 1 ? 'puback' : 'pubrec', id, connection.protocolVersion === 5 ? refused : 0, false)
    return
  }
  if (message.retain && !ctx.router.retained.admits(message)) {
    // --max-retained / --max-retained-bytes: a new retained topic past them is refused, neither stored nor routed.
    ctx.router.retained.refused(message.topic)
    if (qos > 0) ack(connection, qos === 1 ? 'puback' : 'pubrec', id, connection.protocolVersion === 5 ? ReasonCode.QuotaExceeded : 0, false)
    return
  }
  if (qos === 2) {
    const session = connection.session!
    session.incoming.add(id)
    if (session.persistent) ctx.store.setInflight({clientId: session.clientId, packetId: id, direction: 'incoming', state: 'pubrel'})
  }
  const delivered = ctx.router.publish(message, connection.clientId)
  if (qos > 0) {
    // MQTT 5: 0x10 tells the publisher nobody was subscribed.
    ack(connection, qos === 1 ? 'puback' : 'pubrec', id, delivered === 0 ? ReasonCode.NoMatchingSubscribers : 0, true)
  }
  hooks__notify(ctx, 'onPublish', connection.client, message)
  events__emit(ctx, 'publish', message, connection.client)
  if (ctx.budget.throttling) ctx.budget.throttle(connection)
}

/** Sends PUBACK/PUBREC; `durable` ones wait for the store's flush. */
function ack(connection: Connection, cmd: 'puback' | 'pubrec', id: number, reasonCode: number, durable = false): void {
  const v5 = connection.protocolVersion === 5
  let encoded: Buffer
  if (v5 && reasonCode !== 0) {
    // Reason strings only for failures, and only when the client did not opt out [MQTT-3.1.2-29].
    const reasonString = reasonCode >= 0x80 && connection.requestProblemInformation && connection.ctx.options.sendReasonStrings ? reason__name(reasonCode).slice(5) : undefined
    const packet: Packet = reasonString === undefined ? {cmd, messageId: id, reasonCode} : {cmd, messageId: id, reasonCode, properties: {reasonString}}
    // Within the client's Maximum Packet Size [MQTT-3.1.2-24]: the reason string goes first; under 4 bytes, nothing fits.
    const fitted = protocol__encodeWithin(packet, 5, connection.clientMaximumPacketSize)
    if (fitted === null) {
      connection.close(undefined, `${cmd} over the client's maximum packet size`)
      return
    }
    encoded = fitted
  } else {
    encoded = protocol__ack(cmd, id)
  }
  if (!durable) {
    connection.write(encoded)
    return
  }
  connection.acksWaiting++
  connection.ctx.acks.add(connection, encoded)
}

/**
 * [MQTT-3.3.2-12..] topic aliases: a non-empty topic with an alias sets it, an empty topic uses it. An alias of 0
 * or over our Topic Alias Maximum, or an unknown one, is a protocol error (0x94 / 0x82).
 */
function resolveAlias(connection: Connection, packet: IPublishPacket): string | null {
  const alias = packet.properties?.topicAlias
  if (alias === undefined) {
    if (packet.topic === '') {
      connection.close(ReasonCode.ProtocolError, 'empty topic without a topic alias')
      return null
    }
    return packet.topic
  }
  const max = connection.ctx.options.topicAliasMaximum
  if (alias === 0 || alias > max) {
    connection.close(ReasonCode.TopicAliasInvalid, `topic alias ${alias} outside 1..${max}`)
    return null
  }
  const aliases = (connection.aliases ??= new Map())
  if (packet.topic !== '') {
    aliases.set(alias, packet.topic)
    return packet.topic
  }
  const topic = aliases.get(alias)
  if (topic === undefined) {
    connection.close(ReasonCode.ProtocolError, `unknown topic alias ${alias}`)
    return null
  }
  return topic
}
