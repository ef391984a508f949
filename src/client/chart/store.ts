/**
 * What `sub --chart` remembers: per topic, the window's values folded into fixed time buckets (count, sum, min,
 * max, last), so memory and drawing cost stay the same at 10 msg/s and at 10,000 msg/s; message counts for the
 * messages-per-second line; non-numeric messages and series past `--series-max`, counted by topic.
 */
import {chart__value} from './extract.js'

/** Buckets per window: finer than any terminal is wide, coarse enough to keep a frame cheap. */
const bucketsPerWindow = 600

export interface Bucket {
  /** floor(time / bucketMs). */
  index: number
  count: number
  sum: number
  min: number
  max: number
  last: number
}

export interface Series {
  topic: string
  /** Position among the visible series (its colour). */
  slot: number
  buckets: Bucket[]
  last: number
  /** Numeric messages since the start. */
  total: number
}

export interface WindowStats {
  last: number
  min: number
  max: number
  mean: number
  count: number
}

function fold(buckets: Bucket[], index: number, value: number): void {
  const tail = buckets[buckets.length - 1]
  if (tail !== undefined && tail.index === index) {
    tail.count += 1
    tail.sum += value
    if (value < tail.min) tail.min = value
    if (value > tail.max) tail.max = value
    tail.last = value
  } else buckets.push({index, count: 1, sum: value, min: value, max: value, last: value})
}

function prune(buckets: Bucket[], oldest: number): void {
  let drop = 0
  while (drop < buckets.length && buckets[drop]!.index < oldest) drop += 1
  if (drop > 0) buckets.splice(0, drop)
}

export class ChartStore {
  readonly bucketMs: number
  readonly series: Series[] = []
  private readonly byTopic = new Map<string, Series>()
  /** Topics past --series-max, with their message counts. */
  readonly hidden = new Map<string, number>()
  /** Messages without a number, by topic. */
  readonly nonNumeric = new Map<string, number>()
  nonNumericTotal = 0
  received = 0
  /** Every message (numeric or not), for the messages-per-second line. */
  private readonly arrivals: Bucket[] = []

  constructor(
    readonly windowMs: number,
    readonly seriesMax: number,
    private readonly field: string[] | undefined,
  ) {
    this.bucketMs = Math.max(10, windowMs / bucketsPerWindow)
  }

  add(topic: string, payload: Buffer, timeMs: number): void {
    this.received += 1
    const index = Math.floor(timeMs / this.bucketMs)
    fold(this.arrivals, index, 1)
    const value = chart__value(payload, this.field)
    if (value === undefined) {
      this.nonNumericTotal += 1
      this.nonNumeric.set(topic, (this.nonNumeric.get(topic) ?? 0) + 1)
      return
    }
    let series = this.byTopic.get(topic)
    if (series === undefined) {
      if (this.series.length >= this.seriesMax) {
        this.hidden.set(topic, (this.hidden.get(topic) ?? 0) + 1)
        return
      }
      series = {topic, slot: this.series.length, buckets: [], last: value, total: 0}
      this.series.push(series)
      this.byTopic.set(topic, series)
    }
    series.last = value
    series.total += 1
    fold(series.buckets, index, value)
  }

  /** Forgets what left the window. */
  prune(nowMs: number): void {
    const oldest = Math.floor((nowMs - this.windowMs) / this.bucketMs)
    prune(this.arrivals, oldest)
    for (const s of this.series) prune(s.buckets, oldest)
  }

  /** last / min / max / mean over the window (undefined when the window holds no value of the series). */
  stats(series: Series): WindowStats | undefined {
    if (series.buckets.length === 0) return undefined
    let min = Infinity
    let max = -Infinity
    let sum = 0
    let count = 0
    for (const b of series.buckets) {
      if (b.min < min) min = b.min
      if (b.max > max) max = b.max
      sum += b.sum
      count += b.count
    }
    return {last: series.last, min, max, mean: sum / count, count}
  }

  /** Messages received in the last second. */
  ratePerSecond(nowMs: number): number {
    const from = Math.floor((nowMs - 1000) / this.bucketMs)
    let count = 0
    for (let i = this.arrivals.length - 1; i >= 0 && this.arrivals[i]!.index > from; i--) count += this.arrivals[i]!.count
    return count
  }

  /** Message counts per whole second of the window, oldest first, as [seconds before now, msg/s]. */
  rateHistory(nowMs: number): Array<[number, number]> {
    const seconds = Math.max(1, Math.floor(this.windowMs / 1000))
    const counts = new Array<number>(seconds).fill(0)
    for (const b of this.arrivals) {
      const ago = Math.floor((nowMs - b.index * this.bucketMs) / 1000)
      if (ago >= 0 && ago < seconds) counts[seconds - 1 - ago]! += b.count
    }
    return counts.map((n, i) => [i - seconds + 1, n])
  }
}
