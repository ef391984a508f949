/**
 * The subscription trie: one node per topic level, subscribers stored on the node where their filter ends.
 *
 * Filters (validated by validate.ts before they get here):
 *   valid:      `sport/tennis/player1`  `sport/#`  `#`  `+`  `+/tennis/#`  `sport/+/player1`  `/finance`  `+/+`
 *               `/+`  `$SYS/#`  `$SYS/broker/+`  `a//b` (an empty level is a level)
 *   invalid:    ``  `sport/tennis#`  `sport/#/ranking`  `sport+`  `sp+rt/x`  `#/a`  `a/b\u0000`  (topic names
 *               with `+` or `#` are invalid too)
 *   matching:   `sport/#` matches `sport`, `sport/tennis` and `sport/tennis/player1` (the parent level too)
 *               `+/+` and `/+` match `/finance` (the empty first level is a level); `sport/+` matches `sport/`
 *   not matching: `+` vs `/finance` (two levels); `sport/+` vs `sport` (`+` needs a level, even an empty one)
 *               `#`, `+/monitor` and `+/#` vs `$SYS/monitor`: wildcards at the first level never match a
 *               topic starting with `$` [MQTT-4.7.2-1]; `$SYS/#` and `$SYS/+` do
 *               `sport/tennis` vs `Sport/tennis` (case sensitive, no normalisation [MQTT-4.7.3-4])
 *
 * Hand-written because routing is the broker's hot path: `match` walks the trie once per message with the topic
 * split into levels, calls a visitor for every (key, value) on a matching node and allocates nothing per
 * subscriber (entries live in flat arrays, not in per-call result lists). A key (the client id, or
 * `${group}\u0000${clientId}` for a shared subscription) is stored at most once per filter; overlapping filters
 * visit a key once per matching filter, and the caller merges them (highest QoS, all subscription ids).
 */

class TrieNode<V> {
  /** Literal child levels. */
  children: Map<string, TrieNode<V>> | null = null
  /** The `+` child and the `#` child, kept apart so matching never looks them up by string. */
  plus: TrieNode<V> | null = null
  hash: TrieNode<V> | null = null
  /** Entries of filters ending here: parallel arrays walked by `match`, `index` finds a key's slot. */
  keys: string[] | null = null
  values: V[] | null = null
  index: Map<string, number> | null = null

  constructor(
    readonly parent: TrieNode<V> | null,
    readonly level: string,
  ) {}

  isEmpty(): boolean {
    return (
      (this.keys === null || this.keys.length === 0) &&
      (this.children === null || this.children.size === 0) &&
      this.plus === null &&
      this.hash === null
    )
  }
}

const DOLLAR = 0x24

export class SubscriptionTrie<V> {
  private readonly root = new TrieNode<V>(null, '')
  private count = 0

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.count
  }

  /** Adds or replaces the entry for `key` on `filter`; true when it was not there before. */
  add(filter: string, key: string, value: V): boolean {
    let node = this.root
    for (const level of filter.split('/')) node = this.child(node, level)
    if (node.index === null) {
      node.keys = []
      node.values = []
      node.index = new Map()
    }
    const at = node.index.get(key)
    if (at !== undefined) {
      node.values![at] = value
      return false
    }
    node.index.set(key, node.keys!.length)
    node.keys!.push(key)
    node.values!.push(value)
    this.count++
    return true
  }

  /** Removes the entry for `key` on `filter`; true when there was one. Empty nodes are pruned. */
  remove(filter: string, key: string): boolean {
    const node = this.find(filter)
    if (node === null || node.index === null) return false
    const at = node.index.get(key)
    if (at === undefined) return false
    // Swap with the last entry so removal is O(1); order among subscribers of one filter carries no meaning.
    const keys = node.keys!
    const values = node.values!
    const last = keys.length - 1
    if (at !== last) {
      keys[at] = keys[last]!
      values[at] = values[last]!
      node.index.set(keys[at]!, at)
    }
    keys.pop()
    values.pop()
    node.index.delete(key)
    this.count--
    this.prune(node)
    return true
  }

  /** The value stored for `key` on exactly `filter` (no wildcard matching). */
  get(filter: string, key: string): V | undefined {
    const node = this.find(filter)
    if (node === null || node.index === null) return undefined
    const at = node.index.get(key)
    return at === undefined ? undefined : node.values![at]
  }

  /** Calls `visit` for every entry whose filter matches the topic name. */
  match(topic: string, visit: (key: string, value: V) => void): void {
    const levels = topic.split('/')
    const dollar = topic.charCodeAt(0) === DOLLAR
    const root = this.root
    // [MQTT-4.7.2-1] the first level of a `$` topic is only matched literally.
    if (!dollar) {
      if (root.hash !== null) visitEntries(root.hash, visit)
      if (root.plus !== null) matchFrom(root.plus, levels, 1, visit)
    }
    const child = root.children?.get(levels[0]!)
    if (child !== undefined) matchFrom(child, levels, 1, visit)
  }

  /** Every (filter, key, value), for persistence and inspection. */
  *entries(): IterableIterator<[filter: string, key: string, value: V]> {
    const stack: TrieNode<V>[] = [this.root]
    while (stack.length > 0) {
      const node = stack.pop()!
      if (node.keys !== null && node.keys.length > 0) {
        const filter = filterOf(node)
        for (let i = 0; i < node.keys.length; i++) yield [filter, node.keys[i]!, node.values![i]!]
      }
      if (node.children !== null) for (const c of node.children.values()) stack.push(c)
      if (node.plus !== null) stack.push(node.plus)
      if (node.hash !== null) stack.push(node.hash)
    }
  }

  private child(node: TrieNode<V>, level: string): TrieNode<V> {
    if (level === '+') return (node.plus ??= new TrieNode(node, level))
    if (level === '#') return (node.hash ??= new TrieNode(node, level))
    node.children ??= new Map()
    let c = node.children.get(level)
    if (c === undefined) {
      c = new TrieNode(node, level)
      node.children.set(level, c)
    }
    return c
  }

  private find(filter: string): TrieNode<V> | null {
    let node: TrieNode<V> | null = this.root
    for (const level of filter.split('/')) {
      if (level === '+') node = node.plus
      else if (level === '#') node = node.hash
      else node = node.children?.get(level) ?? null
      if (node === null) return null
    }
    return node
  }

  private prune(node: TrieNode<V>): void {
    let n: TrieNode<V> = node
    while (n.parent !== null && n.isEmpty()) {
      const p: TrieNode<V> = n.parent
      if (n.level === '+' && p.plus === n) p.plus = null
      else if (n.level === '#' && p.hash === n) p.hash = null
      else p.children?.delete(n.level)
      n = p
    }
  }
}

/** Walks the levels from index `i` on; module-level (not a closure) so the hot path allocates nothing. */
function matchFrom<V>(node: TrieNode<V>, levels: string[], i: number, visit: (key: string, value: V) => void): void {
  // `a/#` matches `a` as well as everything below it.
  if (node.hash !== null) visitEntries(node.hash, visit)
  if (i === levels.length) {
    visitEntries(node, visit)
    return
  }
  if (node.plus !== null) matchFrom(node.plus, levels, i + 1, visit)
  if (node.children !== null) {
    const child = node.children.get(levels[i]!)
    if (child !== undefined) matchFrom(child, levels, i + 1, visit)
  }
}

function visitEntries<V>(node: TrieNode<V>, visit: (key: string, value: V) => void): void {
  const keys = node.keys
  if (keys === null) return
  const values = node.values!
  for (let i = 0; i < keys.length; i++) visit(keys[i]!, values[i]!)
}

function filterOf<V>(node: TrieNode<V>): string {
  const parts: string[] = []
  for (let n: TrieNode<V> | null = node; n !== null && n.parent !== null; n = n.parent) parts.push(n.level)
  return parts.reverse().join('/')
}
