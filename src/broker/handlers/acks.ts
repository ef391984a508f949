/**
 * The acknowledgement packets of QoS 1 and 2 (§4.3). Outgoing side: PUBACK ends a QoS 1 delivery, PUBREC moves a
 * QoS 2 one to PUBREL, PUBCOMP ends it; each freed slot lets the session's queue drain. Incoming side: PUBREL
 * releases a QoS 2 packet id and is answered with PUBCOMP [MQTT-4.3.3-11].
 */
import type {Connection} from '../connection/connection.js'
import {delivery__drain} from '../session/delivery.js'
import {type IPubackPacket, type IPubcompPacket, type IPubrecPacket, type IPubrelPacket, ReasonCode, protocol__ack} from '../../protocol/index.js'

function finishOutgoing(connection: Connection, id: number): void {
  const ctx = connection.ctx
  const session = connection.session!
  session.lastAck = Date.now()
  session.outgoing.delete(id)
  if (session.persistent) ctx.store.deleteInflight(session.clientId, 'outgoing', id)
  if (session.queued > 0) delivery__drain(ctx, session)
}

export function handlePuback(connection: Connection, packet: IPubackPacket): void {
  const id = packet.messageId ?? 0
  const record = connection.session!.outgoing.get(id)
  if (record === undefined || record.state !== 'publish' || record.message.qos !== 1) {
    connection.ctx.logger.debug(`client ${connection.label}: PUBACK for unknown packet id ${id}`)
    return
  }
  finishOutgoing(connection, id)
}

export function handlePubrec(connection: Connection, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0
  const session = connection.session!
  const record = session.outgoing.get(id)
  if (record === undefined || record.message.qos !== 2) {
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
  if (record === undefined || record.state !== 'pubrel') {
    connection.ctx.logger.debug(`client ${connection.label}: PUBCOMP for unknown packet id ${id}`)
    return
  }
  finishOutgoing(connection, id)
}

export function handlePubrel(connection: Connection, packet: IPubrelPacket): void {
  const id = packet.messageId ?? 0
  const session = connection.session!
  const known = session.incoming.delete(id)
  if (known && session.persistent) connection.ctx.store.deleteInflight(session.clientId, 'incoming', id)
  const reasonCode = !known && connection.protocolVersion === 5 ? ReasonCode.PacketIdentifierNotFound : undefined
  if (reasonCode === undefined) connection.write(protocol__ack('pubcomp', id))
  else connection.send({cmd: 'pubcomp', messageId: id, reasonCode})
}
