import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

describe('retained messages', () => {
  it('[MQTT-3.3.1-5] [MQTT-3.3.1-8] stores a retained message and sends it on subscribe with retain set', async () => {
    const {port, broker} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('r/1', 'kept', {qos: 1, retain: true})
    expect(broker.stats.retained).toBe(1)
    const sub = await connect(port, {clientId: 'sub'})
    const got = nextMessages(sub, 1)
    await sub.subscribeAsync('r/#', {qos: 1})
    const [m] = await got
    expect(m!.payload.toString()).toBe('kept')
    expect(m!.packet.retain).toBe(true)
    expect(m!.packet.qos).toBe(1)
  })

  it('replaces the retained message of a topic', async () => {
    const {port} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('r', 'old', {qos: 1, retain: true})
    await pub.publishAsync('r', 'new', {qos: 1, retain: true})
    const sub = await connect(port, {clientId: 'sub'})
    const got = nextMessages(sub, 1)
    await sub.subscribeAsync('r')
    expect((await got)[0]!.payload.toString()).toBe('new')
    expect(await noMessage(sub, 200)).toBe(true)
  })

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload clears the topic and is not stored', async () => {
    const {port, broker} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('r', 'x', {qos: 1, retain: true})
    await pub.publishAsync('r', '', {qos: 1, retain: true})
    expect(broker.stats.retained).toBe(0)
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('r')
    expect(await noMessage(sub, 200)).toBe(true)
  })

  it('[MQTT-3.3.1-9] a retained message routed to an existing subscription has retain cleared', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('live')
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(sub, 1)
    pub.publish('live', 'x', {retain: true})
    expect((await got)[0]!.packet.retain).toBe(false)
  })

  it('[MQTT-3.8.4-3] re-subscribing to the same filter sends the retained messages again', async () => {
    const {port} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('again', 'x', {qos: 1, retain: true})
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'r'})
    for (let i = 1; i <= 2; i++) {
      raw.send({cmd: 'subscribe', messageId: i, subscriptions: [{topic: 'again', qos: 0}]})
      await raw.next('suback')
      const p = await raw.next('publish')
      expect(p.retain).toBe(true)
    }
  })

  it('keeps retained messages across a restart on the same store', async () => {
    const {MemoryStore} = await import('../../src/broker/store/memory.js')
    const store = new MemoryStore()
    const first = await startBroker({store})
    const pub = await connect(first.port, {clientId: 'pub'})
    await pub.publishAsync('persist/r', 'survives', {qos: 1, retain: true})
    pub.end(true)
    await first.broker.close()
    const second = await startBroker({store})
    const sub = await connect(second.port, {clientId: 'sub'})
    const got = nextMessages(sub, 1)
    await sub.subscribeAsync('persist/#')
    expect((await got)[0]!.payload.toString()).toBe('survives')
  })
})
