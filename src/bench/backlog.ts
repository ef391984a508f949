/**
 * The closed loop of `bench run` (`--backlog`): a publisher may run at most that many messages ahead of the
 * slowest delivery group expecting its messages, judged by the highest sequence number each group has seen (so a
 * broker that drops messages does not stall the run). In one process a publisher watches the groups' tallies
 * directly; with `--workers` it watches a mark the parent keeps up to date from every worker's report.
 */
import type {DeliveryGroup} from './accounting.js'
import type {Publisher} from './publisher.js'

/** More (publisher, group) pairs than this and the per-tick check would cost more than it saves. */
const MAX_PAIRS = 100_000

export function backlog__watchLocal(groups: Iterable<DeliveryGroup>, publishers: Publisher[]): void {
  const list = [...groups]
  if (list.reduce((n, g) => n + (g.expectedFrom?.length ?? 0), 0) > MAX_PAIRS) return
  const byIndex = new Map(publishers.map((p) => [p.index, p]))
  for (const g of list) for (const index of g.expectedFrom ?? []) byIndex.get(index)?.watch.push(g.tally(index))
}

/** Workers: each publisher watches one mark, set by the parent (Infinity when no subscriber expects it). */
export function backlog__watchRemote(publishers: Publisher[], marks: Map<number, {maxSeq: number}>): void {
  for (const p of publishers) {
    const mark = {maxSeq: -1}
    marks.set(p.index, mark)
    p.watch.push(mark)
  }
}

/** Per publisher the subscribed groups here expect: the highest sequence the slowest of them saw, as [p, seq, …]. */
export function backlog__marks(groups: Iterable<DeliveryGroup>): number[] {
  const marks = new Map<number, number>()
  for (const g of groups) {
    if (g.subscribed === 0) continue
    for (const p of g.expectedFrom ?? []) {
      const seq = g.publishers.get(p)?.maxSeq ?? -1
      const current = marks.get(p)
      if (current === undefined || seq < current) marks.set(p, seq)
    }
  }
  return [...marks].flat()
}
