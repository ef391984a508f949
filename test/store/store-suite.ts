/**
 * The ONE suite every Store implementation passes (memory, sqlite, or your own): call `storeSuite(factory)` from a
 * `<store>.test.ts` file. It checks the contract in store.ts through the public methods only.
 */
import {afterEach, describe, expect, it} from 'vitest'
import type {InflightRecord, QueuedRecord, SessionRecord, Store, StoredMessage} from '../../src/broker/store/store.js'

export interface StoreFactory {
  /** A new, empty store (not opened). */
  create(): Promise<Store> | Store
  /** A store over the same data after `store` was closed: a clean restart (memory: the same instance). */
  reopen(store: Store): Promise<Store> | Store
  /**
   * A store over what `store` left behind if the process died right now, without close() (sqlite: a copy of the
   * database and its write-ahead log; memory: the same instance).
   */
  crash(store: Store): Promise<Store> | Store
}

export function msg(topic: string, payload: string | Buffer, extra: Partial<StoredMessage> = {}): StoredMessage {
  return {topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos: 1, retain: false, ...extra}
}

export function session(clientId: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    clientId,
    protocolVersion: 5,
    expiryInterval: 3600,
    disconnectedAt: 1_700_000_000_000,
    subscriptions: [{filter: 'a/+', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0}],
    ...extra,
  }
}

const richMessage = msg('sensors/é/温度', Buffer.from([0, 255, 1, 254, 10, 13]), {
  qos: 2,
  retain: true,
  properties: {
    payloadFormatIndicator: false,
    messageExpiryInterval: 600,
    contentType: 'application/octet-stream',
    responseTopic: 'reply/here',
    correlationData: Buffer.from([1, 2, 3, 0]),
    userProperties: {a: '1', b: ['x', 'y']},
  },
  expiresAt: Date.now() + 600_000,
})

export function storeSuite(factory: StoreFactory): void {
  const opened: Store[] = []

  async function fresh(): Promise<Store> {
    const store = await factory.create()
    expect(await store.open()).toEqual({retained: [], sessions: [], queued: [], inflight: []})
    opened.push(store)
    return store
  }

  /** Closes `store` and opens the same data again; returns the new store and its snapshot. */
  async function restart(store: Store) {
    await store.close()
    const next = await factory.reopen(store)
    const snapshot = await next.open()
    opened.push(next)
    return {store: next, snapshot}
  }

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close().catch(() => undefined)
  })

  describe('retained messages', () => {
    it('sets, replaces and deletes (empty payload) by topic', async () => {
      const store = await fresh()
      store.setRetained(msg('t/1', 'one', {retain: true}))
      store.setRetained(msg('t/2', 'two', {retain: true}))
      store.setRetained(msg('t/1', 'uno', {retain: true, qos: 0}))
      store.setRetained(msg('t/2', '', {retain: true}))
      store.setRetained(msg('t/never', '', {retain: true}))
      await store.flush()
      const {snapshot} = await restart(store)
      expect(snapshot.retained).toEqual([msg('t/1', 'uno', {retain: true, qos: 0})])
    })

    it('keeps binary payloads, MQTT 5 properties and expiry exactly', async () => {
      const store = await fresh()
      store.setRetained(richMessage)
      const big = msg('big', Buffer.alloc(1024 * 1024, 7), {retain: true})
      store.setRetained(big)
      const {snapshot} = await restart(store)
      const byTopic = new Map(snapshot.retained.map((m) => [m.topic, m]))
      expect(byTopic.get(richMessage.topic)).toEqual(richMessage)
      expect(Buffer.isBuffer(byTopic.get(richMessage.topic)!.properties!.correlationData)).toBe(true)
      expect(byTopic.get('big')!.payload.equals(big.payload)).toBe(true)
    })

    it('purges expired messages at open', async () => {
      const store = await fresh()
      store.setRetained(msg('old', 'x', {retain: true, expiresAt: Date.now() - 1}))
      store.setRetained(msg('new', 'y', {retain: true, expiresAt: Date.now() + 60_000}))
      const {snapshot} = await restart(store)
      expect(snapshot.retained.map((m) => m.topic)).toEqual(['new'])
    })

    it('keeps when each retained message was stored (--retain-ttl counts from it across restarts)', async () => {
      const store = await fresh()
      const storedAt = Date.now() - 5000
      store.setRetained(msg('dated', 'x', {retain: true, storedAt}))
      store.setRetained(msg('undated', 'y', {retain: true}))
      const {snapshot} = await restart(store)
      const byTopic = new Map(snapshot.retained.map((m) => [m.topic, m]))
      expect(byTopic.get('dated')!.storedAt).toBe(storedAt)
      expect(byTopic.get('undated')!.storedAt).toBeUndefined()
    })
  })

  describe('sessions', () => {
    it('upserts a session with its subscriptions and pending will', async () => {
      const store = await fresh()
      store.saveSession(session('c1'))
      const updated = session('c1', {
        protocolVersion: 4,
        expiryInterval: 0xffffffff,
        subscriptions: [
          {filter: 'a/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 7},
          {filter: '$share/g/b/+', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 1},
        ],
        will: {...richMessage, retain: false, delayInterval: 30},
      })
      store.saveSession(updated)
      const {snapshot} = await restart(store)
      expect(snapshot.sessions).toEqual([updated])
      expect(Buffer.isBuffer(snapshot.sessions[0]!.will!.payload)).toBe(true)
    })

    it('stores a copy: changing the object afterwards does not change the store', async () => {
      const store = await fresh()
      const live = session('c1')
      store.saveSession(live)
      live.subscriptions.push({filter: 'late', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0})
      live.disconnectedAt = 1
      const {snapshot} = await restart(store)
      expect(snapshot.sessions).toEqual([session('c1')])
    })

    it('deleting a session deletes its queue and inflight records, not other clients\' ones', async () => {
      const store = await fresh()
      for (const id of ['gone', 'kept']) {
        store.saveSession(session(id))
        store.enqueue({clientId: id, seq: 1, message: msg('a/b', id)})
        store.setInflight({clientId: id, packetId: 1, direction: 'outgoing', state: 'publish', message: msg('a/b', id)})
        store.setInflight({clientId: id, packetId: 2, direction: 'incoming', state: 'pubrel'})
      }

      await store.flush()
      store.deleteSession('gone')
      const {snapshot} = await restart(store)
      expect(snapshot.sessions.map((s) => s.clientId)).toEqual(['kept'])
      expect(snapshot.queued.map((q) => q.clientId)).toEqual(['kept'])
      expect(snapshot.inflight.map((r) => r.clientId)).toEqual(['kept', 'kept'])
    })

    it('a session saved again after its deletion starts empty and keeps what came after', async () => {
      const store = await fresh()
      store.saveSession(session('c'))
      store.enqueue({clientId: 'c', seq: 1, message: msg('a/b', 'before')})
      store.deleteSession('c')
      store.saveSession(session('c', {expiryInterval: 5}))
      store.enqueue({clientId: 'c', seq: 1, message: msg('a/b', 'after')})
      const {snapshot} = await restart(store)
      expect(snapshot.sessions).toEqual([session('c', {expiryInterval: 5})])
      expect(snapshot.queued.map((q) => q.message.payload.toString())).toEqual(['after'])
    })

    it('a session stored as connected comes back disconnected at the time the store stopped', async () => {
      const store = await fresh()
      store.saveSession(session('online', {disconnectedAt: null}))
      const before = Date.now()
      const {snapshot} = await restart(store)
      const at = snapshot.sessions[0]!.disconnectedAt
      expect(at).toBeTypeOf('number')
      expect(at!).toBeGreaterThanOrEqual(before - 1000)
      expect(at!).toBeLessThanOrEqual(Date.now())
    })
  })

  describe('offline queues', () => {
    it('returns each client\'s queue in seq order whatever the enqueue order', async () => {
      const store = await fresh()
      const rec = (clientId: string, seq: number): QueuedRecord => ({clientId, seq, message: msg(`q/${seq}`, `${clientId}${seq}`)})
      for (const seq of [3, 1, 2]) store.enqueue(rec('b', seq))
      for (const seq of [10, 2, 1_000_000_000_000]) store.enqueue(rec('a', seq))
      store.enqueue({...rec('a', 5), subscriptionIds: [1, 42]})
      const {snapshot} = await restart(store)
      // Grouped by client (in any client order), each client's records in seq order.
      const order = snapshot.queued.map((q) => `${q.clientId}:${q.seq}`)
      const a = ['a:2', 'a:5', 'a:10', 'a:1000000000000']
      const b = ['b:1', 'b:2', 'b:3']
      expect([[...a, ...b], [...b, ...a]]).toContainEqual(order)
      expect(snapshot.queued.find((q) => q.clientId === 'a' && q.seq === 5)).toEqual({...rec('a', 5), subscriptionIds: [1, 42]})
    })

    it('dequeues, also before the enqueue was committed', async () => {
      const store = await fresh()
      for (let seq = 1; seq <= 5; seq++) store.enqueue({clientId: 'c', seq, message: msg('t', `m${seq}`)})
      await store.flush()
      store.dequeue('c', 1)
      store.enqueue({clientId: 'c', seq: 6, message: msg('t', 'm6')})
      store.dequeue('c', 6)
      store.dequeue('c', 99)
      store.dequeue('nobody', 1)
      const {snapshot} = await restart(store)
      expect(snapshot.queued.map((q) => q.message.payload.toString())).toEqual(['m2', 'm3', 'm4', 'm5'])
    })

    it('keeps an empty payload and purges expired messages at open', async () => {
      const store = await fresh()
      store.enqueue({clientId: 'c', seq: 1, message: msg('t', '')})
      store.enqueue({clientId: 'c', seq: 2, message: msg('t', 'stale', {expiresAt: Date.now() - 5})})
      store.enqueue({clientId: 'c', seq: 3, message: richMessage})
      const {snapshot} = await restart(store)
      expect(snapshot.queued).toEqual([
        {clientId: 'c', seq: 1, message: msg('t', '')},
        {clientId: 'c', seq: 3, message: richMessage},
      ])
    })
  })

  describe('inflight messages', () => {
    it('keeps both directions apart for the same packet id and replaces by (client, direction, packet id)', async () => {
      const store = await fresh()
      const out: InflightRecord = {clientId: 'c', packetId: 7, direction: 'outgoing', state: 'publish', message: richMessage}
      store.setInflight(out)
      store.setInflight({...out, subscriptionIds: [3]})
      store.setInflight({clientId: 'c', packetId: 7, direction: 'incoming', state: 'pubrel'})
      store.setInflight({clientId: 'c', packetId: 65535, direction: 'outgoing', state: 'pubrel'})
      const {snapshot, store: second} = await restart(store)
      const key = (r: InflightRecord) => `${r.direction}:${r.packetId}`
      const byKey = new Map(snapshot.inflight.map((r) => [key(r), r]))
      expect(byKey.size).toBe(3)
      expect(byKey.get('outgoing:7')).toEqual({...out, subscriptionIds: [3]})
      expect(byKey.get('incoming:7')).toEqual({clientId: 'c', packetId: 7, direction: 'incoming', state: 'pubrel'})
      expect(byKey.get('outgoing:65535')).toEqual({clientId: 'c', packetId: 65535, direction: 'outgoing', state: 'pubrel'})

      second.deleteInflight('c', 'outgoing', 7)
      second.deleteInflight('c', 'incoming', 8)
      const {snapshot: after} = await restart(second)
      expect(after.inflight.map(key).sort()).toEqual(['incoming:7', 'outgoing:65535'])
    })
  })

  describe('batched writes', () => {
    it('deletes exactly the dequeued and acknowledged records, whatever the gaps', async () => {
      const store = await fresh()
      for (let seq = 1; seq <= 40; seq++) store.enqueue({clientId: 'c', seq, message: msg('t', `m${seq}`)})
      for (const direction of ['outgoing', 'incoming'] as const) {
        for (let packetId = 1; packetId <= 40; packetId++) {
          store.setInflight({clientId: 'c', packetId, direction, state: 'publish', message: msg('t', `${direction}${packetId}`)})
        }
      }

      await store.flush()
      const gone = [2, 3, 4, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 39, 40]
      for (const seq of gone) store.dequeue('c', seq)
      for (const packetId of gone) store.deleteInflight('c', 'outgoing', packetId)
      store.deleteInflight('c', 'incoming', 1)
      const {snapshot} = await restart(store)
      const kept = Array.from({length: 40}, (_, i) => i + 1).filter((n) => !gone.includes(n))
      expect(snapshot.queued.map((q) => q.seq)).toEqual(kept)
      const ids = (direction: string) =>
        snapshot.inflight.filter((r) => r.direction === direction).map((r) => r.packetId).sort((a, b) => a - b)
      expect(ids('outgoing')).toEqual(kept)
      expect(ids('incoming')).toEqual(Array.from({length: 39}, (_, i) => i + 2))
      expect(snapshot.inflight.find((r) => r.direction === 'incoming' && r.packetId === 33)!.message!.payload.toString()).toBe('incoming33')
    })
  })

  describe('durability', () => {
    it('everything flushed survives a crash (no close)', async () => {
      const store = await fresh()
      store.setRetained(msg('r', 'kept', {retain: true}))
      store.saveSession(session('c'))
      const queued: QueuedRecord[] = []
      for (let seq = 1; seq <= 500; seq++) {
        const record = {clientId: 'c', seq, message: msg('t', `m${seq}`)}
        queued.push(record)
        store.enqueue(record)
      }

      store.setInflight({clientId: 'c', packetId: 1, direction: 'outgoing', state: 'publish', message: msg('t', 'm0')})
      // Many concurrent flushes, as a burst of PUBLISH packets produces: all resolve.
      await Promise.all([store.flush(), store.flush(), store.flush()])
      const crashed = await factory.crash(store)
      opened.push(crashed)
      const snapshot = await crashed.open()
      expect(snapshot.retained).toEqual([msg('r', 'kept', {retain: true})])
      expect(snapshot.sessions).toEqual([session('c')])
      expect(snapshot.queued).toEqual(queued)
      expect(snapshot.inflight).toHaveLength(1)
    })

    it('flush with nothing pending resolves', async () => {
      const store = await fresh()
      await expect(store.flush()).resolves.toBeUndefined()
    })

    it('close() commits what is pending; a full round trip keeps every record kind', async () => {
      const store = await fresh()
      const s = session('c', {will: {...msg('will/t', 'bye'), delayInterval: 0}})
      store.saveSession(s)
      store.setRetained(richMessage)
      store.enqueue({clientId: 'c', seq: 1, message: richMessage, subscriptionIds: [9]})
      store.setInflight({clientId: 'c', packetId: 3, direction: 'incoming', state: 'pubrel'})
      let {store: current, snapshot} = await restart(store)
      for (let i = 0; i < 2; i++) ({store: current, snapshot} = await restart(current))
      expect(snapshot).toEqual({
        retained: [richMessage],
        sessions: [s],
        queued: [{clientId: 'c', seq: 1, message: richMessage, subscriptionIds: [9]}],
        inflight: [{clientId: 'c', packetId: 3, direction: 'incoming', state: 'pubrel'}],
      })
    })

    it('refuses a mutation after close() with a StoreError instead of losing it', async () => {
      const store = await fresh()
      await store.close()
      expect(() => store.setRetained(msg('t', 'x'))).toThrowError(expect.objectContaining({name: 'StoreError', code: 'closed'}))
      expect(() => store.enqueue({clientId: 'c', seq: 1, message: msg('t', 'x')})).toThrow(/after close/)
    })
  })
}
