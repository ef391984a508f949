/**
 * The HTML report's throughput chart over a real run (issue 18 item 13): a steady, paced run plots a steady rate to
 * its end; the last, partial second is scaled to a rate instead of drawn as a collapse towards zero.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {report__html, report__rates, report__throughput} from '../../src/bench/report.js'
import {bench__run} from '../../src/bench/runner.js'
import {type Running, spec, startMqttkit} from './brokers.js'

let mqttkit: Running
beforeAll(async () => {
  mqttkit = await startMqttkit()
})
afterAll(async () => {
  await mqttkit?.stop()
})

describe('report throughput chart', () => {
  it('a paced 2.5 s run: every point of both series is near the real 400 msg/s, the last half second included', async () => {
    const r = await bench__run(spec(mqttkit.port, {publishers: 2, rate: 200, count: 0, duration: 2.5}), 'mqttkit')
    expect(r.stoppedBy).toBe('duration')
    expect(r.timeline.published).toHaveLength(3) // two full seconds and half of a third
    const series = report__throughput(r)
    expect(series.map((s) => s.name)).toEqual(['published/s', 'delivered/s'])
    for (const s of series) {
      expect(s.points.length).toBe(3)
      expect(s.points.at(-1)![0]).toBeGreaterThan(2.4)
      expect(s.points.at(-1)![0]).toBeLessThan(2.7)
      for (const [, rate] of s.points) expect(Math.abs(rate - 400)).toBeLessThan(100)
    }
    expect(report__html([r])).toContain('Throughput over time')
  })

  it('a last second of a few ms is left out rather than scaled into noise; a run shorter than that keeps it', () => {
    expect(report__rates([400, 400, 2], 2.005)).toEqual([[1, 400], [2, 400]])
    expect(report__rates([40], 0.1)).toEqual([[0.1, 400]])
  })
})
