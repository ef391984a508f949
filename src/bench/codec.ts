/**
 * Bench's packet codec. mqtt-packet encodes every packet once (CONNECT, SUBSCRIBE, a PUBLISH template per topic,
 * one template per ack type) and decodes the rare control packets (CONNACK, SUBACK, DISCONNECT…).
 *
 * The hot path is written by hand on purpose: splitting the byte stream into frames and reading a PUBLISH's packet
 * id and payload offset, or an ack's packet id, are a few byte reads, while a general parser allocates an object per
 * packet and tops out near 600k packets/s on this machine, which would make the load generator the bottleneck it
 * is meant to measure around.
 */
import mqttPacket from 'mqtt-packet'
import type {Packet, Parser} from 'mqtt-packet'
import type {BenchTarget, Qos} from './types.js'

export const PUBLISH = 3
export const PUBACK = 4
export const PUBREC = 5
export const PUBREL = 6
export const PUBCOMP = 7

export interface PublishTemplate {
  buf: Buffer
  pidOffset: number
  payloadOffset: number
}

export function codec__connect(target: BenchTarget, clientId: string): Buffer {
  return mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: target.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: target.protocolVersion,
      clientId,
      clean: target.clean,
      keepalive: target.keepalive,
      username: target.username,
      password: target.password === undefined ? undefined : Buffer.from(target.password),
      // A large receive maximum so a v5 broker's flow control is not what limits a subscriber.
      properties: target.protocolVersion === 5 ? {receiveMaximum: 65535} : undefined,
    },
    {protocolVersion: target.protocolVersion},
  )
}

export function codec__subscribe(version: number, messageId: number, filter: string, qos: Qos): Buffer {
  return mqttPacket.generate(
    {cmd: 'subscribe', messageId, subscriptions: [{topic: filter, qos}]},
    {protocolVersion: version as 4},
  )
}

export function codec__disconnect(version: number): Buffer {
  return mqttPacket.generate({cmd: 'disconnect'}, {protocolVersion: version as 4})
}

export function codec__pingreq(): Buffer {
  return mqttPacket.generate({cmd: 'pingreq'})
}

/** A PUBLISH encoded once; the sender copies it and patches the packet id and the payload header. */
export function codec__publishTemplate(
  version: number,
  topic: string,
  qos: Qos,
  retain: boolean,
  payload: Buffer,
): PublishTemplate {
  const buf = mqttPacket.generate(
    {cmd: 'publish', topic, payload, qos, retain, dup: false, messageId: qos > 0 ? 1 : undefined},
    {protocolVersion: version as 4},
  )
  // Fixed header: 1 byte + the remaining length varint.
  let headerLength = 2
  while (buf[headerLength - 1]! & 0x80) headerLength++
  return {buf, pidOffset: headerLength + 2 + Buffer.byteLength(topic), payloadOffset: buf.length - payload.length}
}

/** 4-byte ack (valid in v5 too: reason code 0 and no properties may be omitted, [MQTT-3.4.2-1]). */
export function codec__ack(type: number, messageId: number): Buffer {
  const cmd = (['puback', 'pubrec', 'pubrel', 'pubcomp'] as const)[type - PUBACK]!
  return mqttPacket.generate({cmd, messageId} as Packet)
}

export function codec__parser(version: number): Parser {
  return mqttPacket.parser({protocolVersion: version as 4})
}

/** Offset of a PUBLISH payload inside a frame body (after fixed header), or -1 when malformed. */
export function codec__publishPayloadOffset(buf: Buffer, body: number, end: number, qos: number, v5: boolean): number {
  if (body + 2 > end) return -1
  let off = body + 2 + buf.readUInt16BE(body) + (qos > 0 ? 2 : 0)
  if (v5) {
    let props = 0
    let mul = 1
    let byte: number
    do {
      if (off >= end) return -1
      byte = buf[off++]!
      props += (byte & 0x7f) * mul
      mul *= 128
    } while (byte & 0x80)
    off += props
  }
  return off <= end ? off : -1
}
