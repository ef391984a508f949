/** UNSUBSCRIBE (§3.10): removes each filter; UNSUBACK (MQTT 5: one reason code per filter [MQTT-3.11.3-1]). */
import type {Connection} from '../connection/connection.js'
import {type IUnsubscribePacket, ReasonCode} from '../../protocol/index.js'
import {events__emit, hooks__notify} from './hook-call.js'

export function handleUnsubscribe(connection: Connection, packet: IUnsubscribePacket): void {
  if (packet.unsubscriptions.length === 0) {
    // [MQTT-3.10.3-2] an UNSUBSCRIBE must hold at least one topic filter.
    connection.close(ReasonCode.ProtocolError, 'UNSUBSCRIBE without a topic filter')
    return
  }
  for (const filter of packet.unsubscriptions) {
    if (filter === '') {
      // [MQTT-4.7.3-1] a topic filter is at least one character long: an empty one is malformed, not "no such
      // subscription" (0x11).
      connection.close(ReasonCode.MalformedPacket, 'UNSUBSCRIBE with an empty topic filter')
      return
    }
  }
  const ctx = connection.ctx
  const session = connection.session!
  const codes: number[] = []
  const removed: string[] = []
  for (const filter of packet.unsubscriptions) {
    if (session.subscriptions.delete(filter)) {
      ctx.router.unsubscribe(session.clientId, filter)
      removed.push(filter)
      codes.push(ReasonCode.Success)
    } else {
      codes.push(ReasonCode.NoSubscriptionExisted)
    }
  }
  if (removed.length > 0) ctx.sessions.persist(session)
  // [MQTT-3.10.4-4] UNSUBACK even when nothing matched.
  if (connection.protocolVersion === 5) connection.send({cmd: 'unsuback', messageId: packet.messageId, granted: codes})
  else connection.send({cmd: 'unsuback', messageId: packet.messageId, granted: []})
  if (removed.length > 0) {
    hooks__notify(ctx, 'onUnsubscribe', connection.client!, removed)
    events__emit(ctx, 'unsubscribe', removed, connection.client)
  }
}
