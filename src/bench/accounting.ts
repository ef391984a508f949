/**
 * Loss, duplicate and order accounting. A delivery group is one subscriber, or all members of one `$share` group
 * (the broker gives each message to one of them). Each group keeps a bitset of the sequence numbers it has seen per
 * publisher; order is judged per subscriber, where MQTT promises it [MQTT-4.6.0-6].
 */
import type {GroupPartial} from './types.js'

export interface PublisherTally {
  seen: Uint8Array
  received: number
  duplicates: number
  outOfOrder: number
  maxSeq: number
}

export class DeliveryGroup {
  readonly publishers = new Map<number, PublisherTally>()
  /** Members whose subscription the broker accepted: a group that never got one expects nothing. */
  subscribed = 0
  constructor(
    readonly name: string,
    readonly expectedFrom: number[] | null,
  ) {}

  tally(publisher: number): PublisherTally {
    let t = this.publishers.get(publisher)
    if (!t) {
      t = {seen: new Uint8Array(16), received: 0, duplicates: 0, outOfOrder: 0, maxSeq: -1}
      this.publishers.set(publisher, t)
    }
    return t
  }

  toPartial(): GroupPartial {
    const publishers: GroupPartial['publishers'] = {}
    for (const [p, t] of this.publishers) publishers[p] = {...t, seen: t.seen.subarray(0, (t.maxSeq >> 3) + 1)}
    return {name: this.name, publishers, expectedFrom: this.expectedFrom}
  }
}

/** Per subscriber: the group it feeds and the last sequence seen from each publisher. */
export class SubscriberTally {
  private readonly last = new Map<number, number>()
  constructor(readonly group: DeliveryGroup) {}

  /** Returns false for a duplicate. */
  record(publisher: number, seq: number): boolean {
    const t = this.group.tally(publisher)
    const byte = seq >>> 3
    if (byte >= t.seen.length) {
      let size = t.seen.length * 2
      while (size <= byte) size *= 2
      const grown = new Uint8Array(size)
      grown.set(t.seen)
      t.seen = grown
    }
    const mask = 1 << (seq & 7)
    if (t.seen[byte]! & mask) {
      t.duplicates++
      return false
    }
    t.seen[byte]! |= mask
    t.received++
    if (seq > t.maxSeq) t.maxSeq = seq
    const last = this.last.get(publisher) ?? -1
    if (seq < last) t.outOfOrder++
    else this.last.set(publisher, seq)
    return true
  }
}

export function bitset__count(bits: Uint8Array): number {
  let n = 0
  for (let i = 0; i < bits.length; i++) {
    let b = bits[i]!
    while (b) {
      b &= b - 1
      n++
    }
  }
  return n
}

export function bitset__firstSet(bits: Uint8Array): number {
  for (let i = 0; i < bits.length; i++) if (bits[i]) for (let j = 0; j < 8; j++) if (bits[i]! & (1 << j)) return i * 8 + j
  return -1
}
