/**
 * Wills of clients that were connected when the broker died. A crash is simulated by freezing what the store held
 * at that moment into a fresh MemoryStore and starting a second broker on it: no shutdown code of the first broker
 * runs for the second one's state (destroying sockets would run the connection-closed logic, which is exactly what
 * a crash skips). The first broker goes away in cleanup, writing only to its own store.
 */
import type {IClientOptions} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {cleanup, connect, connectRecording, delay, startBroker, until, waitForCount} from './helpers.js'

afterEach(cleanup)

/** The store as a `kill -9` would leave it: a copy of everything recorded so far, opened by the next broker. */
async function crashedCopy(store: MemoryStore): Promise<MemoryStore> {
  const snapshot = await store.open()
  const copy = new MemoryStore()
  for (const message of snapshot.retained) copy.setRetained(message)
  for (const session of snapshot.sessions) copy.saveSession({...session, disconnectedAt: null})
  for (const record of snapshot.queued) copy.enqueue(record)
  for (const record of snapshot.inflight) copy.setInflight(record)
  return copy
}

/** The will the crashed store holds for a client (what the restart has to work with). */
async function storedWill(store: MemoryStore, clientId: string): Promise<string | undefined> {
  const snapshot = await store.open()
  return snapshot.sessions.find((s) => s.clientId === clientId)?.will?.topic
}

const WATCHER = {clientId: 'watcher', clean: false} satisfies IClientOptions

/** A persistent QoS 1 subscriber to `wills/#`, offline when the crash happens so the will is queued for it. */
async function watcherSession(port: number): Promise<void> {
  const watcher = await connect(port, WATCHER)
  await watcher.subscribeAsync('wills/#', {qos: 1})
  await watcher.endAsync()
}

function will(name: string, delayInterval?: number): IClientOptions['will'] {
  const base = {topic: `wills/${name}`, payload: Buffer.from(`${name} is gone`), qos: 1 as const, retain: false}
  return delayInterval === undefined ? base : {...base, properties: {willDelayInterval: delayInterval}}
}

describe('wills across a broker crash', () => {
  for (const clean of [true, false]) {
    it(`[MQTT-3.1.2-8] the will of a 3.1.1 client (clean session ${clean ? 1 : 0}) connected at the crash is published at once after the restart`, async () => {
      const store = new MemoryStore()
      const first = await startBroker({store})
      await watcherSession(first.port)
      await connect(first.port, {clientId: 'device', clean, protocolVersion: 4, will: will('device')})
      const crashed = await crashedCopy(store)

      const second = await startBroker({store: crashed})
      const {received} = await connectRecording(second.port, WATCHER)
      const [m] = await waitForCount(received, 1)
      expect(m!.topic).toBe('wills/device')
      expect(m!.payload.toString()).toBe('device is gone')
      await delay(200)
      expect(received).toHaveLength(1)
      // A clean session was stored only for its will: it ended with it. A persistent one stays.
      expect(second.broker.stats.sessions).toBe(clean ? 1 : 2)
    })
  }

  it('[MQTT-3.1.2-10] a will removed by a normal DISCONNECT before the crash is not published after the restart', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    await watcherSession(first.port)
    for (const clean of [true, false]) {
      const client = await connect(first.port, {clientId: `tidy-${clean}`, clean, protocolVersion: 4, will: will('tidy')})
      await client.endAsync()
    }
    await until(() => first.broker.clientIds.length === 0)
    const crashed = await crashedCopy(store)
    expect(await storedWill(crashed, 'tidy-false'), 'the persistent session is kept without its will').toBeUndefined()
    expect((await crashed.open()).sessions.map((s) => s.clientId).sort(), 'the clean session record is gone').toEqual(['tidy-false', 'watcher'])

    const second = await startBroker({store: crashed})
    const {received} = await connectRecording(second.port, WATCHER)
    await delay(300)
    expect(received).toEqual([])
  })

  it('[MQTT-3.1.3-9] an MQTT 5 will with a delay is published once the delay after the crash has passed', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    await watcherSession(first.port)
    const options = {clientId: 'v5', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 60}, will: will('v5', 2)} satisfies IClientOptions
    await connect(first.port, options)
    const crashedAt = Date.now()
    const crashed = await crashedCopy(store)

    const second = await startBroker({store: crashed})
    const {received} = await connectRecording(second.port, WATCHER)
    await delay(1000)
    expect(received, 'published before its delay').toEqual([])
    const [m] = await waitForCount(received, 1, 4000)
    expect(m!.topic).toBe('wills/v5')
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(2000)
  })

  it('[MQTT-3.1.3-9] a client reconnecting within the will delay after the crash cancels its will', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    await watcherSession(first.port)
    const options = {clientId: 'v5', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 60}, will: will('v5', 2)} satisfies IClientOptions
    await connect(first.port, options)
    const crashed = await crashedCopy(store)
    expect(await storedWill(crashed, 'v5')).toBe('wills/v5')

    const second = await startBroker({store: crashed})
    const {received} = await connectRecording(second.port, WATCHER)
    const back = await connect(second.port, {...options, will: undefined})
    expect(back.connected).toBe(true)
    await delay(2800)
    expect(received).toEqual([])
  })

  it('[MQTT-3.1.2-8] a clean shutdown (close) still publishes the will then, and the restart does not publish it again', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    await watcherSession(first.port)
    await connect(first.port, {clientId: 'device', protocolVersion: 4, will: will('device')})
    await first.broker.close()

    const second = await startBroker({store})
    const {received} = await connectRecording(second.port, WATCHER)
    await waitForCount(received, 1)
    await delay(300)
    expect(received.map((m) => m.topic)).toEqual(['wills/device'])
    expect(second.broker.stats.sessions).toBe(1)
  })
})
