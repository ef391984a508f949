import {describe, expect, it} from 'vitest'
import {ExpiryHeap} from '../../src/broker/retained/expiry.js'

describe('ExpiryHeap (retained deadlines)', () => {
  it('pops entries in deadline order whatever the push order, and filter keeps the order', () => {
    const heap = new ExpiryHeap<number>()
    const deadlines = [50, 10, 40, 10, 90, 0, 70, 30, 20, 60, 80]
    deadlines.forEach((at, i) => heap.push({at, topic: `t${i}`, message: i}))
    expect(heap.peek()!.at).toBe(0)
    heap.filter((e) => e.at !== 40)
    const out: number[] = []
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.at)
    expect(out).toEqual([0, 10, 10, 20, 30, 50, 60, 70, 80, 90])
    expect(heap.size).toBe(0)
    expect(heap.pop()).toBeUndefined()
  })
})
