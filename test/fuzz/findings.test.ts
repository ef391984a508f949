/**
 * Packets the fuzz run found mishandled, minimized to one case each, so they stay fixed. Each connects with a
 * valid CONNECT, sends the case, and checks the broker's answer and that nothing reached its error log.
 */
import net from 'node:net'
import mqttPacket, {type Packet} from 'mqtt-packet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Broker} from '../../src/broker/broker.js'

let broker: Broker
let port: number
const errors: string[] = []

beforeAll(async () => {
  broker = new Broker({
    listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}],
    logger: {error: (m) => errors.push(m), warn: () => {}, info: () => {}, debug: () => {}},
  })
  await broker.listen()
  port = broker.listeners[0]!.address.port
})
afterAll(async () => {
  await broker?.close()
})

/** Sends CONNECT then `bytes`; resolves with the packets the broker sent before closing (or after 3 s). */
function exchange(version: 4 | 5, bytes: Buffer): Promise<{packets: Packet[]; closed: boolean}> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const parser = mqttPacket.parser({protocolVersion: version})
    const packets: Packet[] = []
    parser.on('packet', (packet) => packets.push(packet))
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', () => {})
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({packets, closed: false})
    }, 3000)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({packets, closed: true})
    })
    socket.write(mqttPacket.generate({cmd: 'connect', clientId: `finding-${version}-${Math.random()}`, protocolVersion: version}, {protocolVersion: version}))
    socket.write(bytes)
  })
}

describe('fuzz findings', () => {
  it.each([4, 5] as const)('SUBSCRIBE without a topic filter is a protocol error, closed without an internal error [MQTT-3.8.3-3] (v%i)', async (version) => {
    errors.length = 0
    const {packets, closed} = await exchange(version, version === 5 ? Buffer.from([0x82, 0x03, 0x00, 0x0b, 0x00]) : Buffer.from([0x82, 0x02, 0x00, 0x0b]))
    expect(closed).toBe(true)
    expect(packets.map((p) => p.cmd)).not.toContain('suback')
    // §4.13: a malformed packet or protocol error closes with DISCONNECT 0x81 or 0x82.
    if (version === 5) expect([0x81, 0x82]).toContain((packets.at(-1) as {reasonCode?: number}).reasonCode)
    expect(errors).toEqual([])
  })

  it('MQTT 5 PUBLISH whose content type runs past the packet is malformed: DISCONNECT 0x81, nothing delivered (§1.5.4, §4.13)', async () => {
    errors.length = 0
    // mqtt-packet hands such a string over as null; forwarding it failed at encode time for every subscriber.
    const watcher = net.connect(port, '127.0.0.1')
    watcher.on('error', () => {})
    const delivered: Buffer[] = []
    watcher.on('data', (chunk) => delivered.push(chunk))
    watcher.write(mqttPacket.generate({cmd: 'connect', clientId: `finding-watch-${Math.random()}`, protocolVersion: 5}, {protocolVersion: 5}))
    watcher.write(mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'finding/ct', qos: 0}]}, {protocolVersion: 5}))
    await new Promise((r) => setTimeout(r, 300))
    const body = Buffer.from([0x00, 0x0a, ...Buffer.from('finding/ct'), 0x03, 0x03, 0x00, 0x05])
    const {packets, closed} = await exchange(5, Buffer.concat([Buffer.from([0x30, body.length]), body]))
    expect(closed).toBe(true)
    expect([0x81, 0x82]).toContain((packets.at(-1) as {reasonCode?: number}).reasonCode)
    await new Promise((r) => setTimeout(r, 200))
    watcher.destroy()
    // CONNACK and SUBACK only: no PUBLISH (first byte 0x30) reached the subscriber.
    expect(Buffer.concat(delivered).includes(Buffer.from('finding/ct'))).toBe(false)
    expect(errors).toEqual([])
  })

  it.each([4, 5] as const)('UNSUBSCRIBE without a topic filter is a protocol error and closes the connection [MQTT-3.10.3-2] (v%i)', async (version) => {
    errors.length = 0
    const {packets, closed} = await exchange(version, version === 5 ? Buffer.from([0xa2, 0x03, 0x00, 0x0c, 0x00]) : Buffer.from([0xa2, 0x02, 0x00, 0x0c]))
    expect(closed).toBe(true)
    expect(packets.map((p) => p.cmd)).not.toContain('unsuback')
    // §4.13: a malformed packet or protocol error closes with DISCONNECT 0x81 or 0x82.
    if (version === 5) expect([0x81, 0x82]).toContain((packets.at(-1) as {reasonCode?: number}).reasonCode)
    expect(errors).toEqual([])
  })
})
