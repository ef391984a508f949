import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] delivers through + and # wildcards', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync(['sport/+/player1', 'finance/#'])
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(sub, 3)
    pub.publish('sport/tennis/player1', '1')
    pub.publish('sport/tennis/player2', 'no')
    pub.publish('finance', '2')
    pub.publish('finance/stock/ibm', '3')
    expect((await got).map((m) => m.topic)).toEqual(['sport/tennis/player1', 'finance', 'finance/stock/ibm'])
  })

  it('[MQTT-4.7.2-1] $-topics are not matched by wildcards at the first level', async () => {
    const {port, broker} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync(['#', '+/x'])
    await broker.publish({topic: '$SYS/x', payload: Buffer.from('s'), qos: 0, retain: false})
    expect(await noMessage(sub, 200)).toBe(true)
    await sub.subscribeAsync('$SYS/#')
    const got = nextMessages(sub, 1)
    await broker.publish({topic: '$SYS/x', payload: Buffer.from('s'), qos: 0, retain: false})
    expect((await got)[0]!.topic).toBe('$SYS/x')
  })

  it('[MQTT-3.8.4-1] [MQTT-3.9.3-2] answers invalid filters with 0x80 and grants valid ones in order', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({
      cmd: 'subscribe',
      messageId: 5,
      subscriptions: [
        {topic: 'ok/#', qos: 1},
        {topic: 'bad/#/x', qos: 1},
        {topic: 'a+', qos: 0},
        {topic: 'fine', qos: 2},
      ],
    })
    const suback = await raw.next('suback')
    expect(suback.messageId).toBe(5)
    expect(suback.granted).toEqual([1, 0x80, 0x80, 2])
  })

  it('[MQTT-3.3.4-2] overlapping subscriptions deliver once at the highest granted QoS', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync({'a/#': {qos: 0}, 'a/+': {qos: 2}, 'a/b': {qos: 1}})
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(sub, 1)
    pub.publish('a/b', 'x', {qos: 2})
    const [m] = await got
    expect(m!.packet.qos).toBe(2)
    expect(await noMessage(sub, 200)).toBe(true)
  })

  it('[MQTT-3.8.4-8] downgrades delivery to the granted QoS', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('d', {qos: 1})
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(sub, 1)
    pub.publish('d', 'x', {qos: 2})
    expect((await got)[0]!.packet.qos).toBe(1)
  })

  it('[MQTT-3.10.4-4] UNSUBSCRIBE stops delivery and is answered with UNSUBACK', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'r'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'u', qos: 0}]})
    await raw.next('suback')
    raw.send({cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['u', 'never-subscribed']})
    expect((await raw.next('unsuback')).messageId).toBe(2)
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('u', 'x', {qos: 1})
    raw.send({cmd: 'pingreq'})
    await raw.next('pingresp')
    expect(raw.packets.filter((p) => p.cmd === 'publish')).toEqual([])
  })

  it('refuses subscriptions over max subscriptions with 0x80 (3.1.1)', async () => {
    const {port} = await startBroker({maxSubscriptions: 2})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a', qos: 0}, {topic: 'b', qos: 0}, {topic: 'c', qos: 0}, {topic: 'a', qos: 1}]})
    expect((await raw.next('suback')).granted).toEqual([0, 0, 0x80, 1])
  })

  it('refuses filters with more levels than max topic levels', async () => {
    const {port} = await startBroker({maxTopicLevels: 3})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a/b/c', qos: 0}, {topic: 'a/b/c/d', qos: 0}]})
    expect((await raw.next('suback')).granted).toEqual([0, 0x80])
  })

  it('an authorizeSubscribe refusal gets 0x80 in 3.1.1', async () => {
    const {port} = await startBroker({hooks: {authorizeSubscribe: async (_c, s) => s.filter !== 'private/#'}})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'private/#', qos: 0}, {topic: 'public', qos: 1}]})
    expect((await raw.next('suback')).granted).toEqual([0x80, 1])
  })
})
