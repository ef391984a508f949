import {describe, expect, it} from 'vitest'
import {SharedGroups} from '../../src/broker/topics/shared.js'

function deliveries(groups: SharedGroups<number>, topic: string, times: number, up?: (id: string) => boolean): string[] {
  const out: string[] = []
  for (let i = 0; i < times; i++) groups.match(topic, (id, _v, g) => out.push(`${g}:${id}`), up)
  return out
}

describe('SharedGroups', () => {
  it('[MQTT-4.8.2-…] delivers each message to one member per group, round-robin by default', () => {
    const groups = new SharedGroups<number>()
    groups.add('g', 'a/+', 'c1', 1)
    groups.add('g', 'a/+', 'c2', 1)
    groups.add('g', 'a/+', 'c3', 1)
    groups.add('h', 'a/#', 'd1', 0)
    expect(groups.size).toBe(4)
    expect(groups.groupCount).toBe(2)
    const got = deliveries(groups, 'a/b', 6)
    expect(got.filter((d) => d.startsWith('g:'))).toEqual(['g:c1', 'g:c2', 'g:c3', 'g:c1', 'g:c2', 'g:c3'])
    expect(got.filter((d) => d.startsWith('h:'))).toEqual(Array(6).fill('h:d1'))
  })

  it('keys a group by share name AND filter', () => {
    const groups = new SharedGroups<number>()
    groups.add('g', 'a/+', 'c1', 1)
    groups.add('g', 'a/#', 'c2', 1)
    expect(deliveries(groups, 'a/b', 1).sort()).toEqual(['g:c1', 'g:c2'])
  })

  it('skips unavailable members, and still picks one when none is available', () => {
    const groups = new SharedGroups<number>()
    for (const id of ['c1', 'c2', 'c3']) groups.add('g', 't', id, 0)
    expect(deliveries(groups, 't', 4, (id) => id !== 'c2')).toEqual(['g:c1', 'g:c3', 'g:c1', 'g:c3'])
    expect(deliveries(groups, 't', 1, () => false)).toHaveLength(1)
  })

  it('keeps the turn fair when a member leaves, and drops an empty group', () => {
    const groups = new SharedGroups<number>()
    for (const id of ['c1', 'c2', 'c3']) groups.add('g', 't', id, 0)
    expect(deliveries(groups, 't', 2)).toEqual(['g:c1', 'g:c2'])
    expect(groups.remove('g', 't', 'c1')).toBe(true)
    expect(groups.remove('g', 't', 'c1')).toBe(false)
    expect(deliveries(groups, 't', 3)).toEqual(['g:c3', 'g:c2', 'g:c3'])
    groups.remove('g', 't', 'c2')
    groups.remove('g', 't', 'c3')
    expect(groups.size).toBe(0)
    expect(groups.groupCount).toBe(0)
    expect(deliveries(groups, 't', 1)).toEqual([])
  })

  it('sticky: stays with one member until it leaves or is unavailable', () => {
    const groups = new SharedGroups<number>('sticky')
    for (const id of ['c1', 'c2']) groups.add('g', 't', id, 0)
    expect(deliveries(groups, 't', 3)).toEqual(['g:c1', 'g:c1', 'g:c1'])
    expect(deliveries(groups, 't', 2, (id) => id !== 'c1')).toEqual(['g:c2', 'g:c2'])
    expect(deliveries(groups, 't', 1)).toEqual(['g:c2'])
    groups.remove('g', 't', 'c2')
    expect(deliveries(groups, 't', 1)).toEqual(['g:c1'])
  })

  it('random: spreads messages over every member', () => {
    const groups = new SharedGroups<number>('random')
    for (const id of ['c1', 'c2', 'c3']) groups.add('g', 't', id, 0)
    const got = deliveries(groups, 't', 300)
    for (const id of ['c1', 'c2', 'c3']) expect(got.filter((d) => d === `g:${id}`).length).toBeGreaterThan(50)
  })

  it('[MQTT-4.7.2-1] does not match $ topics with a first-level wildcard; survives re-entrant match', () => {
    const groups = new SharedGroups<number>()
    groups.add('g', '#', 'c1', 0)
    groups.add('g', '$SYS/#', 'c2', 0)
    expect(deliveries(groups, '$SYS/x', 1)).toEqual(['g:c2'])
    const seen: string[] = []
    groups.match('a', (id) => {
      seen.push(id)
      groups.match('$SYS/y', (inner) => seen.push(inner))
    })
    expect(seen).toEqual(['c1', 'c2'])
    expect(groups.get('g', '#', 'c1')).toBe(0)
    expect([...groups.entries()].length).toBe(2)
  })
})
