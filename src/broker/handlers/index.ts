/**
 * The dispatcher: checks the connection's state before anything else, then hands each packet type to its own
 * handler. Before CONNECT only CONNECT is legal [MQTT-3.1.0-1]; a second CONNECT is a protocol violation
 * [MQTT-3.1.0-2]; while an MQTT 5 AUTH exchange runs only AUTH (or DISCONNECT) may come; packets only a server
 * sends (CONNACK, SUBACK, UNSUBACK, PINGRESP) close the connection.
 */
import type {Connection} from '../connection/connection.js'
import type {Packet} from '../../protocol/index.js'
import {ReasonCode} from '../../protocol/index.js'
import {handleAuth} from './auth.js'
import {handleConnect} from './connect.js'
import {handleDisconnect} from './disconnect.js'
import {handlePuback, handlePubcomp, handlePubrec, handlePubrel} from './acks.js'
import {handlePingreq} from './pingreq.js'
import {handlePublish} from './publish.js'
import {handleSubscribe} from './subscribe.js'
import {handleUnsubscribe} from './unsubscribe.js'

export function connection__dispatch(connection: Connection, packet: Packet): void | Promise<void> {
  const state = connection.state
  if (state === 'awaiting-connect') {
    if (packet.cmd === 'connect') return handleConnect(connection, packet)
    connection.ctx.logger.warn(`client ${connection.label}: ${packet.cmd.toUpperCase()} before CONNECT, closing [MQTT-3.1.0-1]`)
    connection.close(undefined, `${packet.cmd} before connect`)
    return
  }
  if (packet.cmd === 'connect') {
    connection.ctx.logger.warn(`client ${connection.label}: second CONNECT, closing [MQTT-3.1.0-2]`)
    connection.close(ReasonCode.ProtocolError, 'second CONNECT')
    return
  }
  if (state === 'authenticating') {
    if (packet.cmd === 'auth') return handleAuth(connection, packet)
    if (packet.cmd === 'disconnect') {
      connection.close(undefined, 'disconnected during authentication')
      return
    }
    connection.close(ReasonCode.ProtocolError, `${packet.cmd} during authentication`)
    return
  }
  if (state !== 'connected') return
  if (!packetIdValid(packet)) {
    // [MQTT-2.2.1-3] QoS 1/2 PUBLISH, acks, SUBSCRIBE and UNSUBSCRIBE carry a non-zero packet identifier.
    connection.ctx.logger.warn(`client ${connection.label}: ${packet.cmd.toUpperCase()} without a valid packet identifier, closing`)
    connection.close(ReasonCode.ProtocolError, 'invalid packet identifier')
    return
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(connection, packet)
    case 'puback':
      return handlePuback(connection, packet)
    case 'pubrec':
      return handlePubrec(connection, packet)
    case 'pubrel':
      return handlePubrel(connection, packet)
    case 'pubcomp':
      return handlePubcomp(connection, packet)
    case 'subscribe':
      return handleSubscribe(connection, packet)
    case 'unsubscribe':
      return handleUnsubscribe(connection, packet)
    case 'pingreq':
      return handlePingreq(connection)
    case 'disconnect':
      return handleDisconnect(connection, packet)
    case 'auth':
      return handleAuth(connection, packet)
    default:
      connection.ctx.logger.warn(`client ${connection.label}: unexpected ${packet.cmd.toUpperCase()} from a client, closing`)
      connection.close(ReasonCode.ProtocolError, `unexpected ${packet.cmd}`)
  }
}

function packetIdValid(packet: Packet): boolean {
  switch (packet.cmd) {
    case 'publish':
      if (packet.qos === 0) return true
      break
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'subscribe':
    case 'unsubscribe':
      break
    default:
      return true
  }
  const id = packet.messageId
  return id !== undefined && Number.isInteger(id) && id >= 1 && id <= 65_535
}
