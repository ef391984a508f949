/**
 * PacketReader lends pooled mqtt-packet parsers to connections only while a packet is incomplete
 * (src/protocol/codec.ts). What must hold: packets split at any byte come out whole and in order, parsers moving
 * between connections never mix their bytes, and the protocol level learned from CONNECT survives the parser being
 * given back (an MQTT 5 PUBLISH with properties parses as MQTT 5 afterwards).
 */
import mqttPacket from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {type Packet, PacketReader} from '../../src/protocol/index.js'

function sink() {
  const packets: Packet[] = []
  const errors: Error[] = []
  return {packets, errors, onPacket: (p: Packet) => packets.push(p), onParseError: (e: Error) => errors.push(e)}
}

const v5 = {protocolVersion: 5} as const
const connect5 = mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'r5', clean: true, keepalive: 30} as Packet, v5)
const publish5 = (n: number) =>
  mqttPacket.generate(
    {cmd: 'publish', topic: `t/${n}`, payload: Buffer.from(`payload ${n}`), qos: 1, messageId: n, dup: false, retain: false, properties: {contentType: 'text/plain', userProperties: {n: String(n)}}} as Packet,
    v5,
  )
const connect4 = mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'r4', clean: true, keepalive: 30} as Packet)
const publish4 = (n: number) => mqttPacket.generate({cmd: 'publish', topic: `q/${n}`, payload: Buffer.from(`p${n}`), qos: 0, dup: false, retain: false} as Packet)

describe('PacketReader (pooled parsers)', () => {
  it('two connections split at every byte, interleaved, each get their own packets whole and in order', () => {
    const a = sink()
    const b = sink()
    const ra = new PacketReader(a)
    const rb = new PacketReader(b)
    const streamA = Buffer.concat([connect5, publish5(1), publish5(2), mqttPacket.generate({cmd: 'pingreq'} as Packet, v5)])
    const streamB = Buffer.concat([connect4, publish4(1), publish4(2)])
    // Chunk sizes 1, 2, 3, 1, 2, 3…: boundaries fall inside every field; whole packets at the boundaries release parsers.
    let ia = 0
    let ib = 0
    for (let step = 0; ia < streamA.length || ib < streamB.length; step++) {
      const size = (step % 3) + 1
      if (ia < streamA.length) ra.read(streamA.subarray(ia, (ia += size)))
      if (ib < streamB.length) rb.read(streamB.subarray(ib, (ib += size + 1)))
    }
    expect(a.errors).toEqual([])
    expect(b.errors).toEqual([])
    expect(a.packets.map((p) => p.cmd)).toEqual(['connect', 'publish', 'publish', 'pingreq'])
    expect(b.packets.map((p) => p.cmd)).toEqual(['connect', 'publish', 'publish'])
    const [, p1, p2] = a.packets as [Packet, mqttPacket.IPublishPacket, mqttPacket.IPublishPacket]
    expect([p1.topic, p1.payload.toString(), p1.properties?.contentType, p1.properties?.userProperties]).toEqual(['t/1', 'payload 1', 'text/plain', {n: '1'}])
    expect([p2.topic, p2.payload.toString(), p2.properties?.userProperties]).toEqual(['t/2', 'payload 2', {n: '2'}])
    expect((b.packets[2] as mqttPacket.IPublishPacket).topic).toBe('q/2')
  })

  it('keeps the MQTT 5 level learned from CONNECT after its parser went back to the pool', () => {
    const s = sink()
    const reader = new PacketReader(s)
    reader.read(connect5) // a whole packet: the parser is released
    expect(reader.pendingLength).toBe(-1)
    // Another connection (3.1.1) takes the pooled parser in between.
    const other = sink()
    new PacketReader(other).read(Buffer.concat([connect4, publish4(7)]))
    reader.read(publish5(3))
    const publish = s.packets[1] as mqttPacket.IPublishPacket
    expect([publish.topic, publish.payload.toString(), publish.properties?.contentType]).toEqual(['t/3', 'payload 3', 'text/plain'])
    expect((other.packets[1] as mqttPacket.IPublishPacket).payload.toString()).toBe('p7')
  })

  it('reports the declared length of a packet in progress, and -1 at a packet boundary', () => {
    const reader = new PacketReader(sink())
    const big = publish4(1)
    reader.read(big.subarray(0, 3))
    expect(reader.pendingLength).toBe(big.length - 2)
    reader.read(big.subarray(3))
    expect(reader.pendingLength).toBe(-1)
  })

  it('hands nothing more to a stopped sink, also for the rest of the chunk being parsed', () => {
    const got: string[] = []
    const reader: PacketReader = new PacketReader({
      onPacket: (p) => {
        got.push(p.cmd)
        reader.stop()
      },
      onParseError: () => got.push('error'),
    })
    reader.read(Buffer.concat([connect4, publish4(1), publish4(2)]))
    reader.read(publish4(3))
    expect(got).toEqual(['connect'])
  })

  it('reports malformed input once and does not reuse that parser', () => {
    const bad = sink()
    const reader = new PacketReader(bad)
    reader.read(Buffer.from([0x10, 0x02, 0x00, 0x04])) // CONNECT too short for its protocol name
    expect(bad.errors.length).toBe(1)
    // A fresh connection afterwards parses normally.
    const good = sink()
    new PacketReader(good).read(Buffer.concat([connect4, publish4(5)]))
    expect(good.packets.map((p) => p.cmd)).toEqual(['connect', 'publish'])
    expect(good.errors).toEqual([])
  })
})
