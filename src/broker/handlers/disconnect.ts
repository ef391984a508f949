/**
 * DISCONNECT from the client: the will is discarded [MQTT-3.14.4-3] after a normal disconnection (0x00); an
 * MQTT 5 client sending 0x04 "disconnect with will message" or an error code gets it published; an MQTT 5 client may change the session expiry here, but not from 0 to
 * non-zero [MQTT-3.14.2-2].
 */
import type {Connection} from '../connection/connection.js'
import {type IDisconnectPacket, ReasonCode, reason__name} from '../../protocol/index.js'

export function handleDisconnect(connection: Connection, packet: IDisconnectPacket): void {
  const session = connection.session!
  const code = packet.reasonCode ?? 0
  if (connection.protocolVersion === 5) {
    const expiry = packet.properties?.sessionExpiryInterval
    if (expiry !== undefined) {
      if (session.expiryInterval === 0 && expiry !== 0) {
        connection.close(ReasonCode.ProtocolError, 'session expiry changed from 0 on DISCONNECT')
        return
      }
      session.expiryInterval = expiry
    }
  }
  // [MQTT-3.1.2-10] only a normal disconnection (0x00) deletes the will: 0x04 asks for it, and a client reporting
  // an error (0x80 and up) did not end normally either.
  if (code === ReasonCode.Success) connection.willDiscarded = true
  connection.closeReason = code === 0 ? 'disconnected' : `disconnected (${reason__name(code)})`
  connection.close()
}
