/**
 * Shared subscriptions `$share/{group}/{filter}` (MQTT 5 §4.8.2; also accepted from 3.1.1 clients): each message
 * matching a group's filter goes to ONE member of the group [MQTT-4.8.2-…]. Groups with the same name but
 * different filters are different groups (the spec keys a shared subscription by share name AND filter).
 *
 * Strategies (the broker's `sharedStrategy` option):
 *   - 'round-robin' (default): members take turns, in the order they subscribed.
 *   - 'random': a uniformly random member per message.
 *   - 'sticky': the same member until it leaves the group or becomes unavailable, then the next in turn.
 * The optional `isAvailable` predicate (typically "is connected") lets the choice skip offline members; when no
 * member is available the strategy's pick is returned anyway so the caller can queue the message in that
 * member's session rather than lose it.
 */
import {SubscriptionTrie} from './trie.js'

export type SharedStrategy = 'round-robin' | 'random' | 'sticky'

export const SHARED_STRATEGIES: readonly SharedStrategy[] = ['round-robin', 'random', 'sticky']

type Visit<V> = (clientId: string, value: V, group: string) => void
type Available<V> = (clientId: string, value: V) => boolean

class Group<V> {
  keys: string[] = []
  values: V[] = []
  index = new Map<string, number>()
  /** Next member to try (round-robin) or the member the group sticks to (sticky); -1: none yet. */
  cursor = 0
  sticky: string | null = null
}

export class SharedGroups<V> {
  private readonly trie = new SubscriptionTrie<Group<V>>()
  private members = 0
  private visit: Visit<V> | null = null
  private available: Available<V> | undefined = undefined
  /** Bound once so `match` creates no closure per message. */
  private readonly onGroup = (group: string, g: Group<V>): void => {
    const i = this.pick(g)
    if (i >= 0) this.visit!(g.keys[i]!, g.values[i]!, group)
  }

  constructor(readonly strategy: SharedStrategy = 'round-robin') {}

  /** Number of (group, filter, client) memberships. */
  get size(): number {
    return this.members
  }

  /** Number of distinct (group, filter) pairs. */
  get groupCount(): number {
    return this.trie.size
  }

  /** Adds or replaces a member; true when it was not a member before. */
  add(group: string, filter: string, clientId: string, value: V): boolean {
    let g = this.trie.get(filter, group)
    if (g === undefined) {
      g = new Group<V>()
      this.trie.add(filter, group, g)
    }
    const at = g.index.get(clientId)
    if (at !== undefined) {
      g.values[at] = value
      return false
    }
    g.index.set(clientId, g.keys.length)
    g.keys.push(clientId)
    g.values.push(value)
    this.members++
    return true
  }

  /** Removes a member (the group goes when its last member does); true when it was a member. */
  remove(group: string, filter: string, clientId: string): boolean {
    const g = this.trie.get(filter, group)
    if (g === undefined) return false
    const at = g.index.get(clientId)
    if (at === undefined) return false
    // Keep the subscription order (round-robin fairness follows it): splice and re-index the tail.
    g.keys.splice(at, 1)
    g.values.splice(at, 1)
    g.index.delete(clientId)
    for (let i = at; i < g.keys.length; i++) g.index.set(g.keys[i]!, i)
    if (g.cursor > at) g.cursor--
    if (g.sticky === clientId) g.sticky = null
    this.members--
    if (g.keys.length === 0) this.trie.remove(filter, group)
    return true
  }

  /** The value stored for a member, if any. */
  get(group: string, filter: string, clientId: string): V | undefined {
    const g = this.trie.get(filter, group)
    if (g === undefined) return undefined
    const at = g.index.get(clientId)
    return at === undefined ? undefined : g.values[at]
  }

  /** Calls `visit` once per (group, filter) matching the topic, with the member chosen for this message. */
  match(topic: string, visit: Visit<V>, isAvailable?: Available<V>): void {
    // Save and restore so a visitor that publishes (and so matches again) does not clobber this call's state.
    const outerVisit = this.visit
    const outerAvailable = this.available
    this.visit = visit
    this.available = isAvailable
    try {
      this.trie.match(topic, this.onGroup)
    } finally {
      this.visit = outerVisit
      this.available = outerAvailable
    }
  }

  /** Every (group, filter, clientId, value), for persistence and inspection. */
  *entries(): IterableIterator<[group: string, filter: string, clientId: string, value: V]> {
    for (const [filter, group, g] of this.trie.entries()) {
      for (let i = 0; i < g.keys.length; i++) yield [group, filter, g.keys[i]!, g.values[i]!]
    }
  }

  private pick(g: Group<V>): number {
    const n = g.keys.length
    if (n === 0) return -1
    if (this.strategy === 'sticky' && g.sticky !== null) {
      const at = g.index.get(g.sticky)
      if (at !== undefined && this.isUp(g, at)) return at
    }
    const start = this.strategy === 'random' ? Math.floor(Math.random() * n) : g.cursor % n
    let chosen = start
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      if (this.isUp(g, i)) {
        chosen = i
        break
      }
    }
    g.cursor = chosen + 1
    if (this.strategy === 'sticky') g.sticky = g.keys[chosen]!
    return chosen
  }

  private isUp(g: Group<V>, i: number): boolean {
    return this.available === undefined || this.available(g.keys[i]!, g.values[i]!)
  }
}
