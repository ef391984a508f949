/**
 * Protocol strictness over raw sockets (issue 18, items 1–10): packets a well-behaved client never sends, built by
 * hand byte by byte, and what the specification says the broker must do with them. MQTT 5 statement ids in the
 * v5 cases, 3.1.1 ids in the 3.1.1 ones. A malformed packet closes the connection: MQTT 5 with DISCONNECT 0x81
 * once connected, 3.1.1 without a word, and a malformed CONNECT never gets a CONNACK [MQTT-3.1.4-1].
 */
import type {Packet} from 'mqtt-packet'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {brokers__startMqttkit, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {RawClient} from '../helpers/raw.js'

let broker: RunningBroker
beforeEach(async () => {
  broker = await brokers__startMqttkit()
})
afterEach(e2e__cleanup)

// ---- bytes by hand

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const bytes = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s)
/** A UTF-8 string field: two length bytes, then the bytes as given (so ill-formed UTF-8 can be sent). */
const str = (s: string | Buffer): Buffer => Buffer.concat([u16(bytes(s).length), bytes(s)])
function varint(n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}
const frame = (first: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([first]), varint(body.length), body])
}
/** An MQTT 5 property list: its length, then the properties. */
const props = (...entries: Buffer[]): Buffer => Buffer.concat([varint(Buffer.concat(entries).length), ...entries])
const byteProp = (id: number, value: number): Buffer => Buffer.from([id, value])
const int32Prop = (id: number, value: number): Buffer => {
  const b = Buffer.alloc(5)
  b[0] = id
  b.writeUInt32BE(value, 1)
  return b
}

const USERNAME = 0x80
const PASSWORD = 0x40
const WILL = 0x04
const CLEAN = 0x02

interface ConnectFields {
  version?: 3 | 4 | 5
  flags?: number
  clientId?: string | Buffer
  properties?: Buffer
  willProperties?: Buffer
  willTopic?: string | Buffer
  username?: string | Buffer
  password?: string
  /** Bytes after the last field. */
  extra?: Buffer
}

function connectBytes(f: ConnectFields): Buffer {
  const v = f.version ?? 4
  const parts = [str(v === 3 ? 'MQIsdp' : 'MQTT'), Buffer.from([v, f.flags ?? CLEAN]), u16(30)]
  if (v === 5) parts.push(f.properties ?? props())
  parts.push(str(f.clientId ?? `strict-${process.pid}`))
  if (f.willTopic !== undefined) {
    if (v === 5) parts.push(f.willProperties ?? props())
    parts.push(str(f.willTopic), str('gone'))
  }
  if (f.username !== undefined) parts.push(str(f.username))
  if (f.password !== undefined) parts.push(str(f.password))
  if (f.extra) parts.push(f.extra)
  return frame(0x10, ...parts)
}

/** Sends a CONNECT and expects the connection closed with no CONNACK at all [MQTT-3.1.4-1]. */
async function expectRefusedWithoutConnack(f: ConnectFields): Promise<void> {
  const raw = await RawClient.connect(broker.port, f.version ?? 4)
  raw.send(connectBytes(f))
  expect(await raw.closedWithin(3000)).toBe(true)
  expect(raw.packets.map((p) => p.cmd)).toEqual([])
}

async function expectConnack(f: ConnectFields): Promise<Packet> {
  const raw = await RawClient.connect(broker.port, f.version ?? 4)
  raw.send(connectBytes(f))
  const connack = await raw.next('connack')
  raw.destroy()
  return connack
}

/** Expects DISCONNECT with `code` (MQTT 5) and the connection closed, nothing else answered. */
async function expectDisconnect(raw: RawClient, code: number): Promise<void> {
  const d = (await raw.next('disconnect')) as {reasonCode: number}
  expect(d.reasonCode).toBe(code)
  expect(await raw.closedWithin(3000)).toBe(true)
}

const NUL_IN = (s: string): Buffer => Buffer.from(`${s}\u0000x`, 'utf8')
const ILL_FORMED = Buffer.from([0x61, 0xc3, 0x28]) // "a", then a 2-byte lead without its continuation byte
const SURROGATE = Buffer.from([0x61, 0xed, 0xa0, 0x80]) // U+D800 encoded in UTF-8: not allowed [MQTT-1.5.4-1]

describe('1. UTF-8 strings: ill-formed or containing U+0000 → malformed', () => {
  it('[MQTT-1.5.3-1] [MQTT-1.5.3-2] 3.1.1 client id with U+0000 or ill-formed UTF-8: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({clientId: NUL_IN('id')})
    await expectRefusedWithoutConnack({clientId: ILL_FORMED})
  })

  it('[MQTT-1.5.4-1] [MQTT-1.5.4-2] MQTT 5 user name with U+0000, or a UTF-16 surrogate: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({version: 5, flags: CLEAN | USERNAME, username: NUL_IN('user')})
    await expectRefusedWithoutConnack({version: 5, flags: CLEAN | USERNAME, username: SURROGATE})
  })

  it('[MQTT-1.5.3-1] will topic with ill-formed UTF-8: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN | WILL, willTopic: ILL_FORMED})
  })

  it('[MQTT-1.5.4-2] MQTT 5 SUBSCRIBE filter with U+0000: DISCONNECT 0x81, not SUBACK 0x80', async () => {
    const raw = await RawClient.connected(broker.port, 'utf8-sub', 5)
    raw.send(frame(0x82, u16(1), props(), str(NUL_IN('a/b')), Buffer.from([0])))
    await expectDisconnect(raw, 0x81)
    expect(raw.packets.some((p) => p.cmd === 'suback')).toBe(false)
  })

  it('[MQTT-1.5.3-1] 3.1.1 UNSUBSCRIBE filter with ill-formed UTF-8: closed, no UNSUBACK', async () => {
    const raw = await RawClient.connected(broker.port, 'utf8-unsub')
    raw.send(frame(0xa2, u16(1), str(ILL_FORMED)))
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.some((p) => p.cmd === 'unsuback')).toBe(false)
  })

  it('[MQTT-1.5.4-2] MQTT 5 PUBLISH topic with U+0000: DISCONNECT 0x81 (malformed), not 0x90', async () => {
    const raw = await RawClient.connected(broker.port, 'utf8-pub', 5)
    raw.send(frame(0x30, str(NUL_IN('t')), props(), Buffer.from('x')))
    await expectDisconnect(raw, 0x81)
  })

  it('a real U+FFFD (well-formed UTF-8) in a topic is accepted and delivered', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `fffd-sub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('fffd/#')
    const raw = await RawClient.connected(broker.port, 'fffd-pub')
    raw.send(frame(0x30, str('fffd/\uFFFD'), Buffer.from('ok')))
    await rec.until(1, 3000)
    expect(rec.messages[0]!.topic).toBe('fffd/\uFFFD')
    expect(raw.closed).toBe(false)
  })
})

describe('2. CONNECT flags that disagree with the payload; bytes left over', () => {
  it('[MQTT-3.1.2-18] a user name with User Name Flag 0: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN, extra: str('someone')})
    await expectRefusedWithoutConnack({version: 5, flags: CLEAN, extra: str('someone')})
  })

  it('[MQTT-3.1.2-22] 3.1.1: Password Flag 1 with User Name Flag 0: closed without CONNACK (MQTT 5 allows it)', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN | PASSWORD, password: 'secret'})
    const connack = (await expectConnack({version: 5, flags: CLEAN | PASSWORD, password: 'secret'})) as {reasonCode: number}
    expect(connack.reasonCode).toBe(0)
  })

  it('[MQTT-3.1.4-1] any byte after the last field: closed without CONNACK; the same CONNECT without it is accepted', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN | USERNAME | PASSWORD, username: 'u', password: 'p', extra: Buffer.from([0])})
    const connack = (await expectConnack({flags: CLEAN | USERNAME | PASSWORD, username: 'u', password: 'p'})) as {returnCode: number}
    expect(connack.returnCode).toBe(0)
  })
})

describe('3. 3.1.1 will topic empty or invalid', () => {
  it('[MQTT-3.1.4-1] [MQTT-4.7.3-1] 3.1.1 empty will topic: closed without CONNACK (not CONNACK 0x03)', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN | WILL, willTopic: ''})
  })

  it('[MQTT-3.1.4-1] [MQTT-4.7.1-1] 3.1.1 will topic with a wildcard: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({flags: CLEAN | WILL, willTopic: 'a/#'})
  })

  it('MQTT 5 keeps its reason code for it: CONNACK 0x90 Topic Name invalid', async () => {
    const connack = (await expectConnack({version: 5, flags: CLEAN | WILL, willTopic: 'a/#'})) as {reasonCode: number}
    expect(connack.reasonCode).toBe(0x90)
  })
})

describe('4. MQTT 5 properties the packet type does not allow; PUBLISH without property length', () => {
  it('[MQTT-2.2.2-2] Session Expiry Interval on PUBLISH: DISCONNECT 0x81, message not delivered', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `props-sub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('props/#')
    const raw = await RawClient.connected(broker.port, 'props-pub', 5)
    raw.send(frame(0x30, str('props/a'), props(int32Prop(0x11, 60)), Buffer.from('x')))
    await expectDisconnect(raw, 0x81)
    await sleep(200)
    expect(rec.messages).toEqual([])
  })

  it('[MQTT-2.2.2-2] Session Expiry Interval on SUBSCRIBE: DISCONNECT 0x81, no SUBACK', async () => {
    const raw = await RawClient.connected(broker.port, 'props-sub2', 5)
    raw.send(frame(0x82, u16(1), props(int32Prop(0x11, 60)), str('a/b'), Buffer.from([0])))
    await expectDisconnect(raw, 0x81)
    expect(raw.packets.some((p) => p.cmd === 'suback')).toBe(false)
  })

  it('[MQTT-2.2.2-2] a will property (Will Delay Interval) among the CONNECT properties: closed without CONNACK', async () => {
    await expectRefusedWithoutConnack({version: 5, properties: props(int32Prop(0x18, 5))})
    // In the will properties, where it belongs, it is accepted.
    const connack = (await expectConnack({version: 5, flags: CLEAN | WILL, willTopic: 'w/t', willProperties: props(int32Prop(0x18, 5))})) as {reasonCode: number}
    expect(connack.reasonCode).toBe(0)
  })

  it('[MQTT-2.2.2-1] a v5 PUBLISH that ends before its property length: DISCONNECT 0x81', async () => {
    const raw = await RawClient.connected(broker.port, 'props-nolen', 5)
    raw.send(frame(0x30, str('props/a')))
    await expectDisconnect(raw, 0x81)
  })
})

describe('5. UNSUBSCRIBE with an empty topic filter', () => {
  it('[MQTT-4.7.3-1] MQTT 5: DISCONNECT 0x81, not UNSUBACK 0x11', async () => {
    const raw = await RawClient.connected(broker.port, 'unsub-empty', 5)
    raw.send(frame(0xa2, u16(7), props(), str('')))
    await expectDisconnect(raw, 0x81)
    expect(raw.packets.some((p) => p.cmd === 'unsuback')).toBe(false)
  })

  it('[MQTT-4.7.3-1] 3.1.1: closed, no UNSUBACK', async () => {
    const raw = await RawClient.connected(broker.port, 'unsub-empty-4')
    raw.send(frame(0xa2, u16(7), str('')))
    expect(await raw.closedWithin(3000)).toBe(true)
    expect(raw.packets.some((p) => p.cmd === 'unsuback')).toBe(false)
  })
})

describe('6. acknowledgements of the wrong kind for a flow [MQTT-4.8.0-1]', () => {
  /** A raw subscriber on `wk/<name>` at `qos` that got one PUBLISH from mqtt.js. */
  async function delivery(name: string, qos: 1 | 2, version: 4 | 5): Promise<{raw: RawClient; id: number}> {
    const raw = await RawClient.connected(broker.port, `wk-${name}`, version)
    if (version === 5) raw.sendV5({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `wk/${name}`, qos}]} as Packet)
    else raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `wk/${name}`, qos}]} as Packet)
    await raw.next('suback')
    const pub = await mqttjs__connect(broker.port, {clientId: `wk-pub-${name}-${process.pid}`})
    await pub.publishAsync(`wk/${name}`, 'm', {qos})
    const publish = (await raw.next('publish')) as {messageId: number; qos: number}
    expect(publish.qos).toBe(qos)
    return {raw, id: publish.messageId}
  }
  const ack = (type: number, id: number): Buffer => frame(type, u16(id))

  it('MQTT 5 PUBREC answering a QoS 1 PUBLISH: DISCONNECT 0x82 (today: answered with PUBREL)', async () => {
    const {raw, id} = await delivery('rec1', 1, 5)
    raw.send(ack(0x50, id))
    await expectDisconnect(raw, 0x82)
    expect(raw.packets.some((p) => p.cmd === 'pubrel')).toBe(false)
  })

  it('MQTT 5 PUBCOMP answering a QoS 1 PUBLISH: DISCONNECT 0x82', async () => {
    const {raw, id} = await delivery('comp1', 1, 5)
    raw.send(ack(0x70, id))
    await expectDisconnect(raw, 0x82)
  })

  it('MQTT 5 PUBACK answering a QoS 2 PUBLISH: DISCONNECT 0x82', async () => {
    const {raw, id} = await delivery('ack2', 2, 5)
    raw.send(ack(0x40, id))
    await expectDisconnect(raw, 0x82)
  })

  it('3.1.1 PUBACK answering a PUBREL: closed', async () => {
    const {raw, id} = await delivery('ackrel', 2, 4)
    raw.send(ack(0x50, id))
    await raw.next('pubrel')
    raw.send(ack(0x40, id))
    expect(await raw.closedWithin(3000)).toBe(true)
  })

  it('the right acknowledgements keep the connection, and an unknown id stays harmless', async () => {
    const {raw, id} = await delivery('right', 1, 5)
    raw.send(ack(0x40, id))
    raw.send(ack(0x40, 999))
    raw.send(frame(0xc0)) // PINGREQ
    await raw.next('pingresp')
    expect(raw.closed).toBe(false)
  })
})

describe('7. MQTT 3.1 CONNACK has no Session Present flag', () => {
  it('a resumed MQTT 3.1 session still gets a CONNACK whose first byte is 0 (3.1.1 gets 1) [MQTT-3.2.2-2]', async () => {
    const firstByte = async (version: 3 | 4, id: string): Promise<number> => {
      const raw = await RawClient.connect(broker.port, version)
      const chunks: Buffer[] = []
      raw.socket.on('data', (c: Buffer) => chunks.push(c))
      raw.send(connectBytes({version, flags: 0, clientId: id}))
      await raw.next('connack')
      raw.destroy()
      await sleep(50)
      return Buffer.concat(chunks)[2]!
    }
    expect(await firstByte(3, `v31-${process.pid}`)).toBe(0)
    expect(await firstByte(3, `v31-${process.pid}`)).toBe(0) // the session exists now
    expect(await firstByte(4, `v311-${process.pid}`)).toBe(0)
    expect(await firstByte(4, `v311-${process.pid}`)).toBe(1)
  })
})

describe("8. the client's Maximum Packet Size smaller than the CONNACK [MQTT-3.1.2-24]", () => {
  /** Every frame the broker sent, as its total size in bytes. */
  async function frames(maximumPacketSize: number, clientId: string): Promise<{sizes: number[]; raw: RawClient}> {
    const raw = await RawClient.connect(broker.port, 5)
    raw.send(connectBytes({version: 5, clientId, properties: props(int32Prop(0x27, maximumPacketSize))}))
    await raw.next('connack', 2000).catch(() => undefined)
    await raw.closedWithin(300)
    return {sizes: raw.packets.map((p) => 1 + varint(p.length ?? 0).length + (p.length ?? 0)), raw}
  }

  it('a limit the full CONNACK is over: the informational properties are left out, and it fits', async () => {
    const full = await frames(1000, 'mps-full')
    expect(full.raw.packets[0]!.cmd).toBe('connack')
    const limit = full.sizes[0]! - 1
    const {sizes, raw} = await frames(limit, 'mps-lean')
    expect(raw.packets.map((p) => p.cmd)).toEqual(['connack'])
    expect(sizes[0]!).toBeLessThanOrEqual(limit)
    expect((raw.packets[0] as {reasonCode: number}).reasonCode).toBe(0)
    expect(raw.closed).toBe(false)
  })

  it('a limit even the bare CONNACK is over (empty client id: the assigned id must be in it): closed, nothing sent', async () => {
    const {raw} = await frames(20, '')
    expect(raw.packets).toEqual([])
    expect(await raw.closedWithin(3000)).toBe(true)
  })
})

describe('9. Payload Format Indicator values other than 0 and 1', () => {
  it('[MQTT-2.2.2-2] Payload Format Indicator 2: DISCONNECT 0x81, not forwarded rewritten as 1', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `pfi-sub-${process.pid}`, protocolVersion: 5})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('pfi/#')
    const raw = await RawClient.connected(broker.port, 'pfi-pub', 5)
    raw.send(frame(0x30, str('pfi/a'), props(byteProp(0x01, 2)), Buffer.from('x')))
    await expectDisconnect(raw, 0x81)
    // 0 and 1 still pass.
    const ok = await RawClient.connected(broker.port, 'pfi-ok', 5)
    ok.send(frame(0x30, str('pfi/b'), props(byteProp(0x01, 1)), Buffer.from('x')))
    await rec.until(1, 3000)
    expect(rec.messages.map((m) => m.topic)).toEqual(['pfi/b'])
  })
})

describe('10. topics the broker owns', () => {
  it('MQTT 5 PUBLISH to $SYS/...: PUBACK 0x87, not delivered', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `sys-sub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('$SYS/spoof/#')
    const raw = await RawClient.connected(broker.port, 'sys-pub', 5)
    raw.send(frame(0x32, str('$SYS/spoof/clients'), u16(5), props(), Buffer.from('999')))
    const puback = (await raw.next('puback')) as {reasonCode: number}
    expect(puback.reasonCode).toBe(0x87)
    await sleep(200)
    expect(rec.messages).toEqual([])
  })

  it('3.1.1 PUBLISH to $SYS/...: acknowledged and dropped [MQTT-3.3.5-2]', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `sys-sub4-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('$SYS/spoof/#')
    const raw = await RawClient.connected(broker.port, 'sys-pub4')
    raw.send(frame(0x32, str('$SYS/spoof/x'), u16(5), Buffer.from('999')))
    await raw.next('puback')
    raw.send(frame(0x30, str('$SYS/spoof/y'), Buffer.from('999')))
    await sleep(200)
    expect(rec.messages).toEqual([])
    expect(raw.closed).toBe(false)
  })

  it('an ACL rule that names $SYS grants it; other $ topics ($aws, $TopicA) stay publishable', async () => {
    const {mkdtempSync, writeFileSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const {AuthFiles} = await import('../../src/index.js')
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-acl-'))
    writeFileSync(join(dir, 'acl'), 'topic readwrite #\ntopic read $SYS/other/#\ntopic readwrite $SYS/feed/#\ntopic readwrite $aws/#\ntopic readwrite $TopicA/#\n')
    await broker.stop()
    broker = await brokers__startMqttkit({auth: await AuthFiles.load({aclFile: join(dir, 'acl')})})
    const sub = await mqttjs__connect(broker.port, {clientId: `acl-sub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(['$SYS/feed/#', '$SYS/other/#', '$aws/#', '$TopicA/#'])
    const pub = await mqttjs__connect(broker.port, {clientId: `acl-pub-${process.pid}`, protocolVersion: 5})
    await pub.publishAsync('$SYS/other/x', 'no', {qos: 1}).catch(() => undefined)
    await pub.publishAsync('$SYS/feed/x', 'yes', {qos: 1})
    await pub.publishAsync('$aws/things/x', 'aws', {qos: 1})
    await pub.publishAsync('$TopicA/x', 'a', {qos: 1})
    await rec.until(3, 3000)
    await sleep(100)
    expect(rec.messages.map((m) => m.topic).sort()).toEqual(['$SYS/feed/x', '$TopicA/x', '$aws/things/x'])
  })

  it('without an ACL, $aws/... and $TopicA/... are still delivered', async () => {
    const sub = await mqttjs__connect(broker.port, {clientId: `dollar-sub-${process.pid}`})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(['$aws/#', '$TopicA/#'])
    const pub = await mqttjs__connect(broker.port, {clientId: `dollar-pub-${process.pid}`})
    await pub.publishAsync('$aws/things/x', 'aws', {qos: 1})
    await pub.publishAsync('$TopicA/x', 'a', {qos: 1})
    await rec.until(2, 3000)
  })

  it('§4.8.2 MQTT 5 PUBLISH to a $share/... topic name: DISCONNECT 0x90', async () => {
    const raw = await RawClient.connected(broker.port, 'share-pub', 5)
    raw.send(frame(0x30, str('$share/g/t'), props(), Buffer.from('x')))
    await expectDisconnect(raw, 0x90)
  })
})
