/**
 * `--compare`: the same scenario against several brokers, interleaved (round 1: A B C, round 2: A B C…) so that a
 * machine getting busier or calmer affects every broker alike; each metric is the median over the rounds and is
 * shown with its ratio to the first broker.
 */
import type {BenchResult} from './types.js'

export interface CompareMetric {
  name: string
  /** Higher is better (rates) or lower is better (latency, loss). */
  better: 'higher' | 'lower'
  pick: (r: BenchResult) => number | null
}

export const COMPARE_METRICS: CompareMetric[] = [
  {name: 'publishedPerSec', better: 'higher', pick: (r) => (r.scenario === 'conn' || r.scenario === 'sub' ? null : r.publishedPerSec)},
  {name: 'deliveredPerSec', better: 'higher', pick: (r) => (r.scenario === 'run' || r.scenario === 'sub' ? r.deliveredPerSec : null)},
  {name: 'lost', better: 'lower', pick: (r) => (r.scenario === 'run' || r.scenario === 'sub' ? r.lost : null)},
  {name: 'duplicates', better: 'lower', pick: (r) => (r.scenario === 'run' || r.scenario === 'sub' ? r.duplicates : null)},
  {name: 'latency.p50', better: 'lower', pick: (r) => r.latency?.p50 ?? null},
  {name: 'latency.p99', better: 'lower', pick: (r) => r.latency?.p99 ?? null},
  {name: 'latency.max', better: 'lower', pick: (r) => r.latency?.max ?? null},
  {name: 'ackLatency.p50', better: 'lower', pick: (r) => r.ackLatency?.p50 ?? null},
  {name: 'ackLatency.p99', better: 'lower', pick: (r) => r.ackLatency?.p99 ?? null},
  {name: 'connections.perSec', better: 'higher', pick: (r) => r.connections.perSec},
  {name: 'connections.latency.p50', better: 'lower', pick: (r) => (r.scenario === 'conn' ? (r.connections.latency?.p50 ?? null) : null)},
  {name: 'connections.failed', better: 'lower', pick: (r) => r.connections.failed},
]

export interface CompareResult {
  rounds: number
  brokers: string[]
  /** metric → per broker: median over rounds, and its ratio to the first broker's median. */
  metrics: Array<{name: string; better: 'higher' | 'lower'; values: Array<{median: number; ratio: number | null}>}>
  runs: BenchResult[][]
}

export function compare__median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs `run(i)` for every broker i, round after round, and summarises. */
export async function compare__run(
  brokers: string[],
  rounds: number,
  run: (broker: number, round: number) => Promise<BenchResult>,
  stopped: () => boolean,
): Promise<CompareResult> {
  const runs: BenchResult[][] = brokers.map(() => [])
  for (let round = 0; round < rounds && !stopped(); round++)
    for (let b = 0; b < brokers.length && !stopped(); b++) runs[b]!.push(await run(b, round))
  return compare__summarise(brokers, runs)
}

export function compare__summarise(brokers: string[], runs: BenchResult[][]): CompareResult {
  const metrics: CompareResult['metrics'] = []
  for (const m of COMPARE_METRICS) {
    const medians = runs.map((rs) => {
      const vs = rs.map(m.pick).filter((v): v is number => v !== null)
      return vs.length === 0 ? null : compare__median(vs)
    })
    if (medians.every((v) => v === null)) continue
    const base = medians[0]
    metrics.push({
      name: m.name,
      better: m.better,
      values: medians.map((v) => ({
        median: v ?? Number.NaN,
        ratio: v === null || base === null || base === undefined || base === 0 ? null : Math.round((v / base) * 100) / 100,
      })),
    })
  }
  return {rounds: Math.min(...runs.map((r) => r.length)), brokers, metrics, runs}
}
