/**
 * Bad input over raw sockets: whatever one connection sends, the broker closes THAT connection and keeps serving
 * everybody else. Each test holds a healthy mqtt.js publisher/subscriber pair across the abuse and checks a round
 * trip afterwards. MQTT 3.1.1 §4.8 [MQTT-4.8.0-1] (MQTT 5 §4.13 [MQTT-4.13.1-1]): a protocol violation closes the
 * network connection. Runs against E2E_BROKERS (default mqttkit); mosquitto validates the tests themselves.
 */
import mqttPacket, {type Packet} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {RawClient} from '../helpers/raw.js'

afterEach(e2e__cleanup)

const MAX_PACKET = 4096

function connectPacket(clientId: string, extra: Partial<Record<string, unknown>> = {}): Buffer {
  return mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 30, ...extra} as Packet)
}

/** Deterministic garbage (no Math.random: a failure must be reproducible). */
function garbage(seed: number, length: number, first: number): Buffer {
  const out = Buffer.alloc(length)
  let s = seed
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0
    out[i] = s >>> 24
  }
  out[0] = first
  return out
}

describe.each(brokers__underTest())('bad input against %s', (brokerKind) => {
  let broker: RunningBroker

  /** A live pair of well-behaved clients; `check()` proves the broker still routes for them. */
  async function bystanders(): Promise<{check(): Promise<void>}> {
    const sub = await mqttjs__connect(broker.port, {clientId: `bystander-sub-${process.pid}`})
    const pub = await mqttjs__connect(broker.port, {clientId: `bystander-pub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('bystander/#', {qos: 1})
    let n = 0
    return {
      async check() {
        n++
        await pub.publishAsync(`bystander/${n}`, `still-served-${n}`, {qos: 1})
        await rec.until(n, 3000)
        expect(rec.messages.map((m) => m.payload)).toContain(`still-served-${n}`)
        expect(sub.connected && pub.connected).toBe(true)
      },
    }
  }

  async function start(): Promise<void> {
    broker = await brokers__start(brokerKind, {
      mqttkit: {maxPacketSize: MAX_PACKET},
      mosquittoConf: [`max_packet_size ${MAX_PACKET}`],
    })
  }

  it.for([1, 2, 3, 4, 5])('[MQTT-3.1.0-1] random bytes instead of CONNECT close the connection (seed %i)', async (seed) => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connect(broker.port)
    // A first byte that is not CONNECT (0x10): the rest is noise.
    raw.send(garbage(seed, 256, [0x30, 0x82, 0xc0, 0xe0, 0x00][seed - 1]!))
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.filter((p) => p.cmd !== 'connack')).toEqual([])
    await ok.check()
  })

  it.for([11, 12, 13])('[MQTT-4.8.0-1] random bytes after CONNECT close the connection (seed %i)', async (seed) => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connected(broker.port, `garbage-${seed}`)
    // Packet type 0 is reserved and forbidden in both versions: the stream is malformed from its first byte.
    raw.send(garbage(seed, 512, 0x00))
    expect(await raw.closedWithin(3000)).toBe(true)
    await ok.check()
  })

  it('[MQTT-4.8.0-1] a CONNECT cut short inside its own remaining length is malformed and closes the connection', async () => {
    await start()
    const ok = await bystanders()
    const full = connectPacket('truncated-connect', {username: 'someone', password: Buffer.from('secret')})
    // Keep the first 20 bytes of the body but say so in the header: the flags promise fields that are not there.
    const body = full.subarray(2, 22)
    const raw = await RawClient.connect(broker.port)
    raw.send(Buffer.concat([Buffer.from([0x10, body.length]), body]))
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.some((p) => p.cmd === 'connack' && (p as {returnCode?: number}).returnCode === 0)).toBe(false)
    await ok.check()
  })

  it('[MQTT-3.1.2-8] a client that sends half a PUBLISH and vanishes: nothing routed, its will published, others served', async () => {
    await start()
    const ok = await bystanders()
    const watcher = await mqttjs__connect(broker.port, {clientId: `will-watcher-${process.pid}`})
    const rec = mqttjs__record(watcher)
    await watcher.subscribeAsync('half/#', {qos: 1})
    const raw = await RawClient.connect(broker.port)
    raw.send(connectPacket('half-publisher', {will: {topic: 'half/will', payload: Buffer.from('lost'), qos: 1, retain: false}}))
    await raw.next('connack')
    const publish = mqttPacket.generate({cmd: 'publish', topic: 'half/data', payload: Buffer.alloc(200, 1), qos: 1, messageId: 7, retain: false, dup: false})
    raw.send(publish.subarray(0, 60))
    await sleep(100)
    raw.socket.end()
    await rec.until(1, 3000)
    await sleep(100)
    expect(rec.messages.map((m) => m.topic)).toEqual(['half/will'])
    await ok.check()
  })

  it(`[MQTT-4.8.0-1] a remaining length over the broker's maximum packet size (${MAX_PACKET}) closes the connection before the body arrives`, async () => {
    await start()
    const ok = await bystanders()
    const watcher = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(watcher)
    await watcher.subscribeAsync('big/#')
    const raw = await RawClient.connected(broker.port, 'too-big')
    // PUBLISH QoS 0, remaining length 1,000,000 (0xC0 0x84 0x3D), then only the topic: the broker must not wait
    // for (or buffer) a megabyte it will refuse anyway.
    const topic = Buffer.from([0x00, 0x05, ...Buffer.from('big/x')])
    raw.send(Buffer.concat([Buffer.from([0x30, 0xc0, 0x84, 0x3d]), topic, Buffer.alloc(1000, 0x61)]))
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(rec.messages).toEqual([])
    await ok.check()
  })

  it('[MQTT-4.8.0-1] a remaining length encoded in five bytes is malformed and closes the connection', async () => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connected(broker.port, 'five-bytes')
    raw.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x01, 0x61]))
    expect(await raw.closedWithin(3000)).toBe(true)
    await ok.check()
  })

  it.for(['a/+', 'a/#', '#', '+'])('[MQTT-3.3.2-2] a PUBLISH to the wildcard topic %j closes the connection and is not routed', async (topic) => {
    await start()
    const ok = await bystanders()
    const watcher = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(watcher)
    await watcher.subscribeAsync('#')
    const raw = await RawClient.connected(broker.port, 'wildcard-publisher')
    raw.send({cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false} as Packet)
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.some((p) => p.cmd === 'puback')).toBe(false)
    await ok.check()
    expect(rec.messages.filter((m) => !m.topic.startsWith('bystander/'))).toEqual([])
  })

  it.for([
    // Topic Name invalid (or the generic Protocol Error), Malformed Packet (or Protocol Error), Packet too large.
    ['a wildcard topic name', [0x90, 0x82]],
    ['a reserved packet type', [0x81, 0x82]],
    ['a packet over the maximum packet size', [0x95]],
  ] as const)('[MQTT-4.13.1-1] MQTT 5: %s closes the connection, with a fitting DISCONNECT reason when one is sent', async ([what, reasons]) => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connect(broker.port, 5)
    raw.sendV5({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `v5-bad-${reasons[0]}`, clean: true, keepalive: 30} as Packet)
    await raw.next('connack')
    if (what === 'a wildcard topic name') raw.sendV5({cmd: 'publish', topic: 'a/#', payload: Buffer.from('x'), qos: 0, retain: false, dup: false} as Packet)
    else if (what === 'a reserved packet type') raw.send(Buffer.from([0x00, 0x00]))
    else raw.send(Buffer.concat([Buffer.from([0x30, 0xc0, 0x84, 0x3d, 0x00, 0x01, 0x61]), Buffer.alloc(100)]))
    expect(await raw.closedWithin(3000)).toBe(true)
    const disconnect = raw.packets.find((p) => p.cmd === 'disconnect') as {reasonCode?: number} | undefined
    if (disconnect !== undefined) expect(reasons).toContain(disconnect.reasonCode)
    await ok.check()
  })

  it('[MQTT-3.1.0-2] a second CONNECT closes the connection', async () => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connected(broker.port, 'twice')
    raw.send(connectPacket('twice'))
    expect(await raw.closedWithin(3000)).toBe(true)
    await ok.check()
  })

  it('[MQTT-3.8.1-1] a SUBSCRIBE with wrong reserved flags is malformed and closes the connection', async () => {
    await start()
    const ok = await bystanders()
    const raw = await RawClient.connected(broker.port, 'bad-flags')
    const subscribe = mqttPacket.generate({cmd: 'subscribe', messageId: 3, subscriptions: [{topic: 'x', qos: 0}]} as Packet)
    subscribe[0] = 0x80 // must be 0x82
    raw.send(subscribe)
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.some((p) => p.cmd === 'suback')).toBe(false)
    await ok.check()
  })

  it('many abusive connections at once: every one closed, the broker serves on', async () => {
    await start()
    const ok = await bystanders()
    const raws = await Promise.all(Array.from({length: 20}, () => RawClient.connect(broker.port)))
    raws.forEach((raw, i) => raw.send(garbage(100 + i, 128, 0x30 + (i % 4))))
    const closed = await Promise.all(raws.map((r) => r.closedWithin(3000)))
    expect(closed.every(Boolean)).toBe(true)
    await ok.check()
  })
})
