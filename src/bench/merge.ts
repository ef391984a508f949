/** Turns the partial results of one or more processes into one BenchResult (the `--json` shape). */
import type {Histogram} from 'hdr-histogram-js'
import {bitset__count, bitset__firstSet} from './accounting.js'
import {histogram__create, histogram__decode, histogram__distribution, histogram__summary} from './metrics.js'
import type {BenchResult, BenchSpec, GroupPartial, PartialResult} from './types.js'

function mergeHistograms(encoded: Array<string | null>): Histogram | null {
  const present = encoded.filter((e): e is string => e !== null)
  if (present.length === 0) return null
  const h = histogram__create()
  for (const e of present) h.add(histogram__decode(e))
  return h
}

function sumInto(target: Record<string, number>, source: Record<string, number>): void {
  for (const [k, v] of Object.entries(source)) target[k] = (target[k] ?? 0) + v
}

function sumArrays(arrays: number[][]): number[] {
  const out: number[] = []
  for (const a of arrays) a.forEach((v, i) => (out[i] = (out[i] ?? 0) + v))
  return out
}

interface Tally {
  seen: Uint8Array
  unique: number
  duplicates: number
  outOfOrder: number
}

/** One group's tallies over all processes: bitsets OR-ed, a sequence seen by two processes counted as a duplicate. */
function mergeGroup(parts: GroupPartial[]): Map<number, Tally> {
  const out = new Map<number, Tally>()
  const raw = new Map<number, number>()
  for (const g of parts)
    for (const [key, t] of Object.entries(g.publishers)) {
      const p = Number(key)
      const cur = out.get(p)
      raw.set(p, (raw.get(p) ?? 0) + t.received)
      if (!cur) {
        out.set(p, {seen: t.seen, unique: t.received, duplicates: t.duplicates, outOfOrder: t.outOfOrder})
        continue
      }
      const seen = new Uint8Array(Math.max(cur.seen.length, t.seen.length))
      seen.set(cur.seen)
      for (let i = 0; i < t.seen.length; i++) seen[i]! |= t.seen[i]!
      cur.seen = seen
      cur.duplicates += t.duplicates
      cur.outOfOrder += t.outOfOrder
    }
  for (const [p, t] of out) {
    const unique = parts.length > 1 ? bitset__count(t.seen) : t.unique
    t.duplicates += raw.get(p)! - unique
    t.unique = unique
  }
  return out
}

export function merge__results(spec: BenchSpec, target: string, workers: number, parts: PartialResult[]): BenchResult {
  const elapsedMs = Math.max(...parts.map((p) => p.elapsedMs), 1)
  const receiveMs = Math.max(...parts.map((p) => p.receiveMs), 1)
  const sum = (f: (p: PartialResult) => number): number => parts.reduce((a, p) => a + f(p), 0)
  const failures: Record<string, number> = {}
  const disconnects: Record<string, number> = {}
  const sent: Record<number, number> = {}
  for (const p of parts) {
    sumInto(failures, p.connectFailures)
    sumInto(disconnects, p.disconnects)
    Object.assign(sent, p.sentByPublisher)
  }
  const byGroup = new Map<string, GroupPartial[]>()
  for (const p of parts) for (const g of p.groups) byGroup.set(g.name, [...(byGroup.get(g.name) ?? []), g])

  let delivered = 0
  let duplicates = 0
  let outOfOrder = 0
  let lost = 0
  let expected: number | null = spec.scenario === 'run' ? 0 : null
  const losing: BenchResult['publishersLosing'] = []
  for (const [name, gs] of byGroup) {
    const tallies = mergeGroup(gs)
    const expectedFrom = gs[0]!.expectedFrom
    for (const t of tallies.values()) {
      delivered += t.unique
      duplicates += t.duplicates
      outOfOrder += t.outOfOrder
    }
    // run: every publisher whose topic the group's filter matches owes it each message it sent. sub: the publishers
    // are elsewhere, so a gap between the first and the last sequence seen is what was lost.
    const owed: Array<[number, number]> = expectedFrom
      ? expectedFrom.map((p) => [p, sent[p] ?? 0])
      : [...tallies].map(([p, t]) => [p, t.seen.length === 0 ? 0 : lastSet(t.seen) - bitset__firstSet(t.seen) + 1])
    for (const [p, owes] of owed) {
      if (expected !== null) expected += owes
      const missing = Math.max(0, owes - (tallies.get(p)?.unique ?? 0))
      lost += missing
      if (missing > 0) losing.push({publisher: p, group: name, lost: missing})
    }
  }
  losing.sort((a, b) => b.lost - a.lost)

  const latency = mergeHistograms(parts.map((p) => p.latency))
  const connectLatency = mergeHistograms(parts.map((p) => p.connectLatency))
  const connected = sum((p) => p.connected)
  const published = sum((p) => p.published)
  const stop = parts.find((p) => p.stoppedBy === 'interrupt') ?? parts.find((p) => p.stoppedBy === 'duration') ?? parts[0]!
  return {
    scenario: spec.scenario,
    target,
    startedAt: new Date(Math.min(...parts.map((p) => p.startedAt))).toISOString(),
    elapsedSec: Math.round(elapsedMs) / 1000,
    stoppedBy: stop.stoppedBy,
    partial: parts.some((p) => p.partial),
    workers,
    config: {
      clients: spec.clients,
      publishers: spec.totalPublishers,
      subscribers: spec.subscribers,
      qos: spec.qos,
      subQos: spec.subQos,
      size: spec.size,
      rate: spec.rate,
      inflight: spec.inflight,
      count: spec.count,
      duration: spec.duration,
      topic: spec.topic,
      filter: spec.filter,
    },
    connections: {
      attempted: sum((p) => p.connectAttempts),
      connected,
      failed: Object.values(failures).reduce((a, b) => a + b, 0),
      failures,
      disconnects,
      perSec: spec.scenario === 'conn' ? Math.round((connected * 1000) / elapsedMs) : null,
      latency: histogram__summary(connectLatency),
    },
    published,
    publishedPerSec: Math.round((published * 1000) / elapsedMs),
    acked: sum((p) => p.acked),
    received: sum((p) => p.received),
    delivered,
    deliveredPerSec: Math.round((delivered * 1000) / receiveMs),
    expected,
    lost,
    duplicates,
    outOfOrder,
    foreign: sum((p) => p.foreign),
    latency: histogram__summary(latency),
    ackLatency: histogram__summary(mergeHistograms(parts.map((p) => p.ackLatency))),
    timeline: {
      published: sumArrays(parts.map((p) => p.timeline.published)),
      delivered: sumArrays(parts.map((p) => p.timeline.received)),
      publishedSec: Math.round(elapsedMs) / 1000,
      deliveredSec: Math.round(receiveMs) / 1000,
    },
    latencyDistribution: histogram__distribution(latency),
    publishersLosing: losing.slice(0, 20),
    generator: {
      cpuSec: Math.round(sum((p) => p.cpuMs)) / 1000,
      cpuPercentPerWorker: Math.round(sum((p) => p.cpuMs / Math.max(1, p.cpuWallMs)) * 100 / parts.length),
    },
  }
}

function lastSet(bits: Uint8Array): number {
  for (let i = bits.length - 1; i >= 0; i--) if (bits[i]) for (let j = 7; j >= 0; j--) if (bits[i]! & (1 << j)) return i * 8 + j
  return -1
}
