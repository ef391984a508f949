/**
 * CONNECT, as a list of named steps read top to bottom like the spec (§3.1): check the protocol, the client id,
 * the broker's limits and the will; authenticate (password hook, or MQTT 5 enhanced authentication through AUTH);
 * then accept: take over an existing connection, start or resume the session, answer CONNACK, resend what the
 * session still owes the client.
 */
import {randomBytes} from 'node:crypto'
import type {PeerCertificate} from 'node:tls'
import type {Connection} from '../connection/connection.js'
import type {ClientInfo} from '../hooks.js'
import {delivery__drain, delivery__resend} from '../session/delivery.js'
import {EXPIRY_NEVER, type Session} from '../session/session.js'
import {copy__keepPayload} from '../store/copy.js'
import type {WillRecord} from '../store/store.js'
import {topic__validateName} from '../topics/index.js'
import {
  type IConnackPacket,
  type IConnectPacket,
  ReasonCode,
  protocol__label,
  reason__name,
  reason__toV3Connack,
} from '../../protocol/index.js'
import {beginEnhancedAuth} from './auth.js'
import {events__emit, hooks__decide, hooks__isThenable, hooks__notify} from './hook-call.js'
import {message__payload, message__payloadValid, message__properties} from './message.js'

/** Connections whose will passed authorizePublish (connect__accept runs again after an async verdict). */
const willChecked = new WeakSet<Connection>()
/** Connections whose cluster node owns their session now (connect__accept runs again after the claim). */
const clusterClaimed = new WeakSet<Connection>()

/** A refusal: CONNACK with the code (3.1.1: the nearest return code) then close [MQTT-3.2.2-5]. */
export function connect__refuse(connection: Connection, reasonCode: number, reason: string): void {
  const ctx = connection.ctx
  ctx.logger.info(`client ${connection.label} refused: ${reason} (${reason__name(reasonCode)})`)
  const connack: IConnackPacket =
    connection.protocolVersion === 5
      ? {cmd: 'connack', sessionPresent: false, reasonCode, properties: ctx.options.sendReasonStrings ? {reasonString: reason} : undefined}
      : {cmd: 'connack', sessionPresent: false, returnCode: reason__toV3Connack(reasonCode)}
  connection.send(connack)
  connection.close(undefined, reason)
}

export function handleConnect(connection: Connection, packet: IConnectPacket): void | Promise<void> {
  connection.state = 'authenticating'
  connection.protocolVersion = packet.protocolVersion ?? 4
  connection.bridgeMode = (packet as {bridgeMode?: boolean}).bridgeMode === true
  if (!checkProtocol(connection, packet)) return
  const clientId = checkClientId(connection, packet)
  if (clientId === null) return
  if (!checkLimits(connection, packet)) return
  const will = checkWill(connection, packet)
  if (will === false) return
  connection.will = will
  if (!readClientProperties(connection, packet)) return
  const client = clientInfo(connection, clientId, packet.username)
  connection.client = client
  connection.clientId = clientId

  const method = packet.properties?.authenticationMethod
  if (connection.protocolVersion === 5 && method !== undefined) {
    return beginEnhancedAuth(connection, packet, method, packet.properties?.authenticationData)
  }
  const ctx = connection.ctx
  const verdict = hooks__decide(ctx, 'authenticate', ctx.hooks.authenticate, ReasonCode.BadUserNameOrPassword, client, packet.username, packet.password)
  if (hooks__isThenable(verdict)) return verdict.then((code) => afterAuthentication(connection, packet, code))
  afterAuthentication(connection, packet, verdict)
}

function afterAuthentication(connection: Connection, packet: IConnectPacket, code: number): void {
  if (connection.state !== 'authenticating') return
  if (code !== 0) {
    connect__refuse(connection, code, code === ReasonCode.BadUserNameOrPassword ? 'bad user name or password' : 'not authorized')
    return
  }
  connect__accept(connection, packet, undefined)
}

/** [MQTT-3.1.2-1] the name must match the level: `MQIsdp` for 3.1, `MQTT` for 3.1.1 and 5. */
function checkProtocol(connection: Connection, packet: IConnectPacket): boolean {
  const expected = connection.protocolVersion === 3 ? 'MQIsdp' : 'MQTT'
  if (packet.protocolId !== expected) {
    connection.ctx.logger.warn(`client ${connection.label}: protocol name ${packet.protocolId} with level ${connection.protocolVersion}, closing [MQTT-3.1.2-1]`)
    connection.close(undefined, 'bad protocol name')
    return false
  }
  return true
}

/**
 * Client identifier rules: an empty id gets an assigned one when the session is clean [MQTT-3.1.3-6] (always in
 * MQTT 5, reported in CONNACK); an empty id asking for a persistent 3.1.1 session is refused with 0x02
 * [MQTT-3.1.3-8]; ids over the configured length are refused [MQTT-3.1.3-5].
 */
function checkClientId(connection: Connection, packet: IConnectPacket): string | null {
  const v = connection.protocolVersion
  let id = packet.clientId ?? ''
  if (id === '') {
    if (v !== 5 && !packet.clean) {
      connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, 'empty client id needs clean session [MQTT-3.1.3-8]')
      return null
    }
    if (v === 3) {
      connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, 'MQTT 3.1 requires a client id')
      return null
    }
    if (!connection.ctx.options.assignClientIds) {
      // --no-assign-client-ids: the server rejects the id (MQTT 5 [MQTT-3.1.3-8] 0x85; 3.1.1 [MQTT-3.1.3-9] code 2).
      connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, 'empty client id: this broker assigns none')
      return null
    }
    id = `mqttkit-${randomBytes(8).toString('hex')}`
    connection.assignedClientId = v === 5 ? id : undefined
  }
  // `$bridge/<name>` is the session of one of the broker's own bridges (bridge/local-link.ts): no network client
  // may take it over.
  if (id.startsWith('$bridge/') && connection.meta.transport !== 'bridge') {
    connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, 'client ids starting with $bridge/ are reserved for the broker\'s bridges')
    return null
  }
  if (id.length > connection.ctx.options.maxClientIdLength) {
    connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, `client id longer than ${connection.ctx.options.maxClientIdLength} characters`)
    return null
  }
  return id
}

function checkLimits(connection: Connection, packet: IConnectPacket): boolean {
  const ctx = connection.ctx
  if (ctx.closing) {
    connect__refuse(connection, ReasonCode.ServerShuttingDown, 'server shutting down')
    return false
  }
  if (ctx.stats.clientsConnected >= ctx.options.maxConnections && !ctx.clients.has(packet.clientId)) {
    connect__refuse(connection, ReasonCode.QuotaExceeded, `connection limit of ${ctx.options.maxConnections} reached`)
    return false
  }
  const max = ctx.options.maxKeepalive
  const keepalive = packet.keepalive ?? 0
  if (max < 65_535 && (keepalive === 0 || keepalive > max)) {
    if (connection.protocolVersion !== 5) {
      // 3.1.1 cannot be told a shorter keepalive: refuse rather than drop a well-behaved client later.
      connect__refuse(connection, ReasonCode.ClientIdentifierNotValid, `keepalive ${keepalive} s is over the broker's maximum of ${max} s`)
      return false
    }
    // [MQTT-3.2.2-21] MQTT 5: the client must use the Server Keep Alive we send back.
    connection.serverKeepalive = max
  }
  connection.keepalive = connection.serverKeepalive ?? keepalive
  return true
}

function checkWill(connection: Connection, packet: IConnectPacket): WillRecord | null | false {
  const will = packet.will
  if (will === undefined || will === null) return null
  const ctx = connection.ctx
  const bad = topic__validateName(will.topic, {maxLength: ctx.options.maxTopicLength, maxLevels: ctx.options.maxTopicLevels})
  if (bad !== null) {
    if (connection.protocolVersion === 5) connect__refuse(connection, ReasonCode.TopicNameInvalid, `will topic invalid: ${bad}`)
    else {
      // 3.1/3.1.1 have no CONNACK code for it: a CONNECT that breaks the format is closed without one [MQTT-3.1.4-1].
      ctx.logger.warn(`client ${connection.label}: will topic invalid (${bad}), closing [MQTT-3.1.4-1]`)
      connection.close(undefined, `will topic invalid: ${bad}`)
    }
    return false
  }
  const qos = will.qos ?? 0
  if (qos > ctx.options.maxQos) {
    connect__refuse(connection, ReasonCode.QosNotSupported, `will QoS ${qos} over the maximum ${ctx.options.maxQos}`)
    return false
  }
  if (will.retain && !ctx.options.retainAvailable) {
    connect__refuse(connection, ReasonCode.RetainNotSupported, 'retained wills are not available')
    return false
  }
  const payload = message__payload(will.payload)
  if (!message__payloadValid(will.properties, payload)) {
    connect__refuse(connection, ReasonCode.PayloadFormatInvalid, 'will payload is not valid UTF-8')
    return false
  }
  const {willDelayInterval, ...props} = will.properties ?? {}
  const record: WillRecord = {topic: will.topic, payload, qos, retain: will.retain === true, delayInterval: willDelayInterval ?? 0}
  const properties = message__properties(props)
  if (properties !== undefined) record.properties = properties
  // Kept for the whole connection: not as a view into the read buffer the CONNECT arrived in.
  copy__keepPayload(record)
  return record
}

function readClientProperties(connection: Connection, packet: IConnectPacket): boolean {
  const p = packet.properties
  if (connection.protocolVersion !== 5 || p === undefined) return true
  if (p.receiveMaximum === 0 || p.maximumPacketSize === 0) {
    // §3.1.2.11.3 / §3.1.2.11.4: zero is a protocol error for both.
    connect__refuse(connection, ReasonCode.ProtocolError, `${p.receiveMaximum === 0 ? 'Receive Maximum' : 'Maximum Packet Size'} of 0`)
    return false
  }
  if (p.receiveMaximum !== undefined) connection.clientReceiveMaximum = p.receiveMaximum
  if (p.maximumPacketSize !== undefined) connection.clientMaximumPacketSize = p.maximumPacketSize
  if (p.topicAliasMaximum !== undefined) connection.clientTopicAliasMaximum = p.topicAliasMaximum
  if (p.requestProblemInformation === false) connection.requestProblemInformation = false
  if (p.requestResponseInformation === true) connection.requestResponseInformation = true
  return true
}

function clientInfo(connection: Connection, id: string, username: string | undefined): ClientInfo {
  const meta = connection.meta
  // A verified certificate's CN replaces the CONNECT user name when the listener says so (docs/transports.md).
  return new ConnectedClient(id, connection.protocolVersion, meta.transport, meta.remoteAddress, meta.certificateUsername ?? username, meta.remotePort, meta.certificate)
}

/**
 * The ClientInfo given to hooks, as a class rather than an object literal: V8 keeps all of a class instance's
 * fields inside the object, while a literal that gains its optional fields afterwards moves them to a separate
 * property array (~35 bytes more per connection, docs/benchmarks.md). Optional fields are absent, not undefined,
 * as before; `declare` keeps TypeScript from defining them as undefined.
 */
class ConnectedClient implements ClientInfo {
  declare readonly username?: string
  declare readonly remotePort?: number
  declare readonly certificate?: PeerCertificate

  constructor(
    readonly id: string,
    readonly protocolVersion: ClientInfo['protocolVersion'],
    readonly transport: ClientInfo['transport'],
    readonly remoteAddress: string,
    username: string | undefined,
    remotePort: number | undefined,
    certificate: PeerCertificate | undefined,
  ) {
    const self = this as {-readonly [K in keyof ClientInfo]: ClientInfo[K]}
    if (username !== undefined) self.username = username
    if (remotePort !== undefined) self.remotePort = remotePort
    if (certificate !== undefined) self.certificate = certificate
  }
}

/**
 * The accepting half of CONNECT, shared with enhanced authentication. `auth` carries the method and final data
 * for an MQTT 5 AUTH exchange's CONNACK.
 */
export function connect__accept(connection: Connection, packet: IConnectPacket, auth: {method: string; data?: Buffer} | undefined): void {
  const ctx = connection.ctx
  const id = connection.clientId
  const v = connection.protocolVersion
  // The will is published on the client's behalf, so it needs the write permission of a PUBLISH (ACL hooks,
  // docs/security.md); checked once here for both authentication paths. Refused: CONNACK 0x87 (3.1.1: 5).
  if (connection.will !== null && !willChecked.has(connection)) {
    willChecked.add(connection)
    const verdict = hooks__decide(ctx, 'authorizePublish', ctx.hooks.authorizePublish, ReasonCode.NotAuthorized, connection.client!, connection.will)
    const next = (code: number) => {
      if (connection.state === 'closed') return
      if (code !== 0) connect__refuse(connection, code, `will topic ${connection.will!.topic} not authorized`)
      else connect__accept(connection, packet, auth)
    }
    if (hooks__isThenable(verdict)) void verdict.then(next)
    else next(verdict)
    return
  }

  // A cluster node first becomes the session's owner (the node holding it releases it: cluster/takeover.ts).
  if (ctx.cluster !== undefined && !clusterClaimed.has(connection)) {
    clusterClaimed.add(connection)
    ctx.cluster.claim(connection).then(
      () => {
        if (connection.state !== 'closed') connect__accept(connection, packet, auth)
      },
      (error: Error) => {
        if (connection.state !== 'closed') connect__refuse(connection, ReasonCode.ServerUnavailable, error.message)
      },
    )
    return
  }

  // [MQTT-3.1.4-2] takeover: the existing connection with this id is closed (MQTT 5: DISCONNECT 0x8E).
  const previous = ctx.clients.get(id)
  if (previous !== undefined && previous !== connection) {
    ctx.logger.info(`client ${id} connected again from ${connection.meta.remoteAddress}: closing the older connection`)
    previous.close(ReasonCode.SessionTakenOver, 'session taken over')
  }

  const expiry = v === 5 ? (packet.properties?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : EXPIRY_NEVER
  let session = ctx.sessions.get(id)
  // [MQTT-3.1.2-6] clean session / clean start discards the old session; [MQTT-3.2.2-2] session present otherwise.
  if (session !== undefined && packet.clean) {
    ctx.sessions.discard(session)
    session = undefined
  }
  const sessionPresent = session !== undefined
  if (session === undefined) {
    session = ctx.sessions.create(id, v, expiry, connection.client!)
  } else {
    ctx.sessions.resumed(session)
    session.protocolVersion = v
    session.expiryInterval = expiry
    session.client = connection.client!
    if (!session.clientKnown) {
      // Messages queued while we did not know who this is were not checked against authorizeForward: check now.
      session.clientKnown = true
      recheckQueue(ctx, session)
    }
    if (!session.persistent && session.stored) {
      ctx.store.deleteSession(id)
      session.stored = false
    }
  }
  session.connection = connection
  session.maxQueued = connection.meta.maxQueued
  connection.session = session
  ctx.clients.set(id, connection)
  ctx.sessions.persist(session)

  connection.state = 'connected'
  connection.connectedAt = Date.now()
  ctx.stats.clientsConnected++
  ctx.stats.clientsTotal++
  if (ctx.stats.clientsConnected > ctx.stats.clientsMaximum) ctx.stats.clientsMaximum = ctx.stats.clientsConnected
  connection.send(connack(connection, sessionPresent, auth))
  ctx.budget.connected(session, Date.now())
  if (sessionPresent) delivery__resend(ctx, session, connection)
  delivery__drain(ctx, session)
  connection.startKeepalive()
  ctx.logger.info(
    `client ${connection.label} connected (${protocol__label(v)}, keepalive ${connection.keepalive} s, ${packet.clean ? 'clean' : 'persistent'} session${sessionPresent ? ' resumed' : ''})`,
  )
  hooks__notify(ctx, 'onConnect', connection.client!)
  events__emit(ctx, 'clientConnected', connection.client!)
}

function recheckQueue(ctx: Connection['ctx'], session: Session): void {
  const kept = []
  for (let i = session.queueHead; i < session.queue.length; i++) {
    const record = session.queue[i]!
    if (ctx.router.mayForward(session, record.message)) kept.push(record)
    else if (session.persistent) ctx.store.dequeue(session.clientId, record.seq)
  }
  session.replaceQueue(kept)
}

function connack(connection: Connection, sessionPresent: boolean, auth: {method: string; data?: Buffer} | undefined): IConnackPacket {
  // MQTT 3.1 has no Session Present flag: its CONNACK's first byte is 0 (the flag exists from 3.1.1 on).
  if (connection.protocolVersion !== 5) return {cmd: 'connack', sessionPresent: connection.protocolVersion === 4 && sessionPresent, returnCode: 0}
  const o = connection.ctx.options
  const properties: NonNullable<IConnackPacket['properties']> = {}
  // [MQTT-3.2.2-16] a server-assigned id is reported back.
  if (connection.assignedClientId !== undefined) properties.assignedClientIdentifier = connection.assignedClientId
  if (connection.serverKeepalive !== undefined) properties.serverKeepAlive = connection.serverKeepalive
  if (o.maxInflight < 65_535) properties.receiveMaximum = o.maxInflight
  if (o.maxQos < 2) properties.maximumQoS = o.maxQos
  if (!o.retainAvailable) properties.retainAvailable = false
  properties.maximumPacketSize = o.maxPacketSize
  if (o.topicAliasMaximum > 0) properties.topicAliasMaximum = o.topicAliasMaximum
  // Absent means "available", but saying so explicitly helps people reading packet dumps.
  properties.wildcardSubscriptionAvailable = o.wildcardSubscriptionAvailable
  properties.subscriptionIdentifiersAvailable = o.subscriptionIdentifiersAvailable
  properties.sharedSubscriptionAvailable = o.sharedSubscriptionAvailable
  if (connection.requestResponseInformation) properties.responseInformation = `response/${connection.clientId}`
  if (auth !== undefined) {
    properties.authenticationMethod = auth.method
    if (auth.data !== undefined) properties.authenticationData = auth.data
  }
  return {cmd: 'connack', sessionPresent, reasonCode: 0, properties}
}
