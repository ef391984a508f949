import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {RedisStore} from '../../src/broker/store/redis.js'
import type {Store} from '../../src/broker/store/store.js'
import {existsSync} from 'node:fs'
import {REDIS_SERVER, type RunningRedis, redis__cleanup, redis__start, requireRedis} from '../helpers/redis.js'
import {msg, session, storeSuite} from './store-suite.js'

let redis: RunningRedis | undefined
let n = 0

beforeAll(async () => {
  if (existsSync(REDIS_SERVER)) redis = await redis__start()
})
afterAll(redis__cleanup)

beforeEach((ctx) => {
  requireRedis(ctx)
})

const factory = (maxBatch?: number) => ({
  // Every store gets a cluster name of its own: the tests share one redis-server.
  create: () => new RedisStore({url: redis!.url, clusterName: `suite-${++n}`, maxBatch}),
  reopen: (store: Store) => new RedisStore({url: redis!.url, clusterName: (store as RedisStore).keys.clusterName, maxBatch}),
  // Redis holds what was committed whether or not the process that wrote it lives on: a second store on the same
  // keys, opened while the first is still open (and never closed cleanly before), sees what a crash leaves.
  crash: (store: Store) => new RedisStore({url: redis!.url, clusterName: (store as RedisStore).keys.clusterName, maxBatch}),
})

describe('RedisStore', () => {
  storeSuite(factory())
})

describe('RedisStore (maxBatch 7: commits forced mid-burst)', () => {
  storeSuite(factory(7))
})

describe('RedisStore failures', () => {
  it('refuses to open with a clear StoreError when nothing listens at the URL', async () => {
    const store = new RedisStore({url: 'redis://127.0.0.1:1/0', connectTimeout: 2000})
    await expect(store.open()).rejects.toMatchObject({name: 'StoreError', code: 'unavailable', message: expect.stringMatching(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0/)})
  })

  it('refuses a bad URL, a Redis Cluster URL and a bad cluster name', () => {
    expect(() => new RedisStore({url: 'redis://:pw@/x'})).toThrow(/StoreError|host|number/)
    expect(() => new RedisStore({url: 'redis+cluster://a:1,b:2'})).toThrow(/not supported yet/)
    expect(() => new RedisStore({url: 'redis://127.0.0.1:6379/0', clusterName: 'bad name'})).toThrow(/cluster name/)
  })

  it('never shows the password in its name', () => {
    expect(new RedisStore({url: 'redis://u:secret@127.0.0.1:6390/2'}).name).toBe('redis://127.0.0.1:6390/2 (cluster mqttkit)')
  })

  it('while Redis is down flush() rejects (nothing acknowledged it cannot keep), then the pending batch lands by itself', async () => {
    const own = await redis__start()
    const errors: Error[] = []
    let recovered = 0
    const store = new RedisStore({url: own.url, onError: (e) => errors.push(e)})
    store.onRecovered = () => recovered++
    await store.open()
    store.saveSession(session('before'))
    await store.flush()
    await own.stop()
    store.saveSession(session('during'))
    store.enqueue({clientId: 'during', seq: 1, message: msg('t', 'kept')})
    await expect(store.flush()).rejects.toMatchObject({name: 'StoreError'})
    await expect(store.flush()).rejects.toMatchObject({name: 'StoreError'})
    expect(errors).toHaveLength(1) // logged once per outage, not once per retry
    await own.start()
    // The retry loop commits what was pending without anyone asking.
    const deadline = Date.now() + 10_000
    while (recovered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(recovered).toBe(1)
    await store.flush()
    const second = new RedisStore({url: own.url})
    const snapshot = await second.open()
    await second.close()
    await store.close()
    // appendonly off and the server restarted: only what was written after the restart is there, which is the
    // batch kept pending through the outage (a real deployment keeps 'before' too with appendonly yes).
    expect(snapshot.sessions.map((s) => s.clientId)).toContain('during')
    expect(snapshot.queued.map((q) => q.message.payload.toString())).toEqual(['kept'])
    await own.dispose()
  })
})
