/**
 * The end of a run: a run stopped by its `--duration` still drains the deliveries in flight before it counts loss
 * (issue 18 item 12: 10 × the backlog of 1000 were reported lost against a correct broker); only Ctrl-C skips the
 * drain, and then the result says it is partial.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Engine} from '../../src/bench/engine.js'
import {format__summary} from '../../src/bench/format.js'
import {merge__results} from '../../src/bench/merge.js'
import {bench__run} from '../../src/bench/runner.js'
import {requireProgram} from '../helpers/system.js'
import {MOSQUITTO, type Running, spec, startMosquitto, startMqttkit} from './brokers.js'

let mqttkit: Running
let mosquitto: Running | null = null

beforeAll(async () => {
  mqttkit = await startMqttkit()
})
afterAll(async () => {
  await mqttkit?.stop()
  await mosquitto?.stop()
})

// 10 publishers → 1 subscriber, QoS 0, unpaced: the subscriber is always up to 10 × 1000 messages behind.
const deep = {publishers: 10, subscribers: 1, qos: 0 as const, rate: 0, backlog: 1000, count: 0, duration: 1.5, drain: 1000}

describe('bench run --duration', () => {
  // The duration timer and the measured phase's own deadline race; when the timer wins it calls stop('duration')
  // while the backlog is still on its way. Calling it here makes that case happen every time.
  it("stop('duration') with 10 × 1000 deliveries in flight: the drain still runs and nothing is counted lost", async () => {
    const s = spec(mqttkit.port, {...deep, duration: 30})
    const engine = new Engine(s)
    await engine.prepare()
    // Stop once the subscriber is well behind (the publishers are held at 1000 ahead each), however slow the machine.
    let behind = 0
    const poll = setInterval(() => {
      const p = engine.progress()
      if (p.phase !== 'running' || p.published - p.delivered < 2000) return
      behind = p.published - p.delivered
      clearInterval(poll)
      engine.stop('duration')
    }, 5)
    const part = await engine.run()
    clearInterval(poll)
    const r = merge__results(s, 'mqttkit', 1, [part])
    expect(r.stoppedBy).toBe('duration')
    expect(behind).toBeGreaterThanOrEqual(2000)
    expect({lost: r.lost, delivered: r.delivered, }).toEqual({lost: 0, delivered: r.published})
  })

  it('a duration-stopped run through mqttkit drains the deep backlog and reports 0 lost', async () => {
    for (let round = 0; round < 2; round++) {
      const r = await bench__run(spec(mqttkit.port, deep), 'mqttkit')
      expect(r.stoppedBy).toBe('duration')
      expect(r.partial).toBe(false)
      expect(r.published).toBeGreaterThan(10_000)
      expect({lost: r.lost, delivered: r.delivered, partial: r.partial}).toEqual({lost: 0, delivered: r.published, partial: false})
    }
  })

  it('a duration-stopped run through mosquitto drains the deep backlog and reports 0 lost', async (ctx) => {
    requireProgram(ctx, MOSQUITTO, 'mosquitto')
    mosquitto ??= await startMosquitto()
    for (let round = 0; round < 2; round++) {
      const r = await bench__run(spec(mosquitto.port, deep), 'mosquitto')
      expect(r.stoppedBy).toBe('duration')
      expect({lost: r.lost, delivered: r.delivered, partial: r.partial}).toEqual({lost: 0, delivered: r.published, partial: false})
    }
  })

  it('Ctrl-C skips the drain, and the result and the summary say the figures are partial', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 700)
    const r = await bench__run(spec(mqttkit.port, {...deep, duration: 30}), 'mqttkit', {signal: controller.signal})
    expect(r.stoppedBy).toBe('interrupt')
    expect(r.partial).toBe(true)
    expect(format__summary(r)).toMatch(/partial/)
  })
})
