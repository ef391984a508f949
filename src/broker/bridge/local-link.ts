/**
 * A bridge's end on this broker: an MQTT 5 client of the broker over an in-memory stream pair, handed to the
 * public `broker.handle()` with transport `bridge`. Its persistent session is where messages for the remote wait
 * while the remote is away (kept in the broker's store, bounded by `ConnectionMeta.maxQueued`, in order, resent
 * after a restart); its subscriptions use No Local, so what the bridge publishes here never comes back to it.
 *
 * mqtt-packet is used directly, as in the JSON gateway: this is a client of the broker, and unlike mqtt.js it lets
 * the bridge acknowledge each message only once the remote has it, many messages at a time (mqtt.js handles one
 * incoming message at a time until it is acknowledged).
 */
import type {Duplex} from 'node:stream'
import mqttPacket, {type IPublishPacket, type ISubscription, type Packet} from 'mqtt-packet'
import {duplex__pair} from '../gateway/pair.js'
import type {ConnectionMeta} from '../transport/types.js'

/** The part of the Broker a link needs. */
export interface LinkBroker {
  handle(stream: Duplex, meta: ConnectionMeta): void
}

export interface LocalLinkEvents {
  /** A message the broker delivered; answer with `ack(packet)` once it is safe elsewhere. */
  message(packet: IPublishPacket): void
  /** The link went away without `close()` (the broker stopped, or took the session over). */
  closed(reason: string): void
}

/** Messages the broker may have in flight to the bridge at once (our Receive Maximum). */
export const LINK_WINDOW = 100

/**
 * Whether a packet fits `max` bytes. Encoded only when it might not: a PUBLISH is at most a few bytes of header plus
 * its topic, payload and properties.
 */
export function packet__fits(packet: Packet, version: 4 | 5, max: number): boolean {
  if (max === Number.POSITIVE_INFINITY) return true
  const p = packet as IPublishPacket
  const rough = (p.payload?.length ?? 0) + Buffer.byteLength(p.topic ?? '') + 16
  if (p.properties === undefined && rough <= max) return true
  if (rough > max) return false
  return mqttPacket.generate(packet, {protocolVersion: version}).length <= max
}

type Waiter = {resolve: () => void; reject: (error: Error) => void}

export class LocalLink {
  private stream: Duplex | null = null
  private lastId = 0
  private readonly waiting = new Map<number, Waiter & {kind: 'suback' | 'unsuback' | 'puback' | 'pubcomp'}>()
  private connack: Waiter | null = null
  /** The broker's Receive Maximum: QoS 1/2 publishes beyond it wait here. */
  private brokerWindow = 65_535
  private outstanding = 0
  /** The broker's Maximum Packet Size: a bigger PUBLISH would cost the link its connection (0x95). */
  private brokerMaxPacket = Number.POSITIVE_INFINITY
  private readonly held: Array<{go: () => void; reject: (error: Error) => void}> = []
  private pinger: NodeJS.Timeout | undefined
  private closing = false

  constructor(
    private readonly broker: LinkBroker,
    readonly clientId: string,
    private readonly maxQueued: number,
    private readonly events: LocalLinkEvents,
  ) {}

  get connected(): boolean {
    return this.stream !== null && this.connack === null
  }

  /** CONNECT (persistent session, clean start false) and wait for CONNACK. */
  async connect(): Promise<{sessionPresent: boolean}> {
    const [brokerSide, linkSide] = duplex__pair()
    this.stream = linkSide
    this.closing = false
    // A parser per connection: one left mid-packet by the last connection must not read this one's bytes.
    const parser = mqttPacket.parser({protocolVersion: 5})
    parser.on('packet', (packet: Packet) => this.onPacket(packet))
    parser.on('error', (error: Error) => this.fail(`unreadable packet from the broker: ${error.message}`))
    linkSide.on('data', (chunk: Buffer) => parser.parse(chunk))
    linkSide.on('close', () => this.fail('the broker closed the bridge connection'))
    linkSide.on('error', () => {})
    this.broker.handle(brokerSide, {transport: 'bridge', remoteAddress: `bridge:${this.clientId}`, maxQueued: this.maxQueued})
    let sessionPresent = false
    await new Promise<void>((resolve, reject) => {
      this.connack = {resolve, reject}
      this.onConnack = (present: boolean) => (sessionPresent = present)
      this.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 5,
        clientId: this.clientId,
        clean: false,
        keepalive: 0,
        properties: {sessionExpiryInterval: 0xffff_ffff, receiveMaximum: LINK_WINDOW},
      })
    })
    return {sessionPresent}
  }

  private onConnack: (sessionPresent: boolean) => void = () => {}

  /** SUBSCRIBE with No Local and Retain As Published; retained messages only for a new subscription (Retain Handling 1). */
  subscribe(filters: Array<{topic: string; qos: 0 | 1 | 2}>): Promise<void> {
    if (filters.length === 0) return Promise.resolve()
    const subscriptions: ISubscription[] = filters.map((f) => ({topic: f.topic, qos: f.qos, nl: true, rap: true, rh: 1}))
    return this.request('suback', (messageId) => ({cmd: 'subscribe', messageId, subscriptions}))
  }

  unsubscribe(filters: string[]): Promise<void> {
    if (filters.length === 0) return Promise.resolve()
    return this.request('unsuback', (messageId) => ({cmd: 'unsubscribe', messageId, unsubscriptions: filters}))
  }

  /** Publishes here; resolves when the broker has accepted it (PUBACK, or PUBCOMP for QoS 2). */
  publish(message: {topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; properties?: IPublishPacket['properties']}): Promise<void> {
    if (!this.connected) return Promise.reject(new Error('bridge link to the broker is not connected'))
    const {topic, payload, qos, retain, properties} = message
    if (!packet__fits({cmd: 'publish', topic, payload, qos, retain, dup: false, messageId: 1, properties}, 5, this.brokerMaxPacket)) {
      return Promise.reject(new Error(`larger than the broker's maximum packet size (${this.brokerMaxPacket} bytes)`))
    }
    if (qos === 0) {
      this.send({cmd: 'publish', topic, payload, qos, retain, dup: false, properties})
      return Promise.resolve()
    }
    const go = (): Promise<void> => {
      this.outstanding++
      return this.request(qos === 1 ? 'puback' : 'pubcomp', (messageId) => ({cmd: 'publish', topic, payload, qos, retain, dup: false, messageId, properties})).finally(() => {
        this.outstanding--
        this.held.shift()?.go()
      })
    }
    if (this.outstanding < this.brokerWindow) return go()
    return new Promise<void>((resolve, reject) => this.held.push({go: () => void go().then(resolve, reject), reject}))
  }

  /** Acknowledges a delivered message: PUBACK, or PUBREC (the broker's PUBREL is answered when it comes). */
  ack(packet: IPublishPacket): void {
    if (packet.qos === 0 || packet.messageId === undefined || this.stream === null) return
    this.send({cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packet.messageId})
  }

  /** DISCONNECT; `forget` ends the session too (the bridge was removed), otherwise its queue waits for the next start. */
  close(forget = false): void {
    if (this.stream === null) return
    this.closing = true
    this.send({cmd: 'disconnect', reasonCode: 0, properties: forget ? {sessionExpiryInterval: 0} : undefined})
    this.teardown(new Error('bridge link closed'))
  }

  private request(kind: 'suback' | 'unsuback' | 'puback' | 'pubcomp', packet: (messageId: number) => Packet): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const messageId = this.nextId()
      this.waiting.set(messageId, {kind, resolve, reject})
      this.send(packet(messageId))
    })
  }

  private nextId(): number {
    for (let i = 0; i < 65_535; i++) {
      this.lastId = (this.lastId % 65_535) + 1
      if (!this.waiting.has(this.lastId)) return this.lastId
    }
    throw new Error('no free packet id')
  }

  private send(packet: Packet): void {
    this.stream?.write(mqttPacket.generate(packet, {protocolVersion: 5}))
  }

  private onPacket(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack': {
        const waiter = this.connack
        this.connack = null
        if (packet.reasonCode !== undefined && packet.reasonCode !== 0) {
          waiter?.reject(new Error(`the broker refused the bridge connection (reason code 0x${packet.reasonCode.toString(16)})`))
          this.teardown(new Error('refused'))
          return
        }
        this.brokerWindow = packet.properties?.receiveMaximum ?? 65_535
        this.brokerMaxPacket = packet.properties?.maximumPacketSize ?? Number.POSITIVE_INFINITY
        const keepalive = packet.properties?.serverKeepAlive
        if (keepalive !== undefined && keepalive > 0) {
          this.pinger = setInterval(() => this.send({cmd: 'pingreq'}), Math.max(1000, keepalive * 500)).unref()
        }
        this.onConnack(packet.sessionPresent)
        waiter?.resolve()
        return
      }
      case 'publish':
        this.events.message(packet)
        return
      case 'pubrel':
        this.send({cmd: 'pubcomp', messageId: packet.messageId})
        return
      case 'pubrec':
        if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80) this.settle(packet.messageId!, `refused (reason code 0x${packet.reasonCode.toString(16)})`)
        else this.send({cmd: 'pubrel', messageId: packet.messageId})
        return
      case 'puback':
      case 'pubcomp':
      case 'suback':
      case 'unsuback': {
        const codes = packet.cmd === 'suback' ? packet.granted : 'reasonCode' in packet && packet.reasonCode !== undefined ? [packet.reasonCode] : []
        const bad = (codes as Array<number | object>).find((c) => typeof c === 'number' && c >= 0x80)
        this.settle(packet.messageId!, bad === undefined ? undefined : `refused (reason code 0x${(bad as number).toString(16)})`)
        return
      }
      case 'disconnect':
        this.fail(`the broker disconnected the bridge (reason code 0x${(packet.reasonCode ?? 0).toString(16)})`)
        return
      default:
    }
  }

  private settle(messageId: number, error: string | undefined): void {
    const waiter = this.waiting.get(messageId)
    if (waiter === undefined) return
    this.waiting.delete(messageId)
    if (error === undefined) waiter.resolve()
    else waiter.reject(new Error(error))
  }

  private fail(reason: string): void {
    if (this.stream === null) return
    const wasClosing = this.closing
    this.teardown(new Error(reason))
    if (!wasClosing) this.events.closed(reason)
  }

  private teardown(error: Error): void {
    const stream = this.stream
    this.stream = null
    clearInterval(this.pinger)
    this.connack?.reject(error)
    this.connack = null
    for (const waiter of this.waiting.values()) waiter.reject(error)
    this.waiting.clear()
    for (const h of this.held.splice(0)) h.reject(error)
    this.outstanding = 0
    stream?.end()
    stream?.destroy()
  }
}
