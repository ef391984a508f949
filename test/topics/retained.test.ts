import {describe, expect, it} from 'vitest'
import {RetainedTree} from '../../src/broker/topics/retained.js'

const msg = (topic: string, payload = 'x') => ({topic, payload: Buffer.from(payload)})

function topics(tree: RetainedTree<{topic: string; payload: Buffer}>, filter: string): string[] {
  const out: string[] = []
  tree.match(filter, (m) => out.push(m.topic))
  return out.sort()
}

describe('RetainedTree', () => {
  it('[MQTT-3.3.1-5] stores one message per topic, replacing the previous one', () => {
    const tree = new RetainedTree<{topic: string; payload: Buffer}>()
    expect(tree.set(msg('a/b', '1'))).toBe('stored')
    expect(tree.set(msg('a/b', '2'))).toBe('replaced')
    expect(tree.size).toBe(1)
    expect(tree.get('a/b')?.payload.toString()).toBe('2')
    expect(tree.get('a')).toBeUndefined()
  })

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty payload deletes the retained message and is not stored', () => {
    const tree = new RetainedTree<{topic: string; payload: Buffer}>()
    tree.set(msg('a/b'))
    tree.set(msg('a/b/c'))
    expect(tree.set(msg('a/b', ''))).toBe('deleted')
    expect(tree.set(msg('a/b', ''))).toBe('absent')
    expect(tree.set(msg('zz', ''))).toBe('absent')
    expect(tree.size).toBe(1)
    expect(topics(tree, '#')).toEqual(['a/b/c'])
    tree.set(msg('a/b/c', ''))
    expect(tree.size).toBe(0)
    expect([...tree]).toEqual([])
  })

  it('matches filters with + and # including the parent level', () => {
    const tree = new RetainedTree<{topic: string; payload: Buffer}>()
    for (const t of ['sport', 'sport/tennis', 'sport/tennis/p1', 'sport/golf', '/finance', 'a//b', 'sport/']) tree.set(msg(t))
    expect(topics(tree, 'sport/#')).toEqual(['sport', 'sport/', 'sport/golf', 'sport/tennis', 'sport/tennis/p1'])
    expect(topics(tree, 'sport/+')).toEqual(['sport/', 'sport/golf', 'sport/tennis'])
    expect(topics(tree, 'sport/tennis')).toEqual(['sport/tennis'])
    expect(topics(tree, '+/+')).toEqual(['/finance', 'sport/', 'sport/golf', 'sport/tennis'])
    expect(topics(tree, '+')).toEqual(['sport'])
    expect(topics(tree, 'a/+/b')).toEqual(['a//b'])
    expect(topics(tree, '+/tennis/#')).toEqual(['sport/tennis', 'sport/tennis/p1'])
    expect(topics(tree, 'nothing/#')).toEqual([])
  })

  it('[MQTT-4.7.2-1] wildcards at the first level do not return $ topics', () => {
    const tree = new RetainedTree<{topic: string; payload: Buffer}>()
    tree.set(msg('$SYS/broker/uptime'))
    tree.set(msg('x/$y'))
    expect(topics(tree, '#')).toEqual(['x/$y'])
    expect(topics(tree, '+/broker/uptime')).toEqual([])
    expect(topics(tree, '$SYS/#')).toEqual(['$SYS/broker/uptime'])
    expect(topics(tree, '$SYS/+/uptime')).toEqual(['$SYS/broker/uptime'])
    expect(topics(tree, 'x/+')).toEqual(['x/$y'])
  })

  it('iterates every message and clears', () => {
    const tree = new RetainedTree<{topic: string; payload: Buffer}>()
    for (const t of ['a', 'a/b', 'c']) tree.set(msg(t))
    expect([...tree.values()].map((m) => m.topic).sort()).toEqual(['a', 'a/b', 'c'])
    tree.clear()
    expect(tree.size).toBe(0)
    expect(topics(tree, '#')).toEqual([])
  })
})
