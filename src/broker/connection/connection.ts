/**
 * One client connection: the byte stream, its parser, its state, keepalive and flow-control numbers, and the
 * writer. Written by hand because it is the broker's own state machine; mqtt-packet only parses and encodes.
 *
 * States: `awaiting-connect` (only CONNECT is legal, a connect timer runs) -> `authenticating` (CONNECT being
 * checked, or an MQTT 5 AUTH exchange) -> `connected` -> `closed`. Packets are handled strictly one after
 * another: when a handler waits for an async hook, later packets wait in `backlog` so per-topic order holds.
 */
import type {Duplex} from 'node:stream'
import type {BrokerContext} from '../context.js'
import {events__emit} from '../handlers/hook-call.js'
import {connection__dispatch} from '../handlers/index.js'
import type {ClientInfo} from '../hooks.js'
import type {Session} from '../session/session.js'
import type {WillRecord} from '../store/store.js'
import type {ConnectionMeta} from '../transport/index.js'
import {
  type Packet,
  PacketReader,
  type ProtocolVersion,
  protocol__encode,
  protocol__encodeWithin,
  reason__name,
} from '../../protocol/index.js'
import {keepalive__watch} from './keepalive.js'
import {connection__closed} from './lifecycle.js'

export type ConnectionState = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed'

let nextConnectionNumber = 1

/**
 * DISCONNECT reasons that mean the client broke a rule or a limit (malformed or forbidden packets, too large, too
 * fast, not reading): these closes are also a `clientError` event, like a socket error.
 */
const CLIENT_FAULTS = new Set([0x81, 0x82, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x9a, 0x9b])

export class Connection {
  readonly number = nextConnectionNumber++
  state: ConnectionState = 'awaiting-connect'
  protocolVersion: ProtocolVersion = 4
  client: ClientInfo | null = null
  session: Session | null = null
  clientId = ''
  /** MQTT 5: the id the broker chose for an empty client id, reported in CONNACK. */
  assignedClientId: string | undefined = undefined
  /** MQTT 5: the keepalive the broker imposed (Server Keep Alive), when it differs from the client's. */
  serverKeepalive: number | undefined = undefined
  /** Seconds; 0 = no keepalive. */
  keepalive = 0
  lastActivity = Date.now()
  will: WillRecord | null = null
  /** Why the connection ended, for logs, hooks and events. */
  closeReason = ''
  /** True after a DISCONNECT (or a takeover) that must not publish the will. */
  willDiscarded = false

  // MQTT 5 limits the client announced in CONNECT.
  clientReceiveMaximum = 65_535
  clientMaximumPacketSize = 0
  clientTopicAliasMaximum = 0
  requestProblemInformation = true
  requestResponseInformation = false
  /** CONNECT had protocol level | 0x80: another broker's bridge (mosquitto's try_private); see handlers/subscribe.ts. */
  bridgeMode = false
  /** Inbound topic aliases (alias -> topic) [MQTT-3.3.2-12]. */
  aliases: Map<number, string> | null = null
  /** Outbound topic aliases (topic -> alias) the broker chose for this connection. */
  outAliases: Map<string, number> | null = null
  authMethod: string | undefined = undefined

  /** PUBACK/PUBREC waiting for the store's flush (with the session's QoS 2 ids: our side of Receive Maximum). */
  acksWaiting = 0
  /** Paused by the broker's queue budget (limits/queue-budget.ts): not read from, and not timed out for it. */
  throttled = false
  /** When CONNECT was accepted (ms since the epoch; 0 before), and PUBLISH packets each way: the management API's view. */
  connectedAt = 0
  publishIn = 0
  publishOut = 0

  private readonly reader: PacketReader
  /** Packets waiting behind an async handler; made on first use (most connections never need one). */
  private backlog: Packet[] | null = null
  private busy = false
  private corked = false
  private overflowing = false
  private timer: NodeJS.Timeout | null = null

  constructor(
    readonly ctx: BrokerContext,
    readonly stream: Duplex,
    readonly meta: ConnectionMeta,
  ) {
    // Listeners are module-level functions that find the connection on their emitter, not eight closures per
    // connection: ~0.5 KiB less per idle client (docs/benchmarks.md, memory per idle connection).
    // The reader borrows a pooled parser only while a packet is incomplete (protocol/codec.ts).
    this.reader = new PacketReader(this)
    ;(stream as unknown as Owned)[OWNER] = this
    stream.on('data', streamData)
    stream.on('error', streamError)
    stream.on('close', streamClose)
    stream.on('end', streamEnd)
    this.timer = setTimeout(onConnectTimeout, ctx.options.connectTimeout, this)
    this.timer.unref()
  }

  /** `client-id (address)` or just the address before CONNECT, for log lines. */
  get label(): string {
    const peer = `${this.meta.remoteAddress}${this.meta.remotePort === undefined ? '' : `:${this.meta.remotePort}`}`
    return this.clientId ? `${this.clientId} (${peer})` : peer
  }

  /** Encodes and writes a packet for this client's protocol level. */
  send(packet: Packet): void {
    const max = this.clientMaximumPacketSize
    if (max === 0) {
      this.write(protocol__encode(packet, this.protocolVersion))
      return
    }
    // [MQTT-3.1.2-24] nothing over the client's Maximum Packet Size: optional properties go first (protocol/fit.ts);
    // a packet that still does not fit is not sent and the connection closes (a DISCONNECT that does not fit is
    // simply left out of that close).
    const encoded = protocol__encodeWithin(packet, this.protocolVersion, max)
    if (encoded !== null) this.write(encoded)
    else if (packet.cmd !== 'disconnect') {
      this.ctx.logger.warn(`client ${this.label}: ${packet.cmd.toUpperCase()} does not fit in the client's Maximum Packet Size of ${max} bytes, closing [MQTT-3.1.2-24]`)
      this.close(undefined, `${packet.cmd} over the client's maximum packet size`)
    }
  }

  /** Writes bytes; writes of one tick are corked into as few syscalls as the stream allows. */
  write(data: Buffer): void {
    if (this.state === 'closed') return
    if (!this.corked) {
      this.corked = true
      this.stream.cork()
      process.nextTick(uncork, this)
    }
    this.ctx.stats.bytesSent += data.length
    this.ctx.stats.messagesSent++
    this.stream.write(data)
    if (this.stream.writableLength > this.outputHardLimit && !this.overflowing) {
      // Slow-reader policy, last step: a client that lets this much pile up is not reading. Closed on the next
      // turn of the event loop, never in the middle of routing a message to others.
      this.overflowing = true
      setImmediate(closeOverflowing, this)
    }
  }

  /** Unsent bytes past which the client is disconnected (0x97): 4 x maxOutputBuffer, at least 2 packets. */
  private get outputHardLimit(): number {
    const o = this.ctx.options
    return Math.max(4 * o.maxOutputBuffer, 2 * o.maxPacketSize)
  }

  /** Bytes written but not yet taken by the socket: the slow-reader measure. */
  get outputBuffered(): number {
    return this.stream.writableLength
  }

  /**
   * Ends the connection. With a reason code an MQTT 5 client that completed CONNECT first gets a DISCONNECT
   * carrying it (and a reason string when it asked for problem information) [MQTT-4.13.2-1].
   */
  close(reasonCode?: number, reason?: string): void {
    if (this.state === 'closed') return
    this.closeReason ||= reason ?? (reasonCode === undefined ? 'closed by the broker' : reason__name(reasonCode))
    if (reasonCode !== undefined && CLIENT_FAULTS.has(reasonCode)) events__emit(this.ctx, 'clientError', this.client, new Error(this.closeReason))
    if (reasonCode !== undefined && this.protocolVersion === 5 && this.state === 'connected') {
      const properties = reason && this.requestProblemInformation && this.ctx.options.sendReasonStrings ? {reasonString: reason} : undefined
      try {
        this.send({cmd: 'disconnect', reasonCode, properties})
      } catch {
        // An unencodable reason string must not stop the close.
      }
    }
    this.finish()
    // Let corked bytes (the DISCONNECT, a CONNACK refusal) reach the socket before it is torn down.
    if (this.corked) {
      this.corked = false
      this.stream.uncork()
    }
    this.stream.end()
    setTimeout(destroyLater, 1000, this.stream).unref()
  }

  /** Ends the connect timeout and starts keepalive checks: called after CONNECT was accepted. */
  startKeepalive(): void {
    this.clearTimer()
    // [MQTT-3.1.2-24] 1.5 times the keepalive without a packet closes the connection: one sweep for all clients.
    if (this.keepalive > 0) keepalive__watch(this.ctx)
  }

  /** @internal called by the keepalive sweep (keepalive.ts) once 1.5 × keepalive passed since the last packet. */
  checkKeepalive(now: number): void {
    // A connection the broker stopped reading may well have sent its PINGREQ: it is not the client's silence.
    if (this.throttled) this.lastActivity = now
    if (this.state !== 'connected' || now - this.lastActivity < this.keepalive * 1500) return
    this.ctx.logger.info(`client ${this.label} timed out after ${this.keepalive * 1.5} s without a packet`)
    events__emit(this.ctx, 'keepaliveTimeout', this.client)
    this.close(0x8d, 'keepalive timeout')
  }

  clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private finish(): void {
    if (this.state === 'closed') return
    const wasConnected = this.state === 'connected'
    this.state = 'closed'
    this.clearTimer()
    if (this.throttled) this.ctx.budget.forget(this)
    // A client may send DISCONNECT and close at once while an async handler holds its earlier packets back: that
    // DISCONNECT still ends the connection normally, so the will is discarded [MQTT-3.1.2-10].
    for (const queued of this.backlog ?? []) {
      if (queued.cmd === 'disconnect' && (queued.reasonCode ?? 0) === 0) this.willDiscarded = true
    }
    this.backlog = null
    this.reader.stop()
    this.stream.off('data', streamData)
    try {
      connection__closed(this, wasConnected)
    } catch (error) {
      // Reached from socket events too, where a throw would end the process.
      this.ctx.logger.error(`client ${this.label}: cleanup failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    }
  }

  /** @internal */
  onData(chunk: Buffer): void {
    this.lastActivity = Date.now()
    this.ctx.stats.bytesReceived += chunk.length
    try {
      this.reader.read(chunk)
    } catch (error) {
      // The codec should report bad input through 'error', but a throw from it must only cost this connection.
      this.onParseError(error instanceof Error ? error : new Error(String(error)))
      return
    }
    // Refuse a declared remaining length over the limit before buffering the rest of it.
    if (this.state !== 'closed' && this.reader.pendingLength > this.ctx.options.maxPacketSize) {
      this.tooLarge(this.reader.pendingLength)
    }
  }

  private tooLarge(length: number): void {
    this.ctx.logger.warn(`client ${this.label}: packet of ${length} bytes is over the ${this.ctx.options.maxPacketSize}-byte limit, closing`)
    this.close(0x95, 'packet too large')
  }

  /** @internal */
  onPacket(packet: Packet): void {
    if (this.state === 'closed') return
    if ((packet.length ?? 0) > this.ctx.options.maxPacketSize) {
      this.tooLarge(packet.length ?? 0)
      return
    }
    this.ctx.stats.messagesReceived++
    if (this.busy) {
      ;(this.backlog ??= []).push(packet)
      return
    }
    this.run(packet)
  }

  private run(packet: Packet): void {
    let result: void | Promise<void>
    try {
      result = connection__dispatch(this, packet)
    } catch (error) {
      this.internalError(error)
      return
    }
    if (result !== undefined) {
      this.busy = true
      this.stream.pause()
      result.then(
        () => this.resume(),
        (error: unknown) => this.onHandlerError(error),
      )
    }
  }

  private resume(): void {
    this.busy = false
    while (!this.busy && this.backlog !== null && this.backlog.length > 0 && this.state !== 'closed') this.run(this.backlog.shift()!)
    if (!this.busy && !this.throttled && this.state !== 'closed') this.stream.resume()
  }

  /** The queue budget lets the broker read this publisher again. */
  unthrottle(now: number): void {
    this.throttled = false
    this.lastActivity = now
    if (!this.busy && this.state !== 'closed') this.stream.resume()
  }

  private onHandlerError(error: unknown): void {
    this.busy = false
    this.internalError(error)
  }

  private internalError(error: unknown): void {
    this.ctx.logger.error(`client ${this.label}: internal error, closing: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    this.close(0x83, 'implementation specific error')
  }

  /** @internal */
  onParseError(error: Error): void {
    if (this.state === 'closed') return
    this.ctx.logger.warn(`client ${this.label}: malformed packet (${error.message}), closing`)
    if (this.state === 'awaiting-connect' && error.message === 'Invalid protocol version') {
      // [MQTT-3.1.2-2] an unsupported level gets CONNACK 0x01, in 3.1.1 form since we cannot know the client's.
      this.protocolVersion = 4
      this.send({cmd: 'connack', returnCode: 1, sessionPresent: false})
      this.close(undefined, 'unsupported protocol version')
      return
    }
    this.close(0x81, `malformed packet: ${error.message}`)
  }

  /** @internal */
  onStreamError(error: Error): void {
    this.ctx.logger.debug(`client ${this.label}: socket error: ${error.message}`)
    if (this.state !== 'closed') events__emit(this.ctx, 'clientError', this.client, error)
    this.closeReason ||= `socket error: ${error.message}`
    this.finish()
    this.stream.destroy()
  }

  /** @internal */
  onStreamEnd(): void {
    this.closeReason ||= 'connection closed by the client'
    this.finish()
    this.stream.end()
  }

  /** @internal */
  onStreamClose(): void {
    this.closeReason ||= 'connection lost'
    this.finish()
  }
}

const OWNER = Symbol('mqttkit.connection')
interface Owned {
  [OWNER]: Connection
}

function streamData(this: Owned, chunk: Buffer): void {
  this[OWNER].onData(chunk)
}

function streamError(this: Owned, error: Error): void {
  this[OWNER].onStreamError(error)
}

function streamClose(this: Owned): void {
  this[OWNER].onStreamClose()
}

function streamEnd(this: Owned): void {
  this[OWNER].onStreamEnd()
}

function uncork(connection: Connection): void {
  ;(connection as unknown as {corked: boolean}).corked = false
  connection.stream.uncork()
}

function closeOverflowing(connection: Connection): void {
  connection.ctx.logger.warn(`client ${connection.label} does not read its messages (${connection.outputBuffered} bytes waiting), disconnecting`)
  guarded(connection, () => connection.close(0x97, 'quota exceeded: the client does not read its messages'))
}

function onConnectTimeout(connection: Connection): void {
  if (connection.state !== 'awaiting-connect' && connection.state !== 'authenticating') return
  connection.ctx.logger.info(`client ${connection.label}: no CONNECT within ${connection.ctx.options.connectTimeout} ms, closing`)
  guarded(connection, () => connection.close(undefined, 'connect timeout'))
}

/** Timer callbacks run outside any handler: a throw is logged and the connection dropped, the process lives. */
function guarded(connection: Connection, fn: () => void): void {
  try {
    fn()
  } catch (error) {
    connection.ctx.logger.error(`client ${connection.label}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    connection.stream.destroy()
  }
}

function destroyLater(stream: Duplex): void {
  stream.destroy()
}
