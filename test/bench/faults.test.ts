/**
 * Loss, duplicates and reordering must be seen when they happen: a proxy between broker and subscriber drops,
 * duplicates or swaps PUBLISH frames on purpose, and bench must report exactly what the proxy did.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {bench__run} from '../../src/bench/runner.js'
import {type Running, spec, startFaultyProxy, startMqttkit} from './brokers.js'

let broker: Running
let proxy: Awaited<ReturnType<typeof startFaultyProxy>> | null = null

beforeAll(async () => {
  broker = await startMqttkit()
})
afterEach(async () => {
  await proxy?.stop()
  proxy = null
})
afterAll(async () => {
  await broker?.stop()
})

// Publishers connect straight to the broker; only the subscriber goes through the proxy. One spec for both sides
// is not possible with one target, so the subscriber side is a `sub` run and the publisher side a `pub` run.
async function throughProxy(policy: Parameters<typeof startFaultyProxy>[1], expectDelivered: number, over: {qos?: 0 | 1; publishers?: number} = {}) {
  proxy = await startFaultyProxy(broker.port, policy)
  const runId = 77
  const qos = over.qos ?? 0
  // `sub` stops once `count` messages were delivered (or at the duration, which a wrong count would hit).
  const sub = bench__run(
    spec(proxy.port, {scenario: 'sub', publishers: 0, subscribers: 1, subQos: qos, count: expectDelivered, duration: 8}),
    'x',
  )
  await new Promise((r) => setTimeout(r, 300))
  const publishers = over.publishers ?? 2
  const pub = await bench__run(spec(broker.port, {scenario: 'pub', publishers, subscribers: 0, qos, count: 1000 / publishers, runId}), 'x')
  return {pub, sub: await sub}
}

describe('bench detects what a misbehaving broker does', () => {
  it('loss: every 10th delivery dropped is counted as lost, per publisher', async () => {
    const {sub} = await throughProxy((n) => (n % 10 === 3 ? 'drop' : 'pass'), 900)
    expect(proxy!.stats.drop).toBe(100)
    // The subscriber alone does not know what was sent beyond the last sequence it saw: lost counts the gaps.
    expect(sub.delivered).toBe(900)
    expect(sub.lost).toBe(100)
    expect(sub.stoppedBy).toBe('count')
    expect(sub.publishersLosing.map((p) => p.publisher).sort()).toEqual([0, 1])
    expect(sub.latency!.count).toBe(900)
  })

  it('duplicates: every 25th delivery sent twice is counted once as delivered and once as a duplicate', async () => {
    const {sub} = await throughProxy((n) => (n % 25 === 0 ? 'duplicate' : 'pass'), 1000, {qos: 1})
    expect(proxy!.stats.duplicate).toBe(40)
    expect(sub.delivered).toBe(1000)
    expect(sub.duplicates).toBe(40)
    expect(sub.lost).toBe(0)
    expect(sub.received).toBeGreaterThanOrEqual(1000)
  })

  it('order: each swap of two deliveries of one publisher is one out-of-order delivery', async () => {
    // One publisher, so every swapped pair belongs to one stream: the 8th of every 50 frames goes after the 9th.
    const {sub} = await throughProxy((n) => (n % 50 === 7 ? 'swap' : 'pass'), 1000, {publishers: 1})
    expect(proxy!.stats.swap).toBe(20)
    expect(sub.delivered).toBe(1000)
    expect(sub.lost).toBe(0)
    expect(sub.duplicates).toBe(0)
    expect(sub.outOfOrder).toBe(20)
  })

  it('run (publishers and subscriber in one run): loss is what was sent minus what arrived', async () => {
    proxy = await startFaultyProxy(broker.port, (n) => (n % 4 === 0 ? 'drop' : 'pass'))
    // All clients go through the proxy; publishers receive no PUBLISH, so only the subscriber's stream is cut.
    const r = await bench__run(spec(proxy.port, {publishers: 1, subscribers: 1, count: 400}), 'x')
    expect(r.expected).toBe(400)
    expect(r.delivered).toBe(300)
    expect(r.lost).toBe(100)
    expect(r.publishersLosing).toEqual([{publisher: 0, group: 'sub-0', lost: 100}])
  })
})
