/**
 * Which nodes have subscriptions matching a topic, so a PUBLISH goes only to the nodes that need it. Each node
 * counts its own (client, filter) subscriptions per filter key (`p<filter>` plain, `s<$share/g/filter>` shared);
 * when a key appears or goes, that is written to the node's index hash and appended to the index log stream, which
 * every node tails into two tries of remote keys (plain filters -> nodes, shared groups -> nodes). A node starting
 * reads the hashes, then tails the log from the id it saw before reading.
 */
import type {ChainableCommander} from 'ioredis'
import {SubscriptionTrie, topic__parseShared} from '../topics/index.js'
import type {ClusterKeys} from './keys.js'

/** Log entries beyond this are trimmed (approximately): a node that lags further reloads the hashes. */
const LOG_MAX = 100_000

export class SubscriptionIndex {
  /** This node's keys with how many (client, filter) pairs hold them. */
  private readonly local = new Map<string, number>()
  /** Remote plain filters: trie key = node inc. */
  readonly plain = new SubscriptionTrie<true>()
  /** Remote shared groups: filter inside the group -> key `<$share/g/filter>\0<inc>`. */
  readonly shared = new SubscriptionTrie<{group: string; inc: string}>()
  /** Every remote key per node, to drop a node at once. */
  private readonly byNode = new Map<string, Set<string>>()
  lastLogId = '0-0'

  constructor(
    private readonly keys: ClusterKeys,
    private readonly me: string,
    /** Queues commands into the next store commit. */
    private readonly write: (add: (multi: ChainableCommander) => void) => void,
  ) {}

  /** A (client, filter) pair was added to the router. */
  add(filter: string): void {
    const key = keyOf(filter)
    const n = this.local.get(key) ?? 0
    this.local.set(key, n + 1)
    if (n === 0) this.announce('+', key)
  }

  remove(filter: string): void {
    const key = keyOf(filter)
    const n = this.local.get(key) ?? 0
    if (n <= 1) {
      this.local.delete(key)
      if (n === 1) this.announce('-', key)
    } else this.local.set(key, n - 1)
  }

  /** True when this node has members of the shared group (`$share/g/filter`). */
  hasLocalGroup(sharedFilter: string): boolean {
    return this.local.has('s' + sharedFilter)
  }

  /** Every key this node has, written again (a new incarnation starts its hash afresh). */
  republish(): void {
    const keys = [...this.local.keys()]
    this.write((multi) => {
      multi.del(this.keys.index(this.me))
      if (keys.length > 0) multi.hset(this.keys.index(this.me), ...keys.flatMap((k) => [k, '1']))
      multi.xadd(this.keys.indexLog, 'MAXLEN', '~', String(LOG_MAX), '*', 'n', this.me, 'o', 'reset')
      for (const key of keys) multi.xadd(this.keys.indexLog, 'MAXLEN', '~', String(LOG_MAX), '*', 'n', this.me, 'o', '+', 'k', key)
    })
  }

  private announce(op: '+' | '-', key: string): void {
    this.write((multi) => {
      if (op === '+') multi.hset(this.keys.index(this.me), key, '1')
      else multi.hdel(this.keys.index(this.me), key)
      multi.xadd(this.keys.indexLog, 'MAXLEN', '~', String(LOG_MAX), '*', 'n', this.me, 'o', op, 'k', key)
    })
  }

  /** Applies one index log entry (or one key of a hash read at start). */
  apply(inc: string, op: string, key: string | undefined): void {
    if (inc === this.me) return
    if (op === 'drop' || op === 'reset') {
      this.dropNode(inc)
      return
    }
    if (key === undefined) return
    let set = this.byNode.get(inc)
    if (op === '+') {
      if (set === undefined) this.byNode.set(inc, (set = new Set()))
      if (set.has(key)) return
      set.add(key)
      this.insert(inc, key)
    } else if (op === '-' && set !== undefined && set.delete(key)) {
      this.erase(inc, key)
    }
  }

  dropNode(inc: string): void {
    const set = this.byNode.get(inc)
    if (set === undefined) return
    for (const key of set) this.erase(inc, key)
    this.byNode.delete(inc)
  }

  /** Nodes with anything in the index. */
  get nodes(): string[] {
    return [...this.byNode.keys()]
  }

  private insert(inc: string, key: string): void {
    if (key[0] === 'p') this.plain.add(key.slice(1), inc, true)
    else {
      const full = key.slice(1)
      const parsed = topic__parseShared(full)
      if (parsed !== null) this.shared.add(parsed.filter, `${full}\u0000${inc}`, {group: full, inc})
    }
  }

  private erase(inc: string, key: string): void {
    if (key[0] === 'p') this.plain.remove(key.slice(1), inc)
    else {
      const full = key.slice(1)
      const parsed = topic__parseShared(full)
      if (parsed !== null) this.shared.remove(parsed.filter, `${full}\u0000${inc}`)
    }
  }
}

function keyOf(filter: string): string {
  return (topic__parseShared(filter) === null ? 'p' : 's') + filter
}
