/**
 * Connection rules and flow control seen from outside: client identifiers, takeover, keepalive, MQTT 5 receive
 * maximum and maximum packet size towards the client. Raw sockets where the exact bytes matter, paho and mqtt.js
 * for takeover between programs. Runs against E2E_BROKERS (default mqttkit).
 */
import mqttPacket, {type Packet} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {PahoAgent, paho__require} from '../helpers/paho.js'
import {RawClient} from '../helpers/raw.js'

afterEach(e2e__cleanup)

type Publish = Extract<Packet, {cmd: 'publish'}>

const connect = (clientId: string, protocolVersion: 4 | 5, extra: Record<string, unknown> = {}): Packet =>
  ({cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: true, keepalive: 60, ...extra}) as Packet

describe.each(brokers__underTest())('connections and flow control against %s', (brokerKind) => {
  let broker: RunningBroker
  const start = async (): Promise<void> => {
    broker = await brokers__start(brokerKind)
  }

  it('[MQTT-3.1.3-6] [MQTT-3.1.3-8] 3.1.1: an empty client id is accepted with clean session 1 and refused (0x02) without', async () => {
    await start()
    const ok = await RawClient.connect(broker.port)
    ok.send(connect('', 4))
    expect(await ok.next('connack')).toMatchObject({returnCode: 0})
    const refused = await RawClient.connect(broker.port)
    // The codec will not build this packet (it is a client error): clear the Clean Session flag by hand.
    const bytes = mqttPacket.generate(connect('', 4))
    bytes[9] = bytes[9]! & ~0x02
    refused.send(bytes)
    expect(await refused.next('connack')).toMatchObject({returnCode: 2})
    expect(await refused.closedWithin(2000)).toBe(true)
  })

  it('[MQTT-3.2.2-16] MQTT 5: an empty client id gets a fresh Assigned Client Identifier', async () => {
    await start()
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      const raw = await RawClient.connect(broker.port, 5)
      raw.sendV5(connect('', 5))
      const connack = (await raw.next('connack')) as {reasonCode: number; properties?: {assignedClientIdentifier?: string}}
      expect(connack.reasonCode).toBe(0)
      ids.push(connack.properties?.assignedClientIdentifier ?? '')
    }
    expect(ids[0]!.length).toBeGreaterThan(0)
    expect(ids[1]!.length).toBeGreaterThan(0)
    expect(ids[0]).not.toBe(ids[1])
  })

  it('[MQTT-3.1.4-3] a second connection with the same client id takes over: paho is disconnected (0x8E), mqtt.js serves on', async (ctx) => {
    if (!paho__require(ctx)) return
    await start()
    const clientId = `takeover-${process.pid}`
    const paho = new PahoAgent()
    expect((await paho.connect(broker.port, {version: 5, client_id: clientId})).rc).toBe(0)
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5, clientId})
    const gone = await paho.wait((e) => e.ev === 'disconnect')
    // 0x8E Session taken over (paho reports the DISCONNECT reason when it got one).
    if (gone.rc !== 7 && gone.rc !== 1) expect(gone.rc).toBe(0x8e)
    const rec = mqttjs__record(js)
    await js.subscribeAsync('takeover/t', {qos: 1})
    await js.publishAsync('takeover/t', 'still-here', {qos: 1})
    await rec.until(1)
  })

  it('[MQTT-3.1.2-24] 3.1.1: a silent client is disconnected after 1.5 × keepalive and its will is published', async () => {
    await start()
    const watcher = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(watcher)
    await watcher.subscribeAsync('keepalive/will', {qos: 1})
    const raw = await RawClient.connect(broker.port)
    const t0 = Date.now()
    raw.send(connect(`silent-${process.pid}`, 4, {keepalive: 2, will: {topic: 'keepalive/will', payload: Buffer.from('timed out'), qos: 1, retain: false}}))
    await raw.next('connack')
    expect(await raw.closedWithin(6000)).toBe(true)
    const elapsed = Date.now() - t0
    expect(elapsed).toBeGreaterThanOrEqual(2900)
    const [will] = await rec.until(1)
    expect(will!.payload).toBe('timed out')
  })

  it('[MQTT-3.3.4-9] MQTT 5: the broker never has more unacknowledged QoS 1 messages to a client than its Receive Maximum', async () => {
    await start()
    const raw = await RawClient.connect(broker.port, 5)
    raw.sendV5(connect(`recvmax-${process.pid}`, 5, {properties: {receiveMaximum: 2}}))
    await raw.next('connack')
    raw.sendV5({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'flow/q1', qos: 1}]} as Packet)
    await raw.next('suback')
    const pub = await mqttjs__connect(broker.port, {protocolVersion: 5})
    for (let i = 0; i < 5; i++) await pub.publishAsync('flow/q1', `m${i}`, {qos: 1})
    await sleep(400)
    const publishes = (): Publish[] => raw.packets.filter((p): p is Publish => p.cmd === 'publish')
    expect(publishes().map((p) => p.payload.toString())).toEqual(['m0', 'm1'])
    raw.sendV5({cmd: 'puback', messageId: publishes()[0]!.messageId!, reasonCode: 0} as Packet)
    await sleep(300)
    expect(publishes().map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2'])
    for (const p of publishes().slice(1)) raw.sendV5({cmd: 'puback', messageId: p.messageId!, reasonCode: 0} as Packet)
    const deadline = Date.now() + 3000
    while (publishes().length < 5 && Date.now() < deadline) {
      await sleep(50)
      for (const p of publishes().slice(3)) raw.sendV5({cmd: 'puback', messageId: p.messageId!, reasonCode: 0} as Packet)
    }
    expect(publishes().map((p) => p.payload.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
  })

  it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] MQTT 5: a message larger than a subscriber\'s Maximum Packet Size is dropped for that subscriber only', async () => {
    await start()
    const small = await mqttjs__connect(broker.port, {protocolVersion: 5, properties: {maximumPacketSize: 200}})
    const large = await mqttjs__connect(broker.port, {protocolVersion: 5})
    const smallRec = mqttjs__record(small)
    const largeRec = mqttjs__record(large)
    await small.subscribeAsync('size/#', {qos: 1})
    await large.subscribeAsync('size/#', {qos: 1})
    const pub = await mqttjs__connect(broker.port, {protocolVersion: 5})
    await pub.publishAsync('size/big', Buffer.alloc(1000, 0x62), {qos: 1})
    await pub.publishAsync('size/small', 'fits', {qos: 1})
    await largeRec.until(2)
    await smallRec.until(1)
    await sleep(200)
    expect(smallRec.messages.map((m) => m.topic)).toEqual(['size/small'])
    expect(largeRec.messages.map((m) => m.topic)).toEqual(['size/big', 'size/small'])
    expect(small.connected).toBe(true)
  })
})

// Limits the reference broker lacks or counts differently: mqttkit only.
describe('connection limits (mqttkit)', () => {
  it('max connections: the connection over the limit is refused, the others keep being served', async () => {
    const broker = await brokers__start('mqttkit', {mqttkit: {maxConnections: 3}})
    const clients = []
    for (let i = 0; i < 3; i++) clients.push(await mqttjs__connect(broker.port))
    const refused = await RawClient.connect(broker.port)
    refused.send(connect(`fourth-${process.pid}`, 4))
    // Refused with CONNACK 3 (server unavailable) or by closing the socket: never accepted.
    expect(await refused.closedWithin(3000)).toBe(true)
    expect(refused.packets.some((p) => p.cmd === 'connack' && (p as {returnCode?: number}).returnCode === 0)).toBe(false)
    const rec = mqttjs__record(clients[0]!)
    await clients[0]!.subscribeAsync('limit/t', {qos: 1})
    await clients[1]!.publishAsync('limit/t', 'served', {qos: 1})
    await rec.until(1)
  })

  it('a socket that never sends CONNECT is closed after connectTimeout; others are served', async () => {
    const broker = await brokers__start('mqttkit', {mqttkit: {connectTimeout: 500}})
    const idle = await RawClient.connect(broker.port)
    const t0 = Date.now()
    const half = await RawClient.connect(broker.port)
    half.send(Buffer.from([0x10, 0x20, 0x00, 0x04])) // the first bytes of a CONNECT, then nothing
    expect(await idle.closedWithin(3000)).toBe(true)
    expect(await half.closedWithin(3000)).toBe(true)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450)
    const c = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(c)
    await c.subscribeAsync('timeout/t')
    await c.publishAsync('timeout/t', 'ok')
    await rec.until(1)
  })
})
