/**
 * A binary min-heap of retained-message deadlines, so expiry costs O(log n) per stored message and one timer for
 * the earliest deadline, never a scan of every retained message (on a subscribe or on a clock tick).
 *
 * Entries are not removed when their message is replaced or deleted: the owner checks, when an entry comes due,
 * that the entry's message is still the one stored under its topic (lazy deletion), and rebuilds the heap when
 * stale entries outnumber live ones.
 */

export interface ExpiryEntry<M> {
  at: number
  topic: string
  message: M
}

export class ExpiryHeap<M> {
  private items: Array<ExpiryEntry<M>> = []

  get size(): number {
    return this.items.length
  }

  /** The earliest deadline, or undefined when empty. */
  peek(): ExpiryEntry<M> | undefined {
    return this.items[0]
  }

  push(entry: ExpiryEntry<M>): void {
    const a = this.items
    a.push(entry)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (a[parent]!.at <= a[i]!.at) break
      ;[a[parent], a[i]] = [a[i]!, a[parent]!]
      i = parent
    }
  }

  pop(): ExpiryEntry<M> | undefined {
    const a = this.items
    if (a.length === 0) return undefined
    const top = a[0]!
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let min = i
        if (l < a.length && a[l]!.at < a[min]!.at) min = l
        if (r < a.length && a[r]!.at < a[min]!.at) min = r
        if (min === i) break
        ;[a[min], a[i]] = [a[i]!, a[min]!]
        i = min
      }
    }
    return top
  }

  /** Keeps only the entries `keep` accepts (used to drop stale entries in one O(n) pass). */
  filter(keep: (entry: ExpiryEntry<M>) => boolean): void {
    const kept = this.items.filter(keep)
    this.items = []
    for (const entry of kept) this.push(entry)
  }

  clear(): void {
    this.items = []
  }
}
