/**
 * --retain-ttl across restarts of the CLI broker on one SQLite file: the store keeps when each retained message was
 * stored, so the TTL counts from the original publish, not from the restart. Real sockets, mqtt.js clients.
 */
import {describe, expect, it} from 'vitest'
import {
  crash__registerCleanup,
  crash__collect as collect,
  crash__connect as connect,
  crash__dbPath as dbPath,
  crash__start as start,
} from './crash-helpers.js'
import type {BrokerProcess} from './broker-process.js'

crash__registerCleanup()

async function retainedTopics(broker: BrokerProcess, filter: string): Promise<string[]> {
  const sub = collect(broker, {clientId: `ttl-sub-${Date.now()}`, protocolVersion: 5})
  await sub.connack
  await sub.client.subscribeAsync(filter, {qos: 1})
  await new Promise((resolve) => setTimeout(resolve, 300))
  sub.client.end(true)
  return sub.received.filter((m) => m.retain).map((m) => m.topic).sort()
}

describe('--retain-ttl with the SQLite store', () => {
  it('the TTL counts from the original publish across restarts (clean stop and kill -9); an expired message is deleted at start', async () => {
    const db = dbPath('retain-ttl.db')
    let broker = await start(db, undefined, ['--retain-ttl', '3600'])
    const pub = await connect(broker, {clientId: 'ttl-pub', protocolVersion: 5})
    const publishedAt = Date.now()
    await pub.publishAsync('ttl/a', 'a', {qos: 1, retain: true})
    await pub.publishAsync('ttl/b', 'b', {qos: 1, retain: true})
    await pub.endAsync()
    expect(await broker.stop(), broker.output).toBe(0)

    // With a long TTL both come back (the store kept them).
    broker = await start(db, broker.port, ['--retain-ttl', '3600'])
    expect(await retainedTopics(broker, 'ttl/#')).toEqual(['ttl/a', 'ttl/b'])
    await broker.kill9()

    // 3 s after the publish, a 3 s TTL has passed: had the restart restarted the clock, they would still be here.
    const wait = publishedAt + 3500 - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    broker = await start(db, broker.port, ['--retain-ttl', '3'])
    expect(await retainedTopics(broker, 'ttl/#')).toEqual([])
    expect(await broker.stop(), broker.output).toBe(0)

    // Deleted from the file, not merely hidden: a long TTL does not bring them back.
    broker = await start(db, broker.port, ['--retain-ttl', '3600'])
    expect(await retainedTopics(broker, 'ttl/#')).toEqual([])
  }, 60_000)

  it('a bad --retain-ttl is refused with the flag name', async () => {
    const {BrokerProcess} = await import('./broker-process.js')
    const {code, output} = await BrokerProcess.refuse(['--store', 'memory', '--retain-ttl', '-5'])
    expect(code).not.toBe(0)
    expect(output).toMatch(/retain-ttl/)
  }, 30_000)
})
