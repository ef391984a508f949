import {describe, expect, it} from 'vitest'
import {SubscriptionTrie} from '../../src/broker/topics/trie.js'

/** Everything the trie visits for a topic, as sorted `filter|key` strings (values carry the filter). */
function matches(trie: SubscriptionTrie<string>, topic: string): string[] {
  const out: string[] = []
  trie.match(topic, (key, filter) => out.push(`${filter}|${key}`))
  return out.sort()
}

/** The spec's matching rules written the slow, obvious way, to cross-check the trie. */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

function trieWith(filters: string[], key = 'c1'): SubscriptionTrie<string> {
  const trie = new SubscriptionTrie<string>()
  for (const f of filters) trie.add(f, key, f)
  return trie
}

describe('SubscriptionTrie', () => {
  it('matches literal, + and # filters as in the spec examples (§4.7.1)', () => {
    const trie = trieWith(['sport/tennis/player1', 'sport/tennis/player1/#', 'sport/#', 'sport/tennis/+', '#', 'sport/+'])
    expect(matches(trie, 'sport/tennis/player1')).toEqual(
      ['#|c1', 'sport/#|c1', 'sport/tennis/+|c1', 'sport/tennis/player1/#|c1', 'sport/tennis/player1|c1'].sort(),
    )
    expect(matches(trie, 'sport/tennis/player1/ranking')).toEqual(['#|c1', 'sport/#|c1', 'sport/tennis/player1/#|c1'])
    expect(matches(trie, 'sport')).toEqual(['#|c1', 'sport/#|c1'])
    expect(matches(trie, 'sport/')).toEqual(['#|c1', 'sport/#|c1', 'sport/+|c1'])
  })

  it('treats an empty level as a level: +/+ and /+ match /finance, + does not', () => {
    const trie = trieWith(['+/+', '/+', '+'])
    expect(matches(trie, '/finance')).toEqual(['+/+|c1', '/+|c1'])
    expect(matches(trie, 'finance')).toEqual(['+|c1'])
  })

  it('[MQTT-4.7.2-1] does not match $ topics with a wildcard at the first level', () => {
    const trie = trieWith(['#', '+/monitor/Clients', '+/#', '$SYS/#', '$SYS/monitor/+', '+'])
    expect(matches(trie, '$SYS/monitor/Clients')).toEqual(['$SYS/#|c1', '$SYS/monitor/+|c1'])
    expect(matches(trie, '$SYS')).toEqual(['$SYS/#|c1'])
    expect(matches(trie, 'SYS/monitor/Clients')).toEqual(['#|c1', '+/#|c1', '+/monitor/Clients|c1'])
    // Only the first level is special: a $ later on is an ordinary character.
    expect(matches(trie, 'a/$b')).toEqual(['#|c1', '+/#|c1'])
  })

  it('[MQTT-4.7.3-4] matches without normalisation (case and unicode forms differ)', () => {
    const trie = trieWith(['sport/tennis', 'caf\u00e9'])
    expect(matches(trie, 'Sport/tennis')).toEqual([])
    expect(matches(trie, 'cafe\u0301')).toEqual([])
    expect(matches(trie, 'caf\u00e9')).toEqual(['caf\u00e9|c1'])
  })

  it('keeps one entry per (filter, key), replaces its value and visits overlapping filters once each', () => {
    const trie = new SubscriptionTrie<number>()
    expect(trie.add('a/+', 'c1', 1)).toBe(true)
    expect(trie.add('a/+', 'c1', 2)).toBe(false)
    expect(trie.add('a/#', 'c1', 0)).toBe(true)
    expect(trie.add('a/+', 'c2', 1)).toBe(true)
    expect(trie.size).toBe(3)
    const seen: string[] = []
    trie.match('a/b', (k, v) => seen.push(`${k}=${v}`))
    expect(seen.sort()).toEqual(['c1=0', 'c1=2', 'c2=1'])
    expect(trie.get('a/+', 'c1')).toBe(2)
    expect(trie.get('a/b', 'c1')).toBeUndefined()
  })

  it('removes entries, prunes empty branches and reports what it did', () => {
    const trie = new SubscriptionTrie<number>()
    trie.add('a/b/c', 'c1', 1)
    trie.add('a/b/c', 'c2', 1)
    trie.add('a/+/#', 'c1', 1)
    expect(trie.remove('a/b/c', 'c3')).toBe(false)
    expect(trie.remove('x/y', 'c1')).toBe(false)
    expect(trie.remove('a/b/c', 'c1')).toBe(true)
    expect(trie.remove('a/b/c', 'c1')).toBe(false)
    expect(matches(trie as unknown as SubscriptionTrie<string>, 'a/b/c').length).toBe(2)
    trie.remove('a/b/c', 'c2')
    trie.remove('a/+/#', 'c1')
    expect(trie.size).toBe(0)
    expect([...trie.entries()]).toEqual([])
    // The root has no children left: pruning went all the way up.
    expect((trie as unknown as {root: {children: Map<string, unknown> | null; plus: unknown}}).root.children?.size ?? 0).toBe(0)
  })

  it('lists every entry with its filter', () => {
    const trie = trieWith(['a/b', '#', '+/x', 'a/+/#'])
    trie.add('a/b', 'c2', 'a/b')
    expect([...trie.entries()].map(([f, k]) => `${f}|${k}`).sort()).toEqual(
      ['#|c1', '+/x|c1', 'a/+/#|c1', 'a/b|c1', 'a/b|c2'].sort(),
    )
  })

  it('agrees with a reference matcher on random filters and topics', () => {
    const words = ['a', 'b', '', '$x', 'c']
    let seed = 42
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0
      return (seed >>> 8) % n
    }
    const filters = new Set<string>()
    while (filters.size < 300) {
      const n = 1 + rand(4)
      const parts: string[] = []
      for (let i = 0; i < n; i++) {
        const r = rand(10)
        parts.push(r < 2 ? '+' : words[rand(words.length)]!)
      }
      if (rand(4) === 0) parts.push('#')
      filters.add(parts.join('/'))
    }
    const trie = new SubscriptionTrie<string>()
    for (const f of filters) trie.add(f, 'k', f)
    for (let t = 0; t < 500; t++) {
      const n = 1 + rand(5)
      const parts: string[] = []
      for (let i = 0; i < n; i++) parts.push(words[rand(words.length)]!)
      const topic = parts.join('/')
      const got: string[] = []
      trie.match(topic, (_k, f) => got.push(f))
      const want = [...filters].filter((f) => reference(f, topic))
      expect(got.sort(), topic).toEqual(want.sort())
    }
  })
})
