import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, delay, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

describe('PUBLISH and QoS', () => {
  it('[MQTT-4.3.2-1] acknowledges a QoS 1 PUBLISH with PUBACK carrying its packet id', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 42, dup: false, retain: false})
    expect((await raw.next('puback')).messageId).toBe(42)
  })

  it('[MQTT-4.3.3-1] QoS 2 inbound: PUBREC, then PUBCOMP for PUBREL', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 7, dup: false, retain: false})
    expect((await raw.next('pubrec')).messageId).toBe(7)
    raw.send({cmd: 'pubrel', messageId: 7})
    expect((await raw.next('pubcomp')).messageId).toBe(7)
  })

  it('[MQTT-4.3.3-9] a duplicate QoS 2 PUBLISH before PUBREL is not delivered twice', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('dup', {qos: 2})
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'pub'})
    const got = nextMessages(sub, 1)
    raw.send({cmd: 'publish', topic: 'dup', payload: Buffer.from('once'), qos: 2, messageId: 9, dup: false, retain: false})
    await raw.next('pubrec')
    raw.send({cmd: 'publish', topic: 'dup', payload: Buffer.from('once'), qos: 2, messageId: 9, dup: true, retain: false})
    await raw.next('pubrec')
    raw.send({cmd: 'pubrel', messageId: 9})
    await raw.next('pubcomp')
    await got
    expect(await noMessage(sub, 300)).toBe(true)
  })

  it('[MQTT-4.3.2-2] outbound QoS 1: the subscriber gets a packet id and the broker waits for PUBACK', async () => {
    const {port, broker} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'raw-sub'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'q1', qos: 1}]})
    await raw.next('suback')
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('q1', 'hello', {qos: 1})
    const p = await raw.next('publish')
    expect(p.qos).toBe(1)
    expect(p.messageId).toBeGreaterThan(0)
    expect(broker.stats.inflight).toBe(1)
    raw.send({cmd: 'puback', messageId: p.messageId})
    await delay(50)
    expect(broker.stats.inflight).toBe(0)
  })

  it('[MQTT-4.3.3-3] outbound QoS 2: PUBLISH, PUBREC from the client, PUBREL from the broker, PUBCOMP', async () => {
    const {port, broker} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'raw-sub'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'q2', qos: 2}]})
    await raw.next('suback')
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('q2', 'hello', {qos: 2})
    const p = await raw.next('publish')
    expect(p.qos).toBe(2)
    raw.send({cmd: 'pubrec', messageId: p.messageId})
    expect((await raw.next('pubrel')).messageId).toBe(p.messageId)
    raw.send({cmd: 'pubcomp', messageId: p.messageId})
    await delay(50)
    expect(broker.stats.inflight).toBe(0)
  })

  it('[MQTT-4.6.0-6] keeps the order of messages on one topic (QoS 0, 1 and 2 mixed, over the inflight window)', async () => {
    const {port} = await startBroker({maxInflight: 10})
    // A raw subscriber that acknowledges everything: mqtt.js itself may hand QoS 2 messages over out of order.
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'sub'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'order', qos: 2}]})
    await raw.next('suback')
    const pub = await connect(port, {clientId: 'pub'})
    const n = 200
    for (let i = 0; i < n; i++) pub.publish('order', String(i), {qos: (i % 3) as 0 | 1 | 2})
    const seen: number[] = []
    while (seen.length < n) {
      const p = await raw.next('publish', 5000)
      seen.push(Number(p.payload.toString()))
      if (p.qos === 1) raw.send({cmd: 'puback', messageId: p.messageId})
      if (p.qos === 2) raw.send({cmd: 'pubrec', messageId: p.messageId})
      for (let r = raw.packets.findIndex((x) => x.cmd === 'pubrel'); r >= 0; r = raw.packets.findIndex((x) => x.cmd === 'pubrel')) {
        raw.send({cmd: 'pubcomp', messageId: raw.packets.splice(r, 1)[0]!.messageId})
      }
    }
    expect(seen).toEqual([...Array(n).keys()])
  })

  it('[MQTT-3.3.2-2] a PUBLISH to a topic with wildcards closes that connection, others keep working', async () => {
    const {port} = await startBroker()
    const other = await connect(port, {clientId: 'other'})
    await other.subscribeAsync('still/#')
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'bad'})
    raw.send({cmd: 'publish', topic: 'a/+/b', payload: Buffer.from('x'), qos: 0, dup: false, retain: false})
    await raw.waitClosed()
    const got = nextMessages(other, 1)
    other.publish('still/ok', 'yes')
    expect((await got)[0]!.payload.toString()).toBe('yes')
  })

  it('an authorizePublish refusal drops the message but still acknowledges a 3.1.1 client [MQTT-3.3.5-2]', async () => {
    const {port} = await startBroker({hooks: {authorizePublish: (_c, m) => m.topic !== 'secret'}})
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('#')
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'pub'})
    raw.send({cmd: 'publish', topic: 'secret', payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false})
    expect((await raw.next('puback')).messageId).toBe(3)
    expect(await noMessage(sub, 200)).toBe(true)
  })

  it('a hook that throws never crashes the broker', async () => {
    const {port} = await startBroker({
      hooks: {
        authorizePublish: () => {
          throw new Error('boom')
        },
        onPublish: () => {
          throw new Error('boom')
        },
        authorizeForward: () => {
          throw new Error('boom')
        },
      },
    })
    const c = await connect(port, {clientId: 'c'})
    await c.subscribeAsync('x')
    await c.publishAsync('x', 'y', {qos: 1})
    expect(c.connected).toBe(true)
  })
})
