/**
 * `broker.retained` over real sockets: what the library API changes reaches mqtt.js subscribers exactly as a
 * retained PUBLISH would, is stored, and reads back with MQTT's filter rules.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {RetainedQuotaError} from '../../src/broker/retained/api.js'
import {cleanup, connect, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

describe('broker.retained', () => {
  it('[MQTT-3.3.1-8] set() reaches a live subscriber now and a later subscriber with retain set', async () => {
    const {port, broker} = await startBroker()
    const live = await connect(port, {clientId: 'live', protocolVersion: 5})
    await live.subscribeAsync('api/#', {qos: 1})
    const now = nextMessages(live, 1)
    await broker.retained.set('api/a', 'hello', {qos: 1, properties: {contentType: 'text/plain', userProperties: {k: 'v'}}})
    const [m] = await now
    expect(m!.payload.toString()).toBe('hello')
    // [MQTT-3.3.1-9] routed to an existing subscription: retain cleared (no Retain As Published).
    expect(m!.packet.retain).toBe(false)
    expect(m!.packet.properties?.contentType).toBe('text/plain')

    const later = await connect(port, {clientId: 'later', protocolVersion: 5})
    const got = nextMessages(later, 1)
    await later.subscribeAsync('api/a', {qos: 1})
    const [r] = await got
    expect(r!.payload.toString()).toBe('hello')
    expect(r!.packet.retain).toBe(true)
    expect(r!.packet.qos).toBe(1)
    expect(r!.packet.properties?.userProperties).toEqual({k: 'v'})
    expect(broker.retained.count).toBe(1)
    expect(broker.retained.bytes).toBe(5)
  })

  it('get() returns what a client published, with when it was stored; delete() reaches subscribers as an empty retained PUBLISH', async () => {
    const {port, broker} = await startBroker()
    const before = Date.now()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('dev/1/state', 'on', {qos: 1, retain: true})
    const got = broker.retained.get('dev/1/state')
    expect(got).toMatchObject({topic: 'dev/1/state', qos: 1})
    expect(got!.payload.toString()).toBe('on')
    expect(got!.storedAt).toBeGreaterThanOrEqual(before)
    expect(got!.expiresAt).toBeUndefined()
    expect(broker.retained.get('dev/1')).toBeUndefined()

    const sub = await connect(port, {clientId: 'sub'})
    const first = nextMessages(sub, 1)
    await sub.subscribeAsync('dev/#')
    await first
    const cleared = nextMessages(sub, 1)
    expect(await broker.retained.delete('dev/1/state')).toBe(true)
    const [m] = await cleared
    expect(m!.topic).toBe('dev/1/state')
    expect(m!.payload.length).toBe(0)
    expect(broker.retained.get('dev/1/state')).toBeUndefined()
    expect(await broker.retained.delete('dev/1/state')).toBe(false)
    // [MQTT-3.3.1-10] nothing is sent to a new subscriber any more.
    const again = await connect(port, {clientId: 'again'})
    await again.subscribeAsync('dev/#')
    expect(await noMessage(again, 200)).toBe(true)
  })

  it('[MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1] forEach and match walk + and # and keep $ topics out of first-level wildcards', async () => {
    const {broker} = await startBroker()
    for (const topic of ['sensor/1', 'sensor/2', 'sensor/2/temp', 'sensor', 'other/x', '$SYS/x', '$app/sensor']) {
      await broker.retained.set(topic, `v:${topic}`)
    }
    const seen: string[] = []
    expect(await broker.retained.forEach('sensor/+', (m) => void seen.push(m.topic))).toBe(2)
    expect(seen.sort()).toEqual(['sensor/1', 'sensor/2'])
    const hash: string[] = []
    for await (const m of broker.retained.match('sensor/#')) hash.push(m.topic)
    expect(hash.sort()).toEqual(['sensor', 'sensor/1', 'sensor/2', 'sensor/2/temp'])
    const all: string[] = []
    await broker.retained.forEach('#', async (m) => {
      await new Promise((r) => setTimeout(r, 1))
      all.push(m.topic)
    })
    expect(all).not.toContain('$SYS/x')
    expect(all).toHaveLength(5)
    const plusFirst: string[] = []
    await broker.retained.forEach('+/sensor', (m) => void plusFirst.push(m.topic))
    expect(plusFirst).toEqual([])
    const dollar: string[] = []
    await broker.retained.forEach('$app/+', (m) => void dollar.push(m.topic))
    expect(dollar).toEqual(['$app/sensor'])
    const everything: string[] = []
    for await (const m of broker.retained) everything.push(m.topic)
    expect(everything).toHaveLength(7)
    // A callback may change retained messages: the matches were taken first.
    await broker.retained.forEach('sensor/#', (m) => broker.retained.delete(m.topic))
    expect(broker.retained.count).toBe(3)
  })

  it('is stored: a broker restarted on the same store delivers what set() stored and not what delete() removed', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    await first.broker.retained.set('keep', 'k', {qos: 1})
    await first.broker.retained.set('drop', 'd')
    await first.broker.retained.delete('drop')
    await first.broker.close()
    const second = await startBroker({store})
    expect(second.broker.retained.count).toBe(1)
    const sub = await connect(second.port, {clientId: 's'})
    const got = nextMessages(sub, 1)
    await sub.subscribeAsync('#', {qos: 1})
    expect((await got)[0]!.topic).toBe('keep')
    expect(await noMessage(sub, 200)).toBe(true)
  })

  it('runs onPublish with a null client and the published event, as the broker publishing a retained message', async () => {
    const seen: string[] = []
    const {broker} = await startBroker({hooks: {onPublish: (client, m) => void seen.push(`hook:${client === null}:${m.topic}:${m.retain}`)}})
    broker.on('publish', (m: {topic: string}, client: unknown) => seen.push(`event:${client === null}:${m.topic}`))
    await broker.retained.set('h/1', 'x')
    expect(seen).toEqual(['hook:true:h/1:true', 'event:true:h/1'])
  })

  it('refuses bad input with clear errors and leaves nothing behind', async () => {
    const {broker} = await startBroker({maxQos: 1, maxRetained: 1})
    await expect(broker.retained.set('a/+', 'x')).rejects.toThrow(/invalid topic "a\/\+".*wildcard/)
    await expect(broker.retained.set('', 'x')).rejects.toThrow(/empty/)
    await expect(broker.retained.set('a', 'x', {qos: 2})).rejects.toThrow(/over the broker's maxQos 1/)
    await expect(broker.retained.set('a', 'x', {ttl: 0})).rejects.toThrow(/ttl must be/)
    await expect(broker.retained.set('a', 'x', {ttl: 1.5})).rejects.toThrow(/ttl must be/)
    await expect(broker.retained.forEach('a/#/b', () => {})).rejects.toThrow(/invalid topic filter/)
    await expect(broker.retained.forEach('$share/g/a', () => {})).rejects.toThrow(/\$share/)
    expect(broker.retained.count).toBe(0)
    await broker.retained.set('one', 'x')
    const error = await broker.retained.set('two', 'y').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetainedQuotaError)
    expect((error as RetainedQuotaError).reasonCode).toBe(0x97)
    // Replacing the one topic still works at the quota.
    await broker.retained.set('one', 'replaced')
    expect(broker.retained.get('one')!.payload.toString()).toBe('replaced')
    expect(broker.stats.retainedRefused).toBe(1)
    const off = await startBroker({retainAvailable: false})
    await expect(off.broker.retained.set('a', 'x')).rejects.toThrow(/not available/)
  })
})
