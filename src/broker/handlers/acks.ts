/**
 * The acknowledgement packets of QoS 1 and 2 (§4.3). Outgoing side: PUBACK ends a QoS 1 delivery, PUBREC moves a
 * QoS 2 one to PUBREL, PUBCOMP ends it; each freed slot lets the session's queue drain. Incoming side: PUBREL
 * releases a QoS 2 packet id and is answered with PUBCOMP [MQTT-4.3.3-11].
 *
 * Each received acknowledgement runs its hook (onPubAck, onPubRec, onPubRel, onPubComp) and the `ack` event before
 * the broker acts on it (frees the slot, answers PUBREL/PUBCOMP); docs/library.md shows the order in whole flows.
 */
import type {Connection} from '../connection/connection.js'
import {delivery__drain} from '../session/delivery.js'
import type {AckInfo} from '../hooks.js'
import type {StoredMessage} from '../store/store.js'
import {events__emit, hooks__notify, hooks__observed} from './hook-call.js'
import {type IPubackPacket, type IPubcompPacket, type IPubrecPacket, type IPubrelPacket, ReasonCode, protocol__ack} from '../../protocol/index.js'

type AckHook = 'onPubAck' | 'onPubRec' | 'onPubRel' | 'onPubComp'

/** Runs the step's hook and the `ack` event, building the AckInfo only when someone listens. */
function observe(connection: Connection, hook: AckHook, cmd: AckInfo['cmd'], packetId: number, reasonCode: number | undefined, message: StoredMessage | undefined, known: boolean): void {
  const ctx = connection.ctx
  if (!hooks__observed(ctx, hook, 'ack')) return
  const info: AckInfo = {cmd, packetId, reasonCode: reasonCode ?? 0, known}
  // A PUBREL-stage record restored from the store holds a placeholder without a topic, not the message.
  if (message !== undefined && message.topic !== '') info.message = message
  hooks__notify(ctx, hook, connection.client!, info)
  events__emit(ctx, 'ack', info, connection.client)
}

function finishOutgoing(connection: Connection, id: number): void {
  const ctx = connection.ctx
  const session = connection.session!
  session.lastAck = Date.now()
  session.outgoing.delete(id)
  if (session.persistent) ctx.store.deleteInflight(session.clientId, 'outgoing', id)
  if (session.queued > 0) delivery__drain(ctx, session)
}

/**
 * An acknowledgement of the wrong kind for the flow its packet id is in (PUBREC or PUBCOMP for a QoS 1 delivery,
 * PUBACK for a QoS 2 one, before or after PUBREL) is a protocol violation and closes the connection
 * [MQTT-4.8.0-1] (5.0: [MQTT-4.13.1-1], DISCONNECT 0x82). An id with no delivery at all stays harmless: after a
 * reconnection a client may acknowledge what the broker already forgot.
 */
function wrongKind(connection: Connection, cmd: string, id: number, qos: number): void {
  connection.ctx.logger.warn(`client ${connection.label}: ${cmd.toUpperCase()} for the QoS ${qos} delivery ${id}, closing [MQTT-4.8.0-1]`)
  connection.close(ReasonCode.ProtocolError, `${cmd.toUpperCase()} for a QoS ${qos} delivery`)
}

export function handlePuback(connection: Connection, packet: IPubackPacket): void {
  const id = packet.messageId ?? 0
  const record = connection.session!.outgoing.get(id)
  if (record !== undefined && record.message.qos === 2) return wrongKind(connection, 'puback', id, 2)
  const known = record !== undefined && record.state === 'publish' && record.message.qos === 1
  observe(connection, 'onPubAck', 'puback', id, packet.reasonCode, known ? record.message : undefined, known)
  if (!known) {
    connection.ctx.logger.debug(`client ${connection.label}: PUBACK for unknown packet id ${id}`)
    return
  }
  finishOutgoing(connection, id)
}

export function handlePubrec(connection: Connection, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0
  const session = connection.session!
  const record = session.outgoing.get(id)
  if (record !== undefined && record.message.qos === 1) return wrongKind(connection, 'pubrec', id, 1)
  const known = record !== undefined && record.message.qos === 2
  observe(connection, 'onPubRec', 'pubrec', id, packet.reasonCode, known ? record.message : undefined, known)
  if (record === undefined || !known) {
    // MQTT 5: tell the client the id is unknown; 3.1.1 just answers PUBREL so the client can finish.
    if (connection.protocolVersion === 5) connection.send({cmd: 'pubrel', messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound})
    else connection.write(protocol__ack('pubrel', id))
    return
  }
  // MQTT 5 §4.3.3: a PUBREC with an error code ends the exchange.
  if ((packet.reasonCode ?? 0) >= 0x80) {
    finishOutgoing(connection, id)
    return
  }
  if (record.state === 'publish') {
    session.lastAck = Date.now()
    record.state = 'pubrel'
    if (session.persistent) {
      connection.ctx.store.setInflight({clientId: session.clientId, packetId: id, direction: 'outgoing', state: 'pubrel', message: record.message, subscriptionIds: record.subscriptionIds})
    }
  }
  connection.write(protocol__ack('pubrel', id))
}

export function handlePubcomp(connection: Connection, packet: IPubcompPacket): void {
  const id = packet.messageId ?? 0
  const record = connection.session!.outgoing.get(id)
  if (record !== undefined && record.message.qos === 1) return wrongKind(connection, 'pubcomp', id, 1)
  const known = record !== undefined && record.state === 'pubrel'
  observe(connection, 'onPubComp', 'pubcomp', id, packet.reasonCode, known ? record.message : undefined, known)
  if (!known) {
    connection.ctx.logger.debug(`client ${connection.label}: PUBCOMP for unknown packet id ${id}`)
    return
  }
  finishOutgoing(connection, id)
}

export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const id = packet.messageId ?? 0
  const session = connection.session!
  const known = session.incoming.delete(id)
  observe(connection, 'onPubRel', 'pubrel', id, packet.reasonCode, undefined, known)
  if (known && session.persistent) connection.ctx.store.deleteInflight(session.clientId, 'incoming', id)
  const reasonCode = !known && connection.protocolVersion === 5 ? ReasonCode.PacketIdentifierNotFound : undefined
  if (reasonCode === undefined) connection.write(protocol__ack('pubcomp', id))
  else connection.send({cmd: 'pubcomp', messageId: id, reasonCode})
}
