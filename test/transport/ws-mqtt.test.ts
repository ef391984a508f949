/**
 * MQTT over WebSocket and secure WebSocket with a real broker: mqtt.js over ws:// and wss://, packets split across
 * frames and several packets per frame, and misbehaving clients that must not disturb the others.
 */
import mqttPacket, {type Packet} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type WebSocket from 'ws'
import type {Broker} from '../../src/broker/broker.js'
import {pki__make, type TestPki} from './certs.js'
import {broker__start, mqtt__closeAll, mqtt__connect, mqtt__next, portOf, ws__closed, ws__open} from './harness.js'

let pki: TestPki
let broker: Broker
let ws: string
let wss: string
let tcp: string
const sockets: WebSocket[] = []

beforeAll(async () => {
  pki = pki__make()
  broker = await broker__start([
    {type: 'tcp', host: '127.0.0.1', port: 0},
    {type: 'ws', host: '127.0.0.1', port: 0, maxFrameSize: 64 * 1024},
    {type: 'wss', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey},
  ])
  ws = `ws://127.0.0.1:${portOf(broker, 'ws')}/mqtt`
  wss = `wss://127.0.0.1:${portOf(broker, 'wss')}/mqtt`
  tcp = `mqtt://127.0.0.1:${portOf(broker, 'tcp')}`
})

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate()
  await mqtt__closeAll()
})

afterAll(async () => {
  await broker?.close()
  pki?.cleanup()
})

/** A raw MQTT-over-WebSocket client: frames go out exactly as given, packets come back parsed. */
async function rawClient(version: 4 | 5 = 4): Promise<{socket: WebSocket; packets: Packet[]; next(cmd: string): Promise<Packet>}> {
  const socket = await ws__open(ws, 'mqtt')
  sockets.push(socket)
  const parser = mqttPacket.parser({protocolVersion: version})
  const packets: Packet[] = []
  parser.on('packet', (p: Packet) => packets.push(p))
  socket.on('message', (data: Buffer) => parser.parse(data))
  return {
    socket,
    packets,
    async next(cmd) {
      await expect.poll(() => packets.some((p) => p.cmd === cmd), {timeout: 10_000}).toBe(true)
      return packets.splice(packets.findIndex((p) => p.cmd === cmd), 1)[0]!
    },
  }
}

const encode = (packet: Packet, version: 4 | 5 = 4) => mqttPacket.generate(packet, {protocolVersion: version})

describe('MQTT over WebSocket', () => {
  const versions = [
    {name: '3.1 (subprotocol mqttv3.1)', options: {protocolVersion: 3, protocolId: 'MQIsdp'}},
    {name: '3.1.1', options: {protocolVersion: 4}},
    {name: '5', options: {protocolVersion: 5}},
  ] as const
  for (const {name, options} of versions) {
    it(`mqtt.js MQTT ${name} over ws:// talks with a TCP client on the same broker`, async () => {
      const viaWs = await mqtt__connect(ws, options)
      const viaTcp = await mqtt__connect(tcp, options)
      await viaWs.subscribeAsync('ws/in', {qos: 1})
      await viaTcp.subscribeAsync('ws/out', {qos: 1})
      const toWs = mqtt__next(viaWs, 'ws/in')
      const toTcp = mqtt__next(viaTcp, 'ws/out')
      await viaTcp.publishAsync('ws/in', 'from tcp', {qos: 1})
      await viaWs.publishAsync('ws/out', 'from ws', {qos: 2})
      expect((await toWs).payload.toString()).toBe('from tcp')
      expect((await toTcp).payload.toString()).toBe('from ws')
    })
  }

  it('mqtt.js over wss:// (TLS checked against the test CA)', async () => {
    const viaWss = await mqtt__connect(wss, {ca: pki.caPem, protocolVersion: 5})
    await viaWss.subscribeAsync('wss/t', {qos: 1})
    const arrival = mqtt__next(viaWss, 'wss/t')
    const viaTcp = await mqtt__connect(tcp)
    await viaTcp.publishAsync('wss/t', 'secure hello', {qos: 1})
    expect((await arrival).payload.toString()).toBe('secure hello')
  })

  it('serves the JSON gateway over wss:// as well', async () => {
    const socket = await ws__open(wss, undefined, {ca: pki.caPem})
    sockets.push(socket)
    const replies: string[] = []
    socket.on('message', (d) => replies.push(d.toString()))
    socket.send(JSON.stringify({type: 'ping', id: 'secure'}))
    await expect.poll(() => replies).toContain('{"type":"pong","id":"secure"}')
  })

  it('refuses wss:// to a client that does not trust the certificate', async () => {
    await expect(mqtt__connect(wss, {connectTimeout: 2000})).rejects.toThrow()
  })

  it('[MQTT-6.0.0-2] a packet split across frames and several packets in one frame', async () => {
    const client = await rawClient()
    const connect = encode({cmd: 'connect', clientId: 'split-frames', protocolVersion: 4, protocolId: 'MQTT', clean: true, keepalive: 30})
    // CONNECT in three frames, cut inside the fixed header and inside the client id.
    client.socket.send(connect.subarray(0, 1))
    client.socket.send(connect.subarray(1, 9))
    client.socket.send(connect.subarray(9))
    expect(await client.next('connack')).toMatchObject({returnCode: 0})
    // SUBSCRIBE, then PUBLISH to the same topic, then PINGREQ: all in one frame.
    client.socket.send(Buffer.concat([
      encode({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'frames/t', qos: 0}]}),
      encode({cmd: 'publish', topic: 'frames/t', payload: Buffer.from('coalesced'), qos: 0, retain: false, dup: false}),
      encode({cmd: 'pingreq'}),
    ]))
    expect(await client.next('suback')).toMatchObject({messageId: 1, granted: [0]})
    const publish = await client.next('publish')
    expect(publish).toMatchObject({topic: 'frames/t'})
    expect((publish as {payload: Buffer}).payload.toString()).toBe('coalesced')
    await client.next('pingresp')
  })

  it('[MQTT-6.0.0-1] closes a client that sends a text frame (1003); another client carries on', async () => {
    const bystander = await mqtt__connect(ws)
    await bystander.subscribeAsync('text/after')
    const client = await rawClient()
    client.socket.send(encode({cmd: 'connect', clientId: 'texter', protocolVersion: 4, protocolId: 'MQTT', clean: true, keepalive: 30}))
    await client.next('connack')
    const closing = ws__closed(client.socket)
    client.socket.send('\u0010 this is text')
    expect((await closing).code).toBe(1003)
    const arrival = mqtt__next(bystander, 'text/after')
    const publisher = await mqtt__connect(tcp)
    await publisher.publishAsync('text/after', 'unharmed')
    expect((await arrival).payload.toString()).toBe('unharmed')
  })

  it('closes a client whose frame exceeds the frame limit (1009); another client carries on', async () => {
    const bystander = await mqtt__connect(ws)
    await bystander.subscribeAsync('big/after')
    const client = await rawClient()
    const closing = ws__closed(client.socket)
    client.socket.send(Buffer.alloc(65 * 1024, 0x30))
    expect((await closing).code).toBe(1009)
    const arrival = mqtt__next(bystander, 'big/after')
    const publisher = await mqtt__connect(tcp)
    await publisher.publishAsync('big/after', 'unharmed')
    expect((await arrival).payload.toString()).toBe('unharmed')
  })

  it('a client sending garbage bytes on the mqtt subprotocol is dropped by the broker, others unharmed', async () => {
    const bystander = await mqtt__connect(ws)
    await bystander.subscribeAsync('junk/after')
    const client = await rawClient()
    const closing = ws__closed(client.socket)
    client.socket.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))
    await closing
    const arrival = mqtt__next(bystander, 'junk/after')
    const publisher = await mqtt__connect(tcp)
    await publisher.publishAsync('junk/after', 'unharmed')
    expect((await arrival).payload.toString()).toBe('unharmed')
  })
})

describe('broker shutdown', () => {
  it('broker.close() with WebSocket and JSON clients connected tells them and resolves', async () => {
    const own = await broker__start([{type: 'ws', host: '127.0.0.1', port: 0}])
    const url = `ws://127.0.0.1:${portOf(own, 'ws')}/mqtt`
    const client = await mqtt__connect(url, {protocolVersion: 5})
    const told = new Promise<number | undefined>((resolve) => client.once('disconnect', (packet) => resolve(packet.reasonCode)))
    const json = await ws__open(url)
    sockets.push(json)
    const jsonMessages: string[] = []
    json.on('message', (d) => jsonMessages.push(d.toString()))
    json.send(JSON.stringify({type: 'ping'}))
    await expect.poll(() => jsonMessages.some((m) => m.includes('pong'))).toBe(true)
    const jsonClosed = ws__closed(json)
    await own.close()
    expect(await told).toBe(0x8b)
    await jsonClosed
    expect(jsonMessages.at(-1)).toContain('server shutting down (0x8b)')
  })
})
