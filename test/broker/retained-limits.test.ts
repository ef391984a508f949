/**
 * --retain-ttl and the retained quotas (--max-retained, --max-retained-bytes) over real sockets, with mqtt.js and
 * raw MQTT 5 / 3.1.1 clients.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {RawClient, cleanup, connect, delay, nextMessages, noMessage, startBroker, until} from './helpers.js'

afterEach(cleanup)

async function retainedOn(port: number, filter: string, wait = 250): Promise<string[]> {
  const sub = await connect(port, {clientId: `probe-${Math.random().toString(16).slice(2)}`})
  const topics: string[] = []
  sub.on('message', (topic, _payload, packet) => {
    if (packet.retain) topics.push(topic)
  })
  await sub.subscribeAsync(filter, {qos: 1})
  await delay(wait)
  sub.end(true)
  return topics.sort()
}

describe('retainTtl', () => {
  it('a retained message older than the TTL is no longer delivered and is deleted (from the store too)', async () => {
    const store = new MemoryStore()
    const {port, broker} = await startBroker({retainTtl: 1, store})
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('ttl/a', 'x', {qos: 1, retain: true})
    expect(await retainedOn(port, 'ttl/#', 50)).toEqual(['ttl/a'])
    // The expiry timer deletes it without any subscribe asking.
    await until(() => broker.stats.retained === 0, 4000, 'the TTL to delete the message')
    expect(broker.stats.retainedExpired).toBe(1)
    expect(await retainedOn(port, 'ttl/#')).toEqual([])
    await broker.close()
    const again = await startBroker({store})
    expect(again.broker.retained.count).toBe(0)
  })

  it('replacing a message restarts its TTL; the replaced message\'s deadline does not delete the new one', async () => {
    const {port, broker} = await startBroker({retainTtl: 3})
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('ttl/r', 'old', {qos: 1, retain: true})
    await delay(1500)
    await pub.publishAsync('ttl/r', 'new', {qos: 1, retain: true})
    await until(() => Date.now() - broker.retained.get('ttl/r')!.storedAt! >= 1600, 3000, 'the first deadline to pass')
    // Past the first message's deadline (3 s), well before the second's: still there.
    expect(broker.retained.get('ttl/r')?.payload.toString()).toBe('new')
    await until(() => broker.retained.count === 0, 5000, 'the second message to expire')
  })

  it('[MQTT-3.3.2-5] an MQTT 5 message expiry shorter than the TTL wins; a longer one does not extend it', async () => {
    const {port, broker} = await startBroker({retainTtl: 2})
    const pub = await connect(port, {clientId: 'pub', protocolVersion: 5})
    await pub.publishAsync('exp/short', 's', {qos: 1, retain: true, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync('exp/long', 'l', {qos: 1, retain: true, properties: {messageExpiryInterval: 3600}})
    expect(broker.retained.get('exp/short')!.expiresAt! - broker.retained.get('exp/short')!.storedAt!).toBeLessThanOrEqual(1000)
    expect(broker.retained.get('exp/long')!.expiresAt! - broker.retained.get('exp/long')!.storedAt!).toBe(2000)
    await until(() => broker.retained.get('exp/short') === undefined, 3000, 'the short expiry')
    expect(broker.retained.get('exp/long')).toBeDefined()
    await until(() => broker.retained.get('exp/long') === undefined, 3000, 'the TTL')
    expect(broker.stats.retained).toBe(0)
  })

  it('without a TTL an MQTT 5 expiry still deletes the message when it passes', async () => {
    const {port, broker} = await startBroker()
    const pub = await connect(port, {clientId: 'pub', protocolVersion: 5})
    await pub.publishAsync('exp/only', 'x', {qos: 1, retain: true, properties: {messageExpiryInterval: 1}})
    await until(() => broker.stats.retained === 0, 3000, 'the expiry')
  })

  it('refuses a bad value with the option name', () => {
    return expect(startBroker({retainTtl: -1})).rejects.toThrow(/retainTtl must be an integer from 0/)
  })
})

describe('maxRetained / maxRetainedBytes', () => {
  it('MQTT 5: a new retained topic past --max-retained gets PUBACK/PUBREC 0x97, is neither stored nor routed; replacing and deleting still work', async () => {
    const {port, broker} = await startBroker({maxRetained: 2})
    const live = await connect(port, {clientId: 'live'})
    await live.subscribeAsync('q/#', {qos: 1})
    const raw = await RawClient.connect(port, 5)
    await raw.handshake({clientId: 'raw5', protocolVersion: 5})
    const publish = async (topic: string, payload: string, qos: 1 | 2, messageId: number) => {
      raw.send({cmd: 'publish', topic, payload, qos, retain: true, messageId, dup: false})
      if (qos === 1) return (await raw.next('puback')).reasonCode
      const rec = await raw.next('pubrec')
      raw.send({cmd: 'pubrel', messageId})
      await raw.next('pubcomp')
      return rec.reasonCode
    }
    const routed = nextMessages(live, 2)
    expect(await publish('q/1', 'a', 1, 1)).toBe(0)
    expect(await publish('q/2', 'b', 2, 2)).toBe(0)
    await routed
    expect(await publish('q/3', 'c', 1, 3)).toBe(0x97)
    expect(await publish('q/4', 'd', 2, 4)).toBe(0x97)
    expect(await noMessage(live, 200)).toBe(true)
    expect(broker.stats.retained).toBe(2)
    expect(broker.stats.retainedRefused).toBe(2)
    // Replacing an existing topic at the quota works.
    expect(await publish('q/1', 'a2', 1, 5)).toBe(0)
    expect(broker.retained.get('q/1')!.payload.toString()).toBe('a2')
    // Deleting makes room for a new topic.
    expect(await publish('q/2', '', 1, 6)).toBe(0)
    expect(await publish('q/3', 'c', 1, 7)).toBe(0)
    expect(await retainedOn(port, 'q/#')).toEqual(['q/1', 'q/3'])
  })

  it('MQTT 3.1.1: the refused message is acknowledged (no negative PUBACK in 3.1.1) but not stored', async () => {
    const {port, broker} = await startBroker({maxRetained: 1})
    const pub = await connect(port, {clientId: 'v4'})
    await pub.publishAsync('v4/1', 'a', {qos: 1, retain: true})
    await pub.publishAsync('v4/2', 'b', {qos: 1, retain: true})
    await pub.publishAsync('v4/3', 'c', {qos: 0, retain: true})
    await until(() => broker.stats.retainedRefused === 2, 2000, 'two refusals')
    expect(await retainedOn(port, 'v4/#')).toEqual(['v4/1'])
  })

  it('--max-retained-bytes counts payload bytes; a replacement may grow the total', async () => {
    const {port, broker} = await startBroker({maxRetainedBytes: 10})
    const pub = await connect(port, {clientId: 'pub', protocolVersion: 5})
    await pub.publishAsync('b/1', '123456', {qos: 1, retain: true})
    const refused = await pub.publishAsync('b/2', '12345', {qos: 1, retain: true}).catch((e: {code?: number}) => e)
    expect((refused as {code?: number}).code).toBe(0x97)
    await pub.publishAsync('b/2', '1234', {qos: 1, retain: true})
    expect(broker.retained.bytes).toBe(10)
    await pub.publishAsync('b/1', '12345678901234', {qos: 1, retain: true})
    expect(broker.retained.bytes).toBe(18)
    expect(broker.retained.count).toBe(2)
  })

  it('logs the refusals at most once a minute, saying how many', async () => {
    const lines: string[] = []
    const logger = {error: () => {}, warn: (m: string) => lines.push(m), info: () => {}, debug: () => {}}
    const {port} = await startBroker({maxRetained: 1, logger})
    const pub = await connect(port, {clientId: 'pub', protocolVersion: 5})
    for (let i = 0; i < 5; i++) await pub.publishAsync(`l/${i}`, 'x', {qos: 1, retain: true}).catch(() => {})
    const quota = lines.filter((l) => l.includes('retained quota'))
    expect(quota).toHaveLength(1)
    expect(quota[0]).toMatch(/--max-retained 1.*1 new retained topic\(s\) refused.*"l\/1"/)
  })
})
