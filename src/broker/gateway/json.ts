/**
 * The JSON gateway: a WebSocket client that asks for no subprotocol speaks small JSON messages, and this module
 * translates them into real MQTT 5 packets sent to `broker.handle()` over an in-memory stream pair. The broker
 * cannot tell a gateway client from any other, so authentication, ACLs, routing and limits are exactly the same.
 * mqtt-packet is used here directly: the gateway is an MQTT client of the broker, like the reference clients.
 */
import {randomBytes} from 'node:crypto'
import type {Duplex} from 'node:stream'
import mqttPacket, {type IConnackPacket, type IPublishPacket, type Packet} from 'mqtt-packet'
import type {RawData, WebSocket} from 'ws'
import type {ConnectionHandler, ConnectionMeta} from '../transport/types.js'
import {ws__close} from '../transport/ws-stream.js'
import {type GatewayReply, type GatewayRequest, messages__message, messages__parse} from './messages.js'
import {duplex__pair} from './pair.js'
import {reasons__describe} from './reasons.js'

type Publish = Extract<GatewayRequest, {type: 'publish'}>
type Pending = {kind: 'publish'; request: Publish} | {kind: 'subscribe' | 'unsubscribe'; request: GatewayRequest & {topic: string}}

const KEEPALIVE_S = 60
/** Requests accepted while the broker has not answered CONNECT yet, or waiting for the broker's receive maximum. */
const MAX_WAITING = 1000
/**
 * While this much JSON waits to go out to a slow client, the gateway reads neither from the broker (which then
 * queues or drops for this client as for any slow one) nor from the client (whose requests would make more
 * replies): memory stays bounded and backpressure reaches the client's own socket.
 */
const HIGH_WATER = 1024 * 1024
const LOW_WATER = 256 * 1024
/** A browser tab that vanished without a close frame is found by WebSocket pings. */
const HEARTBEAT_MS = 30_000

export function gateway__attach(ws: WebSocket, meta: ConnectionMeta, onConnection: ConnectionHandler): void {
  new JsonGatewaySession(ws, {...meta, transport: 'json'}, onConnection)
}

class JsonGatewaySession {
  private state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle'
  private mqtt: Duplex | null = null
  private readonly parser = mqttPacket.parser({protocolVersion: 5})
  private clientId = ''
  private readonly early: GatewayRequest[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly waitingPublishes: Publish[] = []
  private inflight = 0
  private receiveMaximum = 65_535
  /** The broker's Maximum Packet Size from CONNACK: a bigger PUBLISH would cost the whole session (0x95). */
  private maximumPacketSize = Number.POSITIVE_INFINITY
  private readonly qos2Received = new Set<number>()
  private lastId = 0
  /** One entry per PINGREQ in flight, in order: the client's ping id, or null for the gateway's own keepalive. */
  private readonly pings: Array<{id?: string | number} | null> = []
  private keepalive: NodeJS.Timeout | undefined
  private readonly heartbeat: NodeJS.Timeout
  private alive = true
  private congested = false

  constructor(
    private readonly ws: WebSocket,
    private readonly meta: ConnectionMeta,
    private readonly onConnection: ConnectionHandler,
  ) {
    this.parser.on('packet', (packet: Packet) => this.fromBroker(packet))
    this.parser.on('error', (error: Error) => this.end(`the broker sent an unreadable packet: ${error.message}`, 1011))
    ws.on('message', (data, isBinary) => this.fromClient(data, isBinary))
    ws.on('close', () => this.clientGone())
    ws.on('error', gateway__ignore) // ws closes the socket itself (1009 too big, 1007 invalid UTF-8)
    ws.on('pong', () => {
      this.alive = true
    })
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS).unref()
  }

  // ---- client → broker

  private fromClient(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return
    if (isBinary) {
      this.reply({type: 'error', message: 'the JSON gateway takes text messages; for MQTT ask for the "mqtt" subprotocol'})
      return
    }
    const parsed = messages__parse(gateway__text(data))
    if (!parsed.ok) {
      this.reply(parsed.id === undefined ? {type: 'error', message: parsed.message} : {type: 'error', id: parsed.id, message: parsed.message})
      return
    }
    const request = parsed.request
    if (request.type === 'connect') {
      if (this.state === 'idle') this.connect(request)
      else this.replyError(request, 'already connected: "connect" must be the first message')
    } else if (this.state === 'connected') {
      this.perform(request)
    } else if (this.early.length >= MAX_WAITING) {
      this.replyError(request, 'too many messages before the broker accepted the connection')
    } else {
      // Without a "connect" message first, the client connects anonymously with a generated client id.
      if (this.state === 'idle') this.connect({type: 'connect'})
      this.early.push(request)
    }
  }

  private connect(request: Extract<GatewayRequest, {type: 'connect'}>): void {
    this.state = 'connecting'
    const [brokerSide, gatewaySide] = duplex__pair()
    this.mqtt = gatewaySide
    gatewaySide.on('data', (chunk: Buffer) => this.parser.parse(chunk))
    gatewaySide.on('close', () => this.end('the broker closed the connection', 1000))
    gatewaySide.on('error', gateway__ignore)
    this.clientId = request.clientId ?? `json-${randomBytes(6).toString('hex')}`
    this.onConnection(brokerSide, this.meta)
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: this.clientId,
      clean: true,
      keepalive: KEEPALIVE_S,
      ...(request.username === undefined ? {} : {username: request.username}),
      ...(request.password === undefined ? {} : {password: Buffer.from(request.password, 'utf8')}),
    })
  }

  private perform(request: Exclude<GatewayRequest, {type: 'connect'}>): void {
    switch (request.type) {
      case 'ping':
        this.pings.push(request.id === undefined ? {} : {id: request.id})
        this.send({cmd: 'pingreq'})
        return
      case 'subscribe': {
        const messageId = this.packetId(request)
        if (messageId === null) return
        this.pending.set(messageId, {kind: 'subscribe', request})
        this.send({cmd: 'subscribe', messageId, subscriptions: [{topic: request.topic, qos: request.qos}]})
        return
      }
      case 'unsubscribe': {
        const messageId = this.packetId(request)
        if (messageId === null) return
        this.pending.set(messageId, {kind: 'unsubscribe', request})
        this.send({cmd: 'unsubscribe', messageId, unsubscriptions: [request.topic]})
        return
      }
      case 'publish':
        this.publish(request)
    }
  }

  private publish(request: Publish): void {
    // The broker's receive maximum bounds unacknowledged QoS 1/2 publishes; exceeding it ends the session (0x93).
    if (request.qos > 0 && this.inflight >= this.receiveMaximum) {
      if (this.waitingPublishes.length >= MAX_WAITING) this.replyError(request, 'too many publishes awaiting acknowledgement')
      else this.waitingPublishes.push(request)
      return
    }
    const messageId = request.qos === 0 ? undefined : this.packetId(request)
    if (messageId === null) return
    const packet: IPublishPacket = {cmd: 'publish', topic: request.topic, payload: request.payload, qos: request.qos, retain: request.retain, dup: false}
    const encoded = mqttPacket.generate(messageId === undefined ? packet : {...packet, messageId}, {protocolVersion: 5})
    if (encoded.length > this.maximumPacketSize) {
      this.replyError(request, `publish to ${request.topic} is ${encoded.length} bytes, over the broker's maximum packet size of ${this.maximumPacketSize}`)
      return
    }
    if (messageId !== undefined) {
      this.inflight++
      this.pending.set(messageId, {kind: 'publish', request})
    }
    this.write(encoded)
  }

  // ---- broker → client

  private fromBroker(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack':
        return this.connack(packet)
      case 'publish': {
        const id = packet.messageId ?? 0
        // [MQTT-4.3.3] QoS 2: deliver once; a retransmission before PUBREL is only acknowledged again.
        if (packet.qos < 2 || !this.qos2Received.has(id)) {
          const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
          this.reply(messages__message(packet.topic, payload, packet.qos, packet.retain))
        }
        if (packet.qos === 1) this.send({cmd: 'puback', messageId: id})
        if (packet.qos === 2) {
          this.qos2Received.add(id)
          this.send({cmd: 'pubrec', messageId: id})
        }
        return
      }
      case 'pubrel':
        this.qos2Received.delete(packet.messageId ?? 0)
        this.send({cmd: 'pubcomp', messageId: packet.messageId})
        return
      case 'puback':
      case 'pubrec':
      case 'pubcomp':
        return this.publishAcknowledged(packet.cmd, packet.messageId ?? 0, packet.reasonCode ?? 0, packet.properties?.reasonString)
      case 'suback':
      case 'unsuback': {
        const code = Number(packet.granted[0] ?? 0)
        return this.subscriptionAcknowledged(packet.messageId ?? 0, code, packet.properties?.reasonString)
      }
      case 'pingresp': {
        const ping = this.pings.shift()
        if (ping !== null && ping !== undefined) this.reply({type: 'pong', ...ping})
        return
      }
      case 'disconnect':
        return this.end(`the broker ended the session: ${reasons__describe(packet.reasonCode ?? 0, packet.properties?.reasonString)}`, 1000)
      default:
        // AUTH (enhanced authentication) needs a back-and-forth the JSON protocol has no words for.
        return this.end(`the gateway cannot handle ${packet.cmd.toUpperCase()} from the broker`, 1011)
    }
  }

  private connack(packet: IConnackPacket): void {
    const code = packet.reasonCode ?? packet.returnCode ?? 0
    if (code !== 0) {
      this.end(`connection refused: ${reasons__describe(code, packet.properties?.reasonString)}`, 1008)
      return
    }
    this.state = 'connected'
    this.receiveMaximum = packet.properties?.receiveMaximum ?? 65_535
    this.maximumPacketSize = packet.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY
    const keepalive = packet.properties?.serverKeepAlive ?? KEEPALIVE_S
    if (keepalive > 0) this.keepalive = setInterval(() => this.keepAlive(), (keepalive * 1000) / 2).unref()
    this.reply({type: 'connected', clientId: packet.properties?.assignedClientIdentifier ?? this.clientId})
    for (const request of this.early.splice(0)) if (request.type !== 'connect') this.perform(request)
  }

  private publishAcknowledged(cmd: 'puback' | 'pubrec' | 'pubcomp', messageId: number, code: number, reason?: string): void {
    const pending = this.pending.get(messageId)
    if (pending?.kind !== 'publish') return
    if (cmd === 'pubrec' && code < 0x80) {
      this.send({cmd: 'pubrel', messageId})
      return
    }
    this.pending.delete(messageId)
    this.inflight--
    const {request} = pending
    if (code >= 0x80) this.replyError(request, `publish to ${request.topic} refused: ${reasons__describe(code, reason)}`)
    else this.reply({type: 'published', ...idOf(request), topic: request.topic})
    const next = this.waitingPublishes.shift()
    if (next !== undefined) this.publish(next)
  }

  private subscriptionAcknowledged(messageId: number, code: number, reason?: string): void {
    const pending = this.pending.get(messageId)
    if (pending === undefined || pending.kind === 'publish') return
    this.pending.delete(messageId)
    const {request} = pending
    if (code >= 0x80) {
      this.replyError(request, `${pending.kind} ${request.topic} refused: ${reasons__describe(code, reason)}`)
    } else if (pending.kind === 'subscribe') {
      this.reply({type: 'subscribed', ...idOf(request), topic: request.topic, qos: Math.min(code, 2) as 0 | 1 | 2})
    } else {
      this.reply({type: 'unsubscribed', ...idOf(request), topic: request.topic})
    }
  }

  // ---- plumbing

  private send(packet: Packet): void {
    this.write(mqttPacket.generate(packet, {protocolVersion: 5}))
  }

  private write(encoded: Buffer): void {
    if (this.mqtt !== null && !this.mqtt.destroyed) this.mqtt.write(encoded)
  }

  private reply(reply: GatewayReply): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.ws.send(JSON.stringify(reply), () => this.drained())
    if (!this.congested && this.ws.bufferedAmount > HIGH_WATER) {
      this.congested = true
      this.mqtt?.pause()
      this.ws.pause()
    }
  }

  private drained(): void {
    if (!this.congested || this.ws.bufferedAmount >= LOW_WATER) return
    this.congested = false
    this.mqtt?.resume()
    this.ws.resume()
  }

  private replyError(request: GatewayRequest, message: string): void {
    this.reply({type: 'error', ...idOf(request), message})
  }

  /** Packet ids 1..65535, skipping those still awaiting an acknowledgement [MQTT-2.2.1-3]. */
  private packetId(request: GatewayRequest): number | null {
    if (this.pending.size >= 65_535) {
      this.replyError(request, 'too many requests awaiting an answer from the broker')
      return null
    }
    do this.lastId = (this.lastId % 65_535) + 1
    while (this.pending.has(this.lastId))
    return this.lastId
  }

  private keepAlive(): void {
    this.pings.push(null)
    this.send({cmd: 'pingreq'})
  }

  private beat(): void {
    if (!this.alive) {
      this.ws.terminate()
      return
    }
    this.alive = false
    this.ws.ping()
  }

  /** The WebSocket closed: a clean MQTT DISCONNECT, so the broker sees an orderly leave. */
  private clientGone(): void {
    if (this.state === 'connected') this.send({cmd: 'disconnect', reasonCode: 0})
    this.state = 'closed'
    this.stopTimers()
    this.mqtt?.end()
  }

  /** The broker's side ended (or refused): tell the client why and close the WebSocket. */
  private end(message: string, code: number): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.stopTimers()
    this.reply({type: 'error', message})
    ws__close(this.ws, code, code === 1008 ? 'refused' : '')
    this.mqtt?.destroy()
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat)
    if (this.keepalive !== undefined) clearInterval(this.keepalive)
  }
}

function idOf(request: GatewayRequest): {id?: string | number} {
  return request.id === undefined ? {} : {id: request.id}
}

function gateway__text(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

function gateway__ignore(): void {}
