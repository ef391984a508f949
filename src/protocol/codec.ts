/**
 * The only module that touches mqtt-packet: a parser per connection and an encoder. Everything else in mqttkit
 * speaks in the packet types re-exported here, so the codec could be swapped without touching the broker.
 */
import './quiet-debug.js' // before mqtt-packet loads: see that module
import './strict.js' // the parser checks mqtt-packet leaves out
import {createRequire} from 'node:module'
import mqttPacket from 'mqtt-packet'
import type {IPublishPacket, Packet, Parser} from 'mqtt-packet'
import type {ProtocolVersion} from './versions.js'

export type {
  IAuthPacket,
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPacket,
  IPingreqPacket,
  IPubackPacket,
  IPubcompPacket,
  IPublishPacket,
  IPubrecPacket,
  IPubrelPacket,
  ISubackPacket,
  ISubscribePacket,
  ISubscription,
  IUnsubackPacket,
  IUnsubscribePacket,
  Packet,
  Parser,
  QoS,
  UserProperties,
} from 'mqtt-packet'

/**
 * mqtt-packet can pre-build a 2-byte buffer for each of the 65,536 numbers (~8 MB, 65,536 objects every full GC
 * marks). The broker's hot packets (PUBLISH without properties, acks) are encoded here without mqtt-packet, so
 * the rest writes its few numbers without the cache.
 */
mqttPacket.writeToStream.cacheNumbers = false

/**
 * mqtt-packet buffers input in a `bl` BufferListStream (a full Duplex stream with both stream states) although it
 * only uses the list methods: the plain BufferList underneath does the same for ~0.7 KiB less per parser (measured
 * with heap snapshots of 5,000 idle connections, docs/benchmarks.md). After a parse error mqtt-packet makes itself
 * a new one; such a parser is never reused (see PacketReader).
 */
const BufferList = (() => {
  // mqtt-packet's own `bl` (not a dependency of ours): resolved from mqtt-packet's location.
  const require = createRequire(import.meta.url)
  const fromPacket = createRequire(require.resolve('mqtt-packet/package.json'))
  return (fromPacket('bl') as {BufferList: new () => unknown}).BufferList
})()

interface LeanParser {
  _list: unknown
  _states: readonly string[]
  settings: ParserSettings
  _parseConnect(): unknown
}

type ParserSettings = {readonly protocolVersion?: number; readonly bridgeMode?: boolean; readonly cmd?: string}

const STATES = Object.freeze(['_parseHeader', '_parseLength', '_parsePayload', '_newPacket'])

/** What a PacketReader hands its packets and parse errors to (a connection). */
export interface PacketSink {
  onPacket(packet: Packet): void
  onParseError(error: Error): void
}

const SINK = Symbol('mqttkit.packetSink')

interface PooledParser extends LeanParser {
  [SINK]: PacketSink | null
  packet: {length: number}
  error: Error | null
  _stateCounter: number
  _list: {length: number}
  parse(chunk: Buffer): number
  on(event: string, listener: (...args: never[]) => void): unknown
}

/** Parsers between uses; bounded so a burst of many mid-packet connections does not leave thousands behind. */
const POOL: PooledParser[] = []
const POOL_MAX = 64
/** mqtt-packet's settings before CONNECT (it reads `protocolVersion`/`bridgeMode` from them, never writes them). */
const NO_SETTINGS: ParserSettings = Object.freeze({})

function pooledParser(): PooledParser {
  const parser = POOL.pop()
  if (parser !== undefined) return parser
  const made = mqttPacket.parser() as unknown as PooledParser
  made._list = new BufferList() as PooledParser['_list']
  // The state names never change: one array for every parser instead of one each.
  made._states = STATES
  made[SINK] = null
  made.on('packet', parserPacket)
  made.on('error', parserError)
  return made
}

function parserPacket(this: PooledParser, packet: Packet): void {
  this[SINK]?.onPacket(packet)
}

function parserError(this: PooledParser, error: Error): void {
  this[SINK]?.onParseError(error)
}

/**
 * A connection's packet reader. An mqtt-packet parser (an EventEmitter with its listener table, a packet in
 * progress and a buffer list: ~0.6 KiB) is only needed while the bytes of an unfinished packet are buffered.
 * Between chunks that end on a packet boundary, which is nearly always the case and always for an idle client, the
 * reader holds none and gives its parser back to a shared pool; it keeps only what the parser learned from CONNECT
 * (a shared settings object). Written by hand because mqtt-packet has one parser per stream and no way to lend one.
 */
export class PacketReader {
  private parser: PooledParser | null = null
  private settings: ParserSettings = NO_SETTINGS
  private reading = false

  constructor(private sink: PacketSink | null) {}

  /** Parses a chunk; packets and errors go to the sink synchronously. */
  read(chunk: Buffer): void {
    let parser = this.parser
    if (parser === null) {
      parser = pooledParser()
      parser.settings = this.settings
      parser[SINK] = this.sink
      this.parser = parser
    }
    if (this.reading) {
      // A sink that makes its own stream emit more data while handling a packet: same parser, released by the outer read.
      parser.parse(chunk)
      return
    }
    this.reading = true
    try {
      parser.parse(chunk)
    } finally {
      this.reading = false
    }
    if (this.parser === parser && parser.error === null && parser._stateCounter === 0 && parser._list.length === 0 && parser.packet.length === -1) {
      this.settings = parser.settings
      this.parser = null
      parser[SINK] = null
      if (POOL.length < POOL_MAX) POOL.push(parser)
    }
  }

  /** The declared remaining length of the packet in progress (-1: none), to refuse oversized packets before buffering them. */
  get pendingLength(): number {
    return this.parser === null ? -1 : this.parser.packet.length
  }

  /** No more packets to the sink (the connection closed); a parser in use is dropped, not pooled. */
  stop(): void {
    this.sink = null
    if (this.parser !== null) this.parser[SINK] = null
    this.parser = null
  }
}

/**
 * After CONNECT, mqtt-packet keeps the whole parsed CONNECT packet as its settings for the connection's lifetime
 * (client id, protocol name, will, credentials), although it only reads the protocol version and bridge flag from
 * it: a shared object per (version, bridge) replaces it (and is what a PacketReader keeps between parsers).
 */
const SETTINGS = new Map<string, ParserSettings>()
{
  const proto = Object.getPrototypeOf(mqttPacket.parser()) as LeanParser
  const parseConnect = proto._parseConnect
  proto._parseConnect = function (this: LeanParser) {
    const result = parseConnect.call(this)
    const s = this.settings
    if (s !== undefined && s !== null && s.cmd === 'connect') {
      const key = `${s.protocolVersion}/${s.bridgeMode === true}`
      let shared = SETTINGS.get(key)
      if (shared === undefined) {
        shared = Object.freeze({protocolVersion: s.protocolVersion, bridgeMode: s.bridgeMode === true})
        SETTINGS.set(key, shared)
      }
      this.settings = shared
    }
    return result
  }
}

/**
 * [MQTT-3.3.2-18] user properties must be forwarded in their order. mqtt-packet gathers them into an object keyed
 * by name, which loses the order when a name repeats with other names in between (`a=1, b=2, a=3`). The parser is
 * wrapped to remember the received order in such cases (under this symbol, on the userProperties object), and the
 * encoder writes them back in that order. Objects without it (the usual case) take mqtt-packet's own path.
 */
export const USER_PROPERTY_ORDER: unique symbol = Symbol('mqttkit.userPropertyOrder')

type Pair = [name: string, value: string]
interface PatchedParser {
  _userPairs: Pair[] | null
  _parseProperties(): Record<string, unknown> | false
  _parseStringPair(): {name: string; value: string} | null
  _emitError(error: Error): void
}

{
  const proto = Object.getPrototypeOf(mqttPacket.parser()) as PatchedParser
  const parseProperties = proto._parseProperties
  const parseStringPair = proto._parseStringPair
  proto._parseStringPair = function (this: PatchedParser) {
    const pair = parseStringPair.call(this)
    if (pair) (this._userPairs ??= []).push([pair.name, pair.value])
    return pair
  }
  proto._parseProperties = function (this: PatchedParser) {
    this._userPairs = null
    const result = parseProperties.call(this)
    const pairs = this._userPairs
    this._userPairs = null
    // mqtt-packet hands a string or binary property that runs past the packet over as null instead of failing:
    // such a packet is malformed (§1.5.4, §4.13), and forwarding it would fail later for every subscriber.
    if (result && hasTruncatedValue(result)) {
      this._emitError(new Error('Malformed property: a value runs past the end of the packet'))
      return false
    }
    const user = result ? (result.userProperties as object | undefined) : undefined
    if (user !== undefined && pairs !== null && interleaved(pairs)) Object.defineProperty(user, USER_PROPERTY_ORDER, {value: pairs})
    return result
  }
}

function hasTruncatedValue(properties: Record<string, unknown>): boolean {
  for (const name in properties) {
    const value = properties[name]
    if (value === null || (Array.isArray(value) && value.includes(null))) return true
  }
  return false
}

/** True when some name comes back after another name: grouping by name would then reorder them. */
function interleaved(pairs: Pair[]): boolean {
  const done = new Set<string>()
  for (let i = 0; i < pairs.length; i++) {
    const name = pairs[i]![0]
    if (i > 0 && pairs[i - 1]![0] !== name) {
      done.add(pairs[i - 1]![0])
      if (done.has(name)) return true
    }
  }
  return false
}

function varint(n: number): Buffer {
  const bytes: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    bytes.push(b)
  } while (n > 0)
  return Buffer.from(bytes)
}

function readVarint(buf: Buffer, pos: number): [value: number, next: number] {
  let value = 0
  let mul = 1
  for (;;) {
    const b = buf[pos++]!
    value += (b & 0x7f) * mul
    mul *= 128
    if ((b & 0x80) === 0) return [value, pos]
  }
}

/** An MQTT 5 PUBLISH whose user properties are written in `pairs` order (appended after the other properties). */
function encodePublishOrdered(packet: IPublishPacket, pairs: Pair[]): Buffer {
  const {userProperties: _grouped, ...rest} = packet.properties!
  const base = mqttPacket.generate({...packet, properties: rest}, {protocolVersion: 5})
  const [, bodyStart] = readVarint(base, 1)
  let at = bodyStart + 2 + base.readUInt16BE(bodyStart)
  if (packet.qos > 0) at += 2
  const [propLength, propStart] = readVarint(base, at)
  const propEnd = propStart + propLength
  const user = Buffer.concat(
    pairs.map(([name, value]) => {
      const n = Buffer.from(name)
      const v = Buffer.from(value)
      const b = Buffer.allocUnsafe(5 + n.length + v.length)
      b[0] = 0x26
      b.writeUInt16BE(n.length, 1)
      n.copy(b, 3)
      b.writeUInt16BE(v.length, 3 + n.length)
      v.copy(b, 5 + n.length)
      return b
    }),
  )
  const body = Buffer.concat([base.subarray(bodyStart, at), varint(propLength + user.length), base.subarray(propStart, propEnd), user, base.subarray(propEnd)])
  return Buffer.concat([base.subarray(0, 1), varint(body.length), body])
}

const v3 = {protocolVersion: 3}
const v4 = {protocolVersion: 4}
const v5 = {protocolVersion: 5}

/** Encodes one packet for a protocol level; throws on a packet mqtt-packet refuses (a bug on our side). */
export function protocol__encode(packet: Packet, version: ProtocolVersion): Buffer {
  if (packet.cmd === 'publish') {
    if (version !== 5 || packet.properties === undefined) return encodePublishPlain(packet, version)
    const order = (packet.properties.userProperties as {[USER_PROPERTY_ORDER]?: Pair[]} | undefined)?.[USER_PROPERTY_ORDER]
    if (order !== undefined) return encodePublishOrdered(packet, order)
  }
  return mqttPacket.generate(packet, version === 5 ? v5 : version === 4 ? v4 : v3)
}

/**
 * A PUBLISH without properties (every 3.1/3.1.1 one, and MQTT 5 ones with none), written straight into one buffer:
 * the broker encodes one per routed message, and mqtt-packet's generic writer (an emitter, a chunk list and a
 * concat per packet) cost more than the rest of routing a small message (measured, docs/benchmarks.md). Same bytes
 * as mqtt-packet's for these packets (checked by the broker tests against real clients).
 */
const EMPTY = Buffer.alloc(0)

function encodePublishPlain(packet: IPublishPacket, version: ProtocolVersion): Buffer {
  const qos = packet.qos
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error('Invalid QoS')
  const id = packet.messageId
  if (qos > 0 && (typeof id !== 'number' || id < 1 || id > 65_535)) throw new Error('Invalid messageId')
  const topic = packet.topic
  const payload = packet.payload ?? EMPTY
  const topicLength = Buffer.byteLength(topic)
  const payloadLength = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
  const length = 2 + topicLength + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payloadLength
  if (topicLength > 65_535 || length > 268_435_455) throw new Error('Invalid PUBLISH size')
  let header = 2
  for (let n = length; n >= 128; n = Math.floor(n / 128)) header++
  const out = Buffer.allocUnsafe(header + length)
  out[0] = 0x30 | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 0x01 : 0)
  let pos = 1
  let n = length
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out[pos++] = b
  } while (n > 0)
  out.writeUInt16BE(topicLength, pos)
  pos += 2
  pos += out.write(topic, pos, topicLength, 'utf8')
  if (qos > 0) pos = out.writeUInt16BE(id!, pos)
  if (version === 5) out[pos++] = 0 // property length: none
  if (typeof payload === 'string') out.write(payload, pos, payloadLength, 'utf8')
  else payload.copy(out, pos)
  return out
}

/**
 * Offset of the packet identifier inside an encoded QoS 1/2 PUBLISH: the broker encodes a message once and
 * writes each subscriber's packet id into a copy, instead of encoding once per subscriber.
 */
export function protocol__publishIdOffset(encoded: Buffer): number {
  let pos = 1
  while ((encoded[pos]! & 0x80) !== 0) pos++
  pos++
  const topicLength = encoded.readUInt16BE(pos)
  return pos + 2 + topicLength
}

/** A copy of an encoded QoS 1/2 PUBLISH with its packet id and DUP flag set. */
export function protocol__withPacketId(encoded: Buffer, offset: number, packetId: number, dup: boolean): Buffer {
  const out = Buffer.allocUnsafe(encoded.length)
  encoded.copy(out)
  out.writeUInt16BE(packetId, offset)
  if (dup) out[0] = out[0]! | 0x08
  return out
}

const ACK_TYPES = {puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70} as const

/**
 * A successful PUBACK/PUBREC/PUBREL/PUBCOMP in its 4-byte form, the same for every protocol level: MQTT 5 lets
 * reason code 0 and empty properties be left out [MQTT-3.4.2-1], and some clients (paho-mqtt 1.6) only read
 * that form. Built directly: it is on the QoS 1/2 hot path.
 */
export function protocol__ack(cmd: keyof typeof ACK_TYPES, packetId: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out[0] = ACK_TYPES[cmd]
  out[1] = 2
  out.writeUInt16BE(packetId, 2)
  return out
}
