/**
 * MQTT 5 enhanced authentication (§4.12): CONNECT carries an Authentication Method; the `onAuth` hook answers
 * each step, the broker relays challenges in AUTH 0x18 packets until the hook says done, then sends CONNACK with
 * the method and final data. After CONNECT a client may re-authenticate with AUTH 0x19 [MQTT-4.12.1-1]; the
 * method must stay the same [MQTT-4.12.1-2]. No `onAuth` hook: the method is refused with 0x8C.
 */
import type {Connection} from '../connection/connection.js'
import type {AuthStep} from '../hooks.js'
import {type IAuthPacket, type IConnectPacket, ReasonCode} from '../../protocol/index.js'
import {connect__accept, connect__refuse} from './connect.js'
import {hooks__errorCode, hooks__isThenable} from './hook-call.js'

/** The CONNECT kept while its AUTH exchange runs. */
const pendingConnects = new WeakMap<Connection, IConnectPacket>()
/** Connections in a re-authentication exchange (after CONNACK). */
const reauthenticating = new WeakSet<Connection>()

export function beginEnhancedAuth(connection: Connection, packet: IConnectPacket, method: string, data: Buffer | undefined): void | Promise<void> {
  if (connection.ctx.hooks.onAuth === undefined) {
    connect__refuse(connection, ReasonCode.BadAuthenticationMethod, `authentication method ${method} is not supported`)
    return
  }
  connection.authMethod = method
  pendingConnects.set(connection, packet)
  return step(connection, data)
}

export function handleAuth(connection: Connection, packet: IAuthPacket): void | Promise<void> {
  const method = packet.properties?.authenticationMethod
  if (connection.protocolVersion !== 5 || connection.authMethod === undefined || method !== connection.authMethod) {
    // §4.12: AUTH without the method of the CONNECT (or with none at all) is a protocol error.
    connection.close(ReasonCode.ProtocolError, 'AUTH does not match the connection\'s authentication method')
    return
  }
  // During CONNECT only "continue" (0x18); once connected, "re-authenticate" (0x19) starts an exchange and
  // "continue" is only valid inside one.
  const code = packet.reasonCode
  const valid =
    connection.state === 'authenticating'
      ? code === ReasonCode.ContinueAuthentication
      : code === ReasonCode.ReAuthenticate || (code === ReasonCode.ContinueAuthentication && reauthenticating.has(connection))
  if (!valid) {
    connection.close(ReasonCode.ProtocolError, `unexpected AUTH reason 0x${code.toString(16)}`)
    return
  }
  if (connection.state === 'connected') reauthenticating.add(connection)
  return step(connection, packet.properties?.authenticationData)
}

function step(connection: Connection, data: Buffer | undefined): void | Promise<void> {
  const ctx = connection.ctx
  let result: AuthStep | Promise<AuthStep>
  try {
    result = ctx.hooks.onAuth!(connection.client!, {method: connection.authMethod!, data})
  } catch (error) {
    failed(connection, hooks__errorCode(ctx, 'onAuth', error, ReasonCode.NotAuthorized))
    return
  }
  if (hooks__isThenable(result)) {
    return Promise.resolve(result).then(
      (r) => answer(connection, r),
      (error: unknown) => failed(connection, hooks__errorCode(ctx, 'onAuth', error, ReasonCode.NotAuthorized)),
    )
  }
  answer(connection, result)
}

function answer(connection: Connection, result: AuthStep): void {
  if (connection.state === 'closed') return
  const method = connection.authMethod!
  if (!result.done) {
    connection.send({cmd: 'auth', reasonCode: ReasonCode.ContinueAuthentication, properties: {authenticationMethod: method, authenticationData: result.data}})
    return
  }
  if (result.username !== undefined && connection.client !== null) {
    connection.client = {...connection.client, username: result.username}
    if (connection.session !== null) connection.session.client = connection.client
  }
  if (connection.state === 'authenticating') {
    const packet = pendingConnects.get(connection)!
    pendingConnects.delete(connection)
    connect__accept(connection, packet, {method, data: result.data})
    return
  }
  // Re-authentication succeeded (§4.12.1): AUTH 0x00.
  reauthenticating.delete(connection)
  connection.send({cmd: 'auth', reasonCode: ReasonCode.Success, properties: {authenticationMethod: method, authenticationData: result.data}})
}

function failed(connection: Connection, code: number): void {
  if (connection.state === 'authenticating') {
    pendingConnects.delete(connection)
    connect__refuse(connection, code, 'authentication failed')
    return
  }
  connection.close(code, 're-authentication failed')
}
