import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, delay, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

async function v5(port: number, clientId: string, extra: Record<string, unknown> = {}): Promise<RawClient> {
  const raw = await RawClient.connect(port, 5)
  await raw.handshake({clientId, ...extra})
  return raw
}

async function subscribe(raw: RawClient, subscriptions: Array<Record<string, unknown>>, properties?: Record<string, unknown>): Promise<number[]> {
  raw.send({cmd: 'subscribe', messageId: 1, subscriptions, properties} as never)
  return (await raw.next('suback')).granted as number[]
}

describe('MQTT 5 publish features', () => {
  it('[MQTT-3.3.2-15] [MQTT-3.3.2-17] passes user properties (order kept), content type, response topic, correlation data and payload format through', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'props', qos: 1}])
    const pub = await v5(port, 'pub')
    const properties = {
      userProperties: {b: '2', a: ['1', '3']},
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData: Buffer.from([1, 2, 3]),
      payloadFormatIndicator: true,
    }
    pub.send({cmd: 'publish', topic: 'props', payload: Buffer.from('{"x":1}'), qos: 1, messageId: 1, dup: false, retain: false, properties})
    const p = await sub.next('publish')
    expect(p.properties?.userProperties).toEqual({b: '2', a: ['1', '3']})
    expect(Object.keys(p.properties!.userProperties!)).toEqual(['b', 'a'])
    expect(p.properties?.contentType).toBe('application/json')
    expect(p.properties?.responseTopic).toBe('reply/here')
    expect(p.properties?.correlationData).toEqual(Buffer.from([1, 2, 3]))
    expect(p.properties?.payloadFormatIndicator).toBe(true)
  })

  it('[MQTT-3.3.2-18] keeps the order of interleaved user properties (a=1, b=2, a=3)', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 't', qos: 0}])
    const pub = await v5(port, 'pub')
    // Written by hand: an object-based encoder cannot express a=1, b=2, a=3.
    const pairs = [['a', '1'], ['b', '2'], ['a', '3']]
    const user = Buffer.concat(pairs.map(([k, v]) => Buffer.concat([Buffer.from([0x26, 0, 1]), Buffer.from(k!), Buffer.from([0, 1]), Buffer.from(v!)])))
    const body = Buffer.concat([Buffer.from([0, 1]), Buffer.from('t'), Buffer.from([user.length]), user, Buffer.from('hi')])
    pub.write(Buffer.concat([Buffer.from([0x30, body.length]), body]))
    const got: Buffer[] = []
    sub.socket.on('data', (d: Buffer) => got.push(d))
    await sub.next('publish')
    const bytes = Buffer.concat(got)
    const order = [...bytes.toString('latin1').matchAll(/\x26\x00\x01(.)\x00\x01(.)/g)].map((m) => `${m[1]}=${m[2]}`)
    expect(order).toEqual(['a=1', 'b=2', 'a=3'])
  })

  it('[MQTT-3.3.2-4] a payload flagged UTF-8 that is not gets PUBACK 0x99 and is not delivered', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'utf', qos: 1}])
    const pub = await v5(port, 'pub')
    pub.send({cmd: 'publish', topic: 'utf', payload: Buffer.from([0xff, 0xfe]), qos: 1, messageId: 4, dup: false, retain: false, properties: {payloadFormatIndicator: true}})
    expect((await pub.next('puback')).reasonCode).toBe(0x99)
    sub.send({cmd: 'pingreq'})
    await sub.next('pingresp')
    expect(sub.packets.filter((p) => p.cmd === 'publish')).toEqual([])
  })

  it('PUBACK 0x10 when no one subscribed, 0x87 when authorizePublish refuses', async () => {
    const {port} = await startBroker({hooks: {authorizePublish: (_c, m) => m.topic !== 'no'}})
    const pub = await v5(port, 'pub')
    pub.send({cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false})
    expect((await pub.next('puback')).reasonCode).toBe(0x10)
    pub.send({cmd: 'publish', topic: 'no', payload: Buffer.from('x'), qos: 1, messageId: 2, dup: false, retain: false})
    expect((await pub.next('puback')).reasonCode).toBe(0x87)
  })

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] message expiry: expired queued messages are not delivered, the interval is reduced by the wait', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'exp', {clean: false, properties: {sessionExpiryInterval: 60}})
    await subscribe(sub, [{topic: 'e/#', qos: 1}])
    sub.send({cmd: 'disconnect'})
    await sub.waitClosed()
    const pub = await v5(port, 'pub')
    pub.send({cmd: 'publish', topic: 'e/short', payload: Buffer.from('gone'), qos: 1, messageId: 1, dup: false, retain: false, properties: {messageExpiryInterval: 1}})
    pub.send({cmd: 'publish', topic: 'e/long', payload: Buffer.from('kept'), qos: 1, messageId: 2, dup: false, retain: false, properties: {messageExpiryInterval: 10}})
    await pub.next('puback')
    await pub.next('puback')
    await delay(2100)
    const back = await RawClient.connect(port, 5)
    await back.handshake({clientId: 'exp', clean: false, properties: {sessionExpiryInterval: 60}})
    const p = await back.next('publish')
    expect(p.payload.toString()).toBe('kept')
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(8)
    back.send({cmd: 'pingreq'})
    await back.next('pingresp')
    expect(back.packets.filter((x) => x.cmd === 'publish')).toEqual([])
  })

  it('[MQTT-3.3.2-12] inbound topic aliases: set then reuse; 0 or over the maximum is DISCONNECT 0x94', async () => {
    const {port} = await startBroker({topicAliasMaximum: 2})
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'alias/#', qos: 0}])
    const pub = await v5(port, 'pub')
    pub.send({cmd: 'publish', topic: 'alias/one', payload: Buffer.from('1'), qos: 0, dup: false, retain: false, properties: {topicAlias: 1}})
    pub.send({cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: {topicAlias: 1}})
    const a = await sub.next('publish')
    const b = await sub.next('publish')
    expect([a.topic, b.topic]).toEqual(['alias/one', 'alias/one'])
    expect(b.properties?.topicAlias).toBeUndefined()
    pub.send({cmd: 'publish', topic: 'alias/x', payload: Buffer.from('3'), qos: 0, dup: false, retain: false, properties: {topicAlias: 3}})
    expect((await pub.next('disconnect')).reasonCode).toBe(0x94)
  })

  it('an unknown topic alias with an empty topic is a protocol error (0x82)', async () => {
    const {port} = await startBroker()
    const pub = await v5(port, 'pub')
    pub.send({cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: {topicAlias: 5}})
    expect((await pub.next('disconnect')).reasonCode).toBe(0x82)
  })

  it('[MQTT-3.1.2-29] reason strings on failed acks, none when Request Problem Information is 0', async () => {
    const {port} = await startBroker({hooks: {authorizePublish: () => false, authorizeSubscribe: () => false}})
    const chatty = await v5(port, 'chatty')
    chatty.send({cmd: 'publish', topic: 'x', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false})
    const a = await chatty.next('puback')
    expect(a.reasonCode).toBe(0x87)
    expect(a.properties?.reasonString).toBeTruthy()
    chatty.send({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'x', qos: 0}]})
    expect((await chatty.next('suback')).properties?.reasonString).toBeTruthy()
    const quiet = await v5(port, 'quiet', {properties: {requestProblemInformation: false}})
    quiet.send({cmd: 'publish', topic: 'x', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false})
    const b = await quiet.next('puback')
    expect(b.reasonCode).toBe(0x87)
    expect(b.properties?.reasonString).toBeUndefined()
    quiet.send({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'x', qos: 0}]})
    expect((await quiet.next('suback')).properties?.reasonString).toBeUndefined()
  })

  it('[MQTT-3.3.4-7] never sends more unacknowledged QoS 1/2 messages than the client Receive Maximum', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub', {properties: {receiveMaximum: 2}})
    await subscribe(sub, [{topic: 'rm', qos: 1}])
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 5; i++) await pub.publishAsync('rm', String(i), {qos: 1})
    await delay(100)
    const sent = sub.packets.filter((p) => p.cmd === 'publish')
    expect(sent).toHaveLength(2)
    sub.send({cmd: 'puback', messageId: (await sub.next('publish')).messageId})
    await delay(100)
    expect(sub.packets.filter((p) => p.cmd === 'publish')).toHaveLength(2)
  })

  it('[MQTT-3.3.4-9] a client exceeding our Receive Maximum is disconnected with 0x93', async () => {
    const {port} = await startBroker({maxInflight: 2})
    const pub = await v5(port, 'pub')
    for (let i = 1; i <= 3; i++) pub.send({cmd: 'publish', topic: 'q2', payload: Buffer.from('x'), qos: 2, messageId: i, dup: false, retain: false})
    expect((await pub.next('disconnect')).reasonCode).toBe(0x93)
  })

  it('[MQTT-3.1.2-25] a message over the client Maximum Packet Size is dropped for that client only', async () => {
    const {port} = await startBroker()
    const small = await v5(port, 'small', {properties: {maximumPacketSize: 100}})
    await subscribe(small, [{topic: 'size', qos: 1}])
    const big = await connect(port, {clientId: 'big'})
    await big.subscribeAsync('size')
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(big, 2)
    await pub.publishAsync('size', Buffer.alloc(500), {qos: 1})
    await pub.publishAsync('size', 'tiny', {qos: 1})
    expect(await got).toHaveLength(2)
    const p = await small.next('publish')
    expect(p.payload.toString()).toBe('tiny')
  })

  it('[MQTT-3.8.3-3] No Local: not sent back to the publisher', async () => {
    const {port} = await startBroker()
    const c = await v5(port, 'me')
    await subscribe(c, [{topic: 'nl', qos: 0, nl: true}])
    c.send({cmd: 'publish', topic: 'nl', payload: Buffer.from('x'), qos: 0, dup: false, retain: false})
    c.send({cmd: 'pingreq'})
    await c.next('pingresp')
    await delay(50)
    expect(c.packets.filter((p) => p.cmd === 'publish')).toEqual([])
  })

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps the retain flag on routed messages', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'rap/kept', qos: 0, rap: true}, {topic: 'rap/cleared', qos: 0}])
    const pub = await connect(port, {clientId: 'pub', protocolVersion: 5})
    pub.publish('rap/kept', 'x', {retain: true})
    pub.publish('rap/cleared', 'y', {retain: true})
    expect((await sub.next('publish')).retain).toBe(true)
    expect((await sub.next('publish')).retain).toBe(false)
  })

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] Retain Handling 0 always, 1 only for a new subscription, 2 never', async () => {
    const {port} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('rh', 'r', {qos: 1, retain: true})
    const sub = await v5(port, 'sub')
    const count = async (rh: number) => {
      await subscribe(sub, [{topic: 'rh', qos: 0, rh}])
      sub.send({cmd: 'pingreq'})
      await sub.next('pingresp')
      await delay(30)
      const n = sub.packets.filter((p) => p.cmd === 'publish').length
      sub.packets.length = 0
      return n
    }
    expect(await count(1)).toBe(1)
    expect(await count(1)).toBe(0)
    expect(await count(0)).toBe(1)
    expect(await count(2)).toBe(0)
  })

  it('[MQTT-3.3.4-3] overlapping subscriptions: one delivery carrying every subscription identifier', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'ids/#', qos: 0}], {subscriptionIdentifier: 11})
    await subscribe(sub, [{topic: 'ids/+', qos: 1}], {subscriptionIdentifier: 22})
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('ids/a', 'x', {qos: 1})
    const p = await sub.next('publish')
    expect(p.qos).toBe(1)
    expect([p.properties?.subscriptionIdentifier].flat().sort()).toEqual([11, 22])
    expect(await noMessage(await connect(port, {clientId: 'idle'}), 50)).toBe(true)
    expect(sub.packets.filter((x) => x.cmd === 'publish')).toEqual([])
  })

  it('UNSUBACK carries 0x00 / 0x11 per filter [MQTT-3.11.3-1]', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'u', qos: 0}])
    sub.send({cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u', 'never']})
    expect((await sub.next('unsuback')).granted).toEqual([0x00, 0x11])
  })

  it('SUBACK 0x8F for an invalid filter, 0x87 refused, QoS granted otherwise', async () => {
    const {port} = await startBroker({hooks: {authorizeSubscribe: (_c, s) => s.filter !== 'deny'}})
    const sub = await v5(port, 'sub')
    expect(await subscribe(sub, [{topic: 'a/#/b', qos: 0}, {topic: 'deny', qos: 1}, {topic: 'ok', qos: 2}])).toEqual([0x8f, 0x87, 2])
  })
})

describe('MQTT 5 outbound topic aliases', () => {
  it('[MQTT-3.3.2-9] uses aliases up to the client Topic Alias Maximum: topic + alias first, then alias alone', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub', {properties: {topicAliasMaximum: 1}})
    await subscribe(sub, [{topic: 'sensors/#', qos: 0}])
    const pub = await connect(port, {clientId: 'pub'})
    pub.publish('sensors/kitchen/temperature', '1')
    pub.publish('sensors/kitchen/temperature', '2')
    pub.publish('sensors/hall/temperature', '3')
    const [a, b, c] = [await sub.next('publish'), await sub.next('publish'), await sub.next('publish')]
    expect([a.topic, a.properties?.topicAlias]).toEqual(['sensors/kitchen/temperature', 1])
    expect([b.topic, b.properties?.topicAlias]).toEqual(['', 1])
    // The maximum (1) is used up: the other topic goes in full, without an alias.
    expect([c.topic, c.properties?.topicAlias]).toEqual(['sensors/hall/temperature', undefined])
  })

  it('a client that allows no aliases (the default) never gets one', async () => {
    const {port} = await startBroker()
    const sub = await v5(port, 'sub')
    await subscribe(sub, [{topic: 'long/topic/name', qos: 0}])
    const pub = await connect(port, {clientId: 'pub'})
    pub.publish('long/topic/name', '1')
    pub.publish('long/topic/name', '2')
    for (const p of [await sub.next('publish'), await sub.next('publish')]) {
      expect(p.topic).toBe('long/topic/name')
      expect(p.properties?.topicAlias).toBeUndefined()
    }
  })
})
