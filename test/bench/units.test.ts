/** The pure parts of bench: topic templates and matching, accounting, merging partial results, comparison, report. */
import {describe, expect, it} from 'vitest'
import {DeliveryGroup, SubscriberTally} from '../../src/bench/accounting.js'
import {compare__median, compare__summarise} from '../../src/bench/compare.js'
import {merge__results} from '../../src/bench/merge.js'
import {histogram__create, histogram__encode} from '../../src/bench/metrics.js'
import {report__html} from '../../src/bench/report.js'
import {topic__expand, topic__matches, topic__splitShare} from '../../src/bench/topic.js'
import type {BenchResult, PartialResult} from '../../src/bench/types.js'
import {spec} from './brokers.js'

describe('topics', () => {
  it('expands %i and %c', () => {
    expect(topic__expand('a/%i/b/%c', 7, 42)).toBe('a/7/b/42')
  })
  it('matches filters as MQTT does [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1]', () => {
    expect(topic__matches('a/#', 'a')).toBe(true)
    expect(topic__matches('a/#', 'a/b/c')).toBe(true)
    expect(topic__matches('a/+', 'a/b')).toBe(true)
    expect(topic__matches('a/+', 'a/b/c')).toBe(false)
    expect(topic__matches('#', '$SYS/x')).toBe(false)
    expect(topic__matches('a/b', 'a/b')).toBe(true)
    expect(topic__matches('a/b', 'a/bc')).toBe(false)
  })
  it('splits $share filters', () => {
    expect(topic__splitShare('$share/g/a/#')).toEqual({group: 'g', filter: 'a/#'})
    expect(topic__splitShare('a/#')).toEqual({group: null, filter: 'a/#'})
  })
})

describe('accounting', () => {
  it('counts duplicates and out-of-order arrivals per subscriber', () => {
    const g = new DeliveryGroup('g', [0])
    const s = new SubscriberTally(g)
    for (const seq of [0, 1, 3, 2, 3, 4, 5000]) s.record(0, seq)
    const t = g.tally(0)
    expect(t).toMatchObject({received: 6, duplicates: 1, outOfOrder: 1, maxSeq: 5000})
  })
})

function partial(over: Partial<PartialResult>): PartialResult {
  return {
    startedAt: Date.now(), elapsedMs: 1000, receiveMs: 1000, cpuMs: 100, cpuWallMs: 1000, stoppedBy: 'count', partial: false, connectAttempts: 1, connected: 1,
    connectFailures: {}, disconnects: {}, published: 0, acked: 0, received: 0, foreign: 0, latency: null,
    ackLatency: null, connectLatency: null, timeline: {published: [], received: []}, groups: [], sentByPublisher: {},
    ...over,
  }
}

describe('merge', () => {
  it('merges workers: histograms added, a shared group seeing one sequence twice counts a duplicate', () => {
    const h1 = histogram__create()
    h1.recordValue(1000)
    const h2 = histogram__create()
    h2.recordValue(3000)
    h2.recordValue(5000)
    // Worker A saw sequences 0-3 of publisher 0, worker B saw 3-5: 6 unique, one duplicate (3), publisher sent 8.
    const bits = (seqs: number[]): Uint8Array => {
      const b = new Uint8Array(1)
      for (const s of seqs) b[0]! |= 1 << s
      return b
    }
    const group = (seen: number[]) => ({
      name: '$share/g/x',
      expectedFrom: [0],
      publishers: {0: {seen: bits(seen), received: seen.length, duplicates: 0, outOfOrder: 0, maxSeq: Math.max(...seen)}},
    })
    const a = partial({latency: histogram__encode(h1), groups: [group([0, 1, 2, 3])], sentByPublisher: {0: 8}, received: 4, timeline: {published: [8], received: [4]}})
    const b = partial({latency: histogram__encode(h2), groups: [group([3, 4, 5])], received: 3, timeline: {published: [], received: [1, 2]}})
    const r = merge__results(spec(1, {publishers: 1}), 't', 2, [a, b])
    expect(r.delivered).toBe(6)
    expect(r.duplicates).toBe(1)
    expect(r.expected).toBe(8)
    expect(r.lost).toBe(2)
    expect(r.latency!.count).toBe(3)
    expect(r.latency!.max).toBeCloseTo(5, 1)
    expect(r.timeline.delivered).toEqual([5, 2])
  })
})

describe('compare', () => {
  it('takes medians over rounds and ratios to the first broker', () => {
    expect(compare__median([3, 1, 2])).toBe(2)
    expect(compare__median([4, 1, 2, 3])).toBe(2.5)
    const mk = (rate: number, p50: number): BenchResult =>
      ({scenario: 'run', deliveredPerSec: rate, publishedPerSec: rate, lost: 0, duplicates: 0, latency: {p50, p99: p50, max: p50}, ackLatency: null, connections: {perSec: null, failed: 0, latency: null}}) as unknown as BenchResult
    const c = compare__summarise(['a', 'b'], [[mk(100, 1), mk(120, 1), mk(110, 1)], [mk(200, 2), mk(220, 4), mk(210, 3)]])
    const delivered = c.metrics.find((m) => m.name === 'deliveredPerSec')!
    expect(delivered.values).toEqual([{median: 110, ratio: 1}, {median: 210, ratio: 1.91}])
    expect(c.metrics.find((m) => m.name === 'latency.p50')!.values[1]).toEqual({median: 3, ratio: 3})
    expect(c.rounds).toBe(3)
  })
})

describe('report', () => {
  it('is one self-contained page: inline SVG charts, no scripts, no external resources', () => {
    const h = histogram__create()
    for (let i = 1; i <= 100; i++) h.recordValue(i * 10)
    const r = merge__results(spec(1), 'mqtt://x:1', 1, [partial({latency: histogram__encode(h), timeline: {published: [5, 6], received: [5, 6]}})])
    const html = report__html([r])
    expect(html).toContain('<svg')
    expect(html).toContain('Throughput over time')
    expect(html).toContain('latency distribution')
    expect(html).not.toMatch(/<script|src=|href=/i)
  })
})

describe('flags → spec', () => {
  it('splits --total-rate over publishers, bounds every run, defaults the subscription QoS', async () => {
    const {bench__spec, bench__target} = await import('../../src/bench/cli.js')
    const t = bench__target({host: '127.0.0.1', port: 1883})
    const base = {workers: 1, 'connect-rate': 0, 'connect-concurrency': 10, rounds: 1}
    const s = bench__spec('run', {...base, publishers: 4, 'total-rate': '1000', qos: 1}, t)
    expect(s.rate).toBe(250)
    expect(s.subQos).toBe(1)
    expect(s.duration).toBe(10)
    expect(bench__spec('pub', {...base, count: 5}, t).duration).toBe(300)
    expect(bench__spec('sub', {...base, qos: 2}, t).subQos).toBe(0)
    expect(() => bench__spec('run', {...base, size: 10}, t)).toThrow(/--size >= 24/)
    expect(() => bench__spec('pub', {...base, rate: '-3'}, t)).toThrow(/--rate must be a number >= 0/)
    expect(t.clientIdPrefix).toMatch(/^mkb-[0-9a-f]{6}-$/)
    expect(t.protocolVersion).toBe(5)
  })
})
