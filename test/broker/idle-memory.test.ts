/**
 * Memory given back after a burst (issue 18 item 14, limits/idle-memory.ts): while packets flow the broker never
 * forces a GC; once quiet, with more than 32 MB of heap committed but unused, one full GC returns it. The burst's
 * promoted garbage is simulated here (arrays kept past a few GCs, then dropped) so the figure does not depend on how
 * fast this machine is; the traffic that counts as "busy" is real, over TCP. The whole storm is measured by
 * `npm run bench:fuzz-memory` (docs/benchmarks.md).
 */
import v8 from 'node:v8'
import {afterEach, describe, expect, it} from 'vitest'
import {Broker} from '../../src/index.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'

let broker: Broker | null = null
afterEach(async () => {
  await mqttjs__cleanup()
  await broker?.close()
  broker = null
})

const debug: string[] = []
const logger = {error: () => {}, warn: () => {}, info: () => {}, debug: (m: string) => m.startsWith('quiet after a burst') && debug.push(m)}

/** Survivors of the simulated burst, one object in 64 (as a storm leaves a few sessions behind): they fragment. */
const survivors: object[] = []

/**
 * ~80 MB of small objects kept alive long enough to reach the old generation, then dropped but for one in 64: old
 * pages committed and mostly free, what a storm of short connections leaves behind.
 */
async function oldGarbage(): Promise<void> {
  let keep: Array<{a: number; b: string; c: number[]}> | null = []
  for (let i = 0; i < 600_000; i++) keep.push({a: i, b: `x${i}`, c: [i, i + 1]})
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 20_000; j++) void {j}
    await new Promise((r) => setTimeout(r, 10))
  }
  for (let i = 0; i < keep.length; i += 64) survivors.push(keep[i]!)
  keep = null
}

describe('releasing idle memory', () => {
  it('no GC while packets flow; once quiet, the unused heap goes back', async () => {
    broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logger, sysInterval: 0})
    const [l] = await broker.listen()
    const idle = (broker as unknown as {idleMemory: {check(): void}}).idleMemory
    const client = await mqttjs__connect(l!.address.port, {clientId: `idle-mem-${process.pid}`})
    await oldGarbage()
    // Busy: 500 packets in this "interval" (the check runs every 5 s; called by hand here).
    for (let i = 0; i < 500; i++) client.publish('idle/mem', 'x')
    await client.publishAsync('idle/mem', 'x', {qos: 1})
    idle.check()
    expect(debug).toEqual([])
    // Quiet: nothing since the last check; twice in a row before it acts.
    idle.check()
    expect(debug).toEqual([])
    const before = v8.getHeapStatistics().total_heap_size
    idle.check()
    const after = v8.getHeapStatistics().total_heap_size
    expect(debug).toHaveLength(1)
    expect(debug[0]).toMatch(/^quiet after a burst: released \d+ MB of heap/)
    expect(before - after).toBeGreaterThan(8 * 1_048_576)
    // At most once per burst: nothing left to give back, so the next quiet checks do nothing.
    idle.check()
    idle.check()
    expect(debug).toHaveLength(1)
  })

  it('releaseIdleMemory: false leaves the heap to the application', async () => {
    broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logger, sysInterval: 0, releaseIdleMemory: false})
    await broker.listen()
    const timer = (broker as unknown as {idleMemory: {timer: unknown}}).idleMemory.timer
    expect(timer).toBeNull()
  })
})
