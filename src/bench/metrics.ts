/** Counters, per-second timelines and latency histograms of one process (µs in HdrHistograms, ms outside). */
import * as hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'
import type {LatencySummary} from './types.js'

/** One hour in µs: anything slower is recorded as one hour. */
const HIGHEST = 3_600_000_000

export function histogram__create(): Histogram {
  return hdr.build({lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3})
}

export function histogram__recordMs(h: Histogram, ms: number): void {
  // Clocks of two machines can disagree; a negative latency is recorded as the smallest value rather than dropped.
  const us = Math.round(ms * 1000)
  h.recordValue(us < 1 ? 1 : us > HIGHEST ? HIGHEST : us)
}

export function histogram__encode(h: Histogram): string | null {
  return h.totalCount === 0 ? null : hdr.encodeIntoCompressedBase64(h)
}

export function histogram__decode(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false, HIGHEST)
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000

export function histogram__summary(h: Histogram | null): LatencySummary | null {
  if (!h || h.totalCount === 0) return null
  const ms = (p: number): number => round3(h.getValueAtPercentile(p) / 1000)
  return {
    count: h.totalCount,
    min: round3(h.minNonZeroValue / 1000),
    mean: round3(h.mean / 1000),
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    p999: ms(99.9),
    max: round3(h.maxValue / 1000),
  }
}

/** [percentile, ms] points for the report's distribution chart, log-spaced towards the tail. */
export function histogram__distribution(h: Histogram | null): Array<[number, number]> {
  if (!h || h.totalCount === 0) return []
  const points: Array<[number, number]> = []
  for (const p of [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100])
    points.push([p, round3(h.getValueAtPercentile(p) / 1000)])
  return points
}

/** Grows-on-demand per-second counter. */
export class Timeline {
  readonly counts: number[] = []
  constructor(private readonly start: number) {}
  add(time: number, n: number): void {
    const second = Math.max(0, Math.floor((time - this.start) / 1000))
    while (this.counts.length <= second) this.counts.push(0)
    this.counts[second]! += n
  }
}

export function count__add(record: Record<string, number>, key: string, n = 1): void {
  record[key] = (record[key] ?? 0) + n
}
