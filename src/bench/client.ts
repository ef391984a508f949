/**
 * One raw MQTT connection of the load generator. It frames the incoming stream by hand (see codec.ts for why),
 * acknowledges QoS 1/2 deliveries itself in one buffer per read, and reports to a handler through plain method
 * calls: no promise and no closure per message.
 */
import type {Duplex} from 'node:stream'
import type {Packet, Parser} from 'mqtt-packet'
import {
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  codec__ack,
  codec__connect,
  codec__disconnect,
  codec__parser,
  codec__pingreq,
  codec__publishPayloadOffset,
  codec__subscribe,
} from './codec.js'
import {client__reasonText} from '../client/errors.js'
import {now} from './payload.js'
import {transport__open} from './transport.js'
import type {BenchTarget, Qos} from './types.js'

export interface ClientHandler {
  onConnect(client: BenchClient, latencyMs: number): void
  onConnectFail(client: BenchClient, reason: string): void
  onSubscribed(client: BenchClient, ok: boolean, reason: string): void
  /** A PUBLISH arrived; its payload is buf[offset, end). */
  onPublish(client: BenchClient, buf: Buffer, offset: number, end: number): void
  /** A QoS 1 publish was acknowledged (PUBACK) or a QoS 2 one completed (PUBCOMP, or a failing PUBREC). */
  onAck(client: BenchClient, messageId: number): void
  onWritable(client: BenchClient): void
  onClose(client: BenchClient, reason: string): void
}

const ACKS = new Map<number, Buffer>([PUBACK, PUBREC, PUBREL, PUBCOMP].map((t) => [t, codec__ack(t, 1)]))
const PINGREQ = codec__pingreq()
const ACK_BUFFER = 16 * 1024


export class BenchClient {
  stream: Duplex | null = null
  connected = false
  /** MQTT 5: the broker's Receive Maximum from CONNACK, which caps our QoS 1/2 window [MQTT-3.3.4-7]. */
  receiveMaximum = 65535
  /** Free slot for the owner (publisher or subscriber state). */
  owner: unknown = null
  private pending: Buffer | null = null
  private parser: Parser
  private ackOut: Buffer | null = null
  private ackLen = 0
  private closing = false
  private done = false
  private startedAt = 0
  private timer: NodeJS.Timeout | null = null
  private readonly v5: boolean

  constructor(
    readonly target: BenchTarget,
    readonly clientId: string,
    readonly index: number,
    private readonly handler: ClientHandler,
  ) {
    this.v5 = target.protocolVersion === 5
    this.parser = codec__parser(target.protocolVersion)
    this.parser.on('packet', (packet: Packet) => this.control(packet))
    this.parser.on('error', (err: Error) => this.fail(`malformed packet from broker: ${err.message}`))
  }

  connect(timeoutMs: number): void {
    this.startedAt = now()
    let opened
    try {
      opened = transport__open(this.target)
    } catch (error) {
      this.fail((error as Error).message)
      return
    }
    const stream = opened.stream
    this.stream = stream
    this.timer = setTimeout(() => this.fail('connect timeout'), timeoutMs)
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code ?? err.message))
    stream.on('close', () => this.fail(this.closing ? '' : this.connected ? 'closed by broker' : 'closed before CONNACK'))
    stream.on('drain', () => this.handler.onWritable(this))
    stream.on('data', (chunk: Buffer) => this.data(chunk))
    opened.ready(() => stream.write(codec__connect(this.target, this.clientId)))
  }

  subscribe(filter: string, qos: Qos): void {
    this.stream?.write(codec__subscribe(this.target.protocolVersion, 1, filter, qos))
  }

  write(buf: Buffer): boolean {
    return this.stream!.write(buf)
  }

  get writable(): boolean {
    return this.connected && !this.stream!.writableNeedDrain
  }

  /** Polite close: DISCONNECT, then end the stream. */
  close(): void {
    if (this.done) return
    this.closing = true
    if (this.connected) this.stream!.end(codec__disconnect(this.target.protocolVersion))
    else this.stream?.destroy()
    setTimeout(() => this.stream?.destroy(), 1000).unref()
  }

  private data(chunk: Buffer): void {
    let buf = chunk
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk])
      this.pending = null
    }
    const length = buf.length
    let pos = 0
    while (length - pos >= 2) {
      let remaining = 0
      let mul = 1
      let i = pos + 1
      let byte = 0
      do {
        if (i >= length) break
        byte = buf[i++]!
        remaining += (byte & 0x7f) * mul
        mul *= 128
      } while (byte & 0x80 && mul <= 128 ** 4)
      if (byte & 0x80) break // the length itself is not complete yet
      const end = i + remaining
      if (end > length) break
      this.frame(buf, pos, i, end)
      if (this.done) return
      pos = end
    }
    if (pos < length) this.pending = buf.subarray(pos)
    this.flushAcks()
  }

  private frame(buf: Buffer, start: number, body: number, end: number): void {
    const type = buf[start]! >> 4
    switch (type) {
      case PUBLISH: {
        const qos = (buf[start]! >> 1) & 3
        const offset = codec__publishPayloadOffset(buf, body, end, qos, this.v5)
        if (offset < 0) return this.fail('malformed PUBLISH from broker')
        this.handler.onPublish(this, buf, offset, end)
        if (qos > 0) this.ack(qos === 1 ? PUBACK : PUBREC, buf.readUInt16BE(body + 2 + buf.readUInt16BE(body)))
        return
      }
      case PUBACK:
      case PUBCOMP:
        this.handler.onAck(this, buf.readUInt16BE(body))
        return
      case PUBREC: {
        const id = buf.readUInt16BE(body)
        // v5: a PUBREC reason code >= 0x80 ends the exchange [MQTT-4.3.3-4] (counted as acked, not retried).
        if (this.v5 && end - body > 2 && buf[body + 2]! >= 0x80) this.handler.onAck(this, id)
        else this.ack(PUBREL, id)
        return
      }
      case PUBREL:
        this.ack(PUBCOMP, buf.readUInt16BE(body))
        return
      default:
        this.parser.parse(buf.subarray(start, end))
    }
  }

  private ack(type: number, id: number): void {
    if (this.ackOut && this.ackLen + 4 > this.ackOut.length) this.flushAcks()
    if (!this.ackOut) {
      this.ackOut = Buffer.allocUnsafe(ACK_BUFFER)
      this.ackLen = 0
    }
    ACKS.get(type)!.copy(this.ackOut, this.ackLen)
    this.ackOut.writeUInt16BE(id, this.ackLen + 2)
    this.ackLen += 4
  }

  private flushAcks(): void {
    if (!this.ackOut || this.ackLen === 0) return
    if (!this.done) this.stream!.write(this.ackOut.subarray(0, this.ackLen))
    this.ackOut = null
    this.ackLen = 0
  }

  private control(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack': {
        const code = (packet.reasonCode ?? packet.returnCode ?? 0) as number
        if (code !== 0) return this.fail(`CONNACK ${client__reasonText(code, this.target.protocolVersion)}`)
        if (this.timer) clearTimeout(this.timer)
        this.receiveMaximum = packet.properties?.receiveMaximum ?? 65535
        this.connected = true
        if (this.target.keepalive > 0) {
          this.timer = setInterval(() => this.stream?.write(PINGREQ), this.target.keepalive * 500)
          this.timer.unref()
        } else this.timer = null
        this.handler.onConnect(this, now() - this.startedAt)
        return
      }
      case 'suback': {
        const code = packet.granted[0] as number
        this.handler.onSubscribed(this, code < 0x80, code < 0x80 ? '' : `SUBACK ${client__reasonText(code, 5)}`)
        return
      }
      case 'disconnect': {
        const code = packet.reasonCode ?? 0
        this.fail(`DISCONNECT ${client__reasonText(code, 5)} from broker`)
        return
      }
      default:
    }
  }

  /** Ends the connection once with a reason ('' when we closed it ourselves). */
  private fail(reason: string): void {
    if (this.done) return
    this.done = true
    if (this.timer) clearTimeout(this.timer)
    const wasConnected = this.connected
    this.connected = false
    this.stream?.destroy()
    if (!wasConnected && !this.closing) this.handler.onConnectFail(this, reason)
    else this.handler.onClose(this, this.closing ? '' : reason)
  }
}
