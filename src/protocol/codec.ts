/**
 * The only module that touches mqtt-packet: a parser per connection and an encoder. Everything else in mqttkit
 * speaks in the packet types re-exported here, so the codec could be swapped without touching the broker.
 */
import mqttPacket from 'mqtt-packet'
import type {Packet, Parser} from 'mqtt-packet'
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

/** Numbers are cached by mqtt-packet as pre-built buffers; the broker writes many packet ids, so keep it on. */
mqttPacket.writeToStream.cacheNumbers = true

/** A fresh parser; it learns the protocol version from the CONNECT packet it parses. */
export function protocol__parser(): Parser {
  return mqttPacket.parser()
}

/** The parser's packet in progress (its declared remaining length), to refuse oversized packets before buffering them. */
export function protocol__pendingLength(parser: Parser): number {
  const pending = (parser as unknown as {packet?: {length?: number}}).packet
  return pending?.length ?? -1
}

const v3 = {protocolVersion: 3}
const v4 = {protocolVersion: 4}
const v5 = {protocolVersion: 5}

/** Encodes one packet for a protocol level; throws on a packet mqtt-packet refuses (a bug on our side). */
export function protocol__encode(packet: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, version === 5 ? v5 : version === 4 ? v4 : v3)
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
