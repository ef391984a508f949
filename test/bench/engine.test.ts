/**
 * The bench engine against real brokers (mqttkit in this process, mosquitto as a child): every scenario with small
 * counts, checking the delivered counts, loss/duplicate/order accounting and latency figures it reports.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {bench__run} from '../../src/bench/runner.js'
import {requireProgram} from '../helpers/system.js'
import {MOSQUITTO, type Running, freePort, spec, startMosquitto, startMqttkit, target} from './brokers.js'

let mqttkit: Running
let mosquitto: Running | null = null

beforeAll(async () => {
  mqttkit = await startMqttkit()
})
afterAll(async () => {
  await mqttkit?.stop()
  await mosquitto?.stop()
})

async function mosquittoPort(ctx: {skip(note?: string): void}): Promise<number> {
  requireProgram(ctx, MOSQUITTO, 'mosquitto')
  mosquitto ??= await startMosquitto()
  return mosquitto.port
}

describe('bench run', () => {
  it('QoS 0 fan-in against mqttkit: every message delivered once, in order, with latency for each', async () => {
    const r = await bench__run(spec(mqttkit.port, {publishers: 3, count: 300}), 'mqttkit')
    expect(r.stoppedBy).toBe('count')
    expect(r.published).toBe(900)
    expect(r.expected).toBe(900)
    expect(r.delivered).toBe(900)
    expect(r.received).toBe(900)
    expect([r.lost, r.duplicates, r.outOfOrder, r.foreign]).toEqual([0, 0, 0, 0])
    expect(r.latency!.count).toBe(900)
    expect(r.latency!.p50).toBeGreaterThan(0)
    expect(r.latency!.p50).toBeLessThanOrEqual(r.latency!.p99)
    expect(r.latency!.p99).toBeLessThanOrEqual(r.latency!.max)
    // Loopback latency on an idle broker: well under the run's own length.
    expect(r.latency!.max).toBeLessThan(r.elapsedSec * 1000 + r.config.duration * 1000)
    expect(r.deliveredPerSec).toBeGreaterThan(0)
    expect(r.timeline.published.reduce((a, b) => a + b, 0)).toBe(900)
    expect(r.timeline.delivered.reduce((a, b) => a + b, 0)).toBe(900)
    expect(r.connections).toMatchObject({attempted: 4, connected: 4, failed: 0})
  })

  it('QoS 1 against mosquitto: every publish acknowledged, ack latency measured, nothing lost', async (ctx) => {
    const port = await mosquittoPort(ctx)
    const r = await bench__run(spec(port, {qos: 1, subQos: 1, count: 250, inflight: 8}), 'mosquitto')
    expect(r.published).toBe(500)
    expect(r.acked).toBe(500)
    expect(r.ackLatency!.count).toBe(500)
    expect(r.delivered).toBe(500)
    expect([r.lost, r.duplicates, r.outOfOrder]).toEqual([0, 0, 0])
  })

  it('QoS 2 against mqttkit and mosquitto: PUBREC/PUBREL/PUBCOMP complete for every message', async (ctx) => {
    for (const port of [mqttkit.port, await mosquittoPort(ctx)]) {
      const r = await bench__run(spec(port, {qos: 2, subQos: 2, count: 150, inflight: 4, target: target(port, 5)}), 'x')
      expect(r.acked).toBe(300)
      expect(r.delivered).toBe(300)
      expect([r.lost, r.duplicates]).toEqual([0, 0])
    }
  })

  it('MQTT 5: the QoS 1 window never exceeds the broker\'s Receive Maximum [MQTT-3.3.4-7]', async () => {
    const {Broker} = await import('../../src/index.js')
    const small = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent', maxInflight: 5})
    const [l] = await small.listen()
    try {
      const port = l!.address.port
      const r = await bench__run(spec(port, {target: target(port, 5), qos: 1, subQos: 1, inflight: 200, count: 300}), 'x')
      expect(r.connections.disconnects).toEqual({})
      expect(r.acked).toBe(600)
      expect(r.delivered).toBe(600)
    } finally {
      await small.close()
    }
  })

  it('fan-out: each subscriber is its own delivery group and gets every message', async () => {
    const r = await bench__run(spec(mqttkit.port, {publishers: 1, subscribers: 3, count: 200}), 'x')
    expect(r.expected).toBe(600)
    expect(r.delivered).toBe(600)
    expect(r.lost).toBe(0)
  })

  it('a subscription the broker refuses is reported with its reason, not as lost messages', async (ctx) => {
    // A filter with `#` before the end is malformed [MQTT-4.7.1-2]: mosquitto disconnects both subscribers.
    const port = await mosquittoPort(ctx)
    const r = await bench__run(spec(port, {subscribers: 2, filter: 'bt/%i/#/x', publishers: 1, count: 50, target: target(port, 5)}), 'x')
    expect(Object.values(r.connections.disconnects)).toEqual([2])
    expect(Object.keys(r.connections.disconnects)[0]).toMatch(/^DISCONNECT .*\(0x81\) from broker$/)
    expect(r.published).toBe(50)
    expect(r.expected).toBe(0)
    expect(r.lost).toBe(0)
  })

  it('a filter matching only some publishers expects only their messages', async () => {
    // Subscriber filter bt/1 matches publisher 1 of 0..2 alone.
    const r = await bench__run(spec(mqttkit.port, {publishers: 3, filter: 'bt/1', count: 100}), 'x')
    expect(r.expected).toBe(100)
    expect(r.delivered).toBe(100)
    expect(r.lost).toBe(0)
  })

  it('shared subscription: the $share group is one delivery group (each message once over its members)', async (ctx) => {
    const port = await mosquittoPort(ctx)
    const r = await bench__run(spec(port, {subscribers: 2, filter: '$share/g/bt/#', count: 200, target: target(port, 5)}), 'x')
    expect(r.expected).toBe(400)
    expect(r.delivered).toBe(400)
    expect(r.duplicates).toBe(0)
  })

  it('%c topic template: a new topic per message still delivers and counts every message', async () => {
    const r = await bench__run(spec(mqttkit.port, {topic: 'bt/%i/%c', count: 120}), 'x')
    expect(r.delivered).toBe(240)
    expect(r.lost).toBe(0)
  })

  it('--workers 2: clients spread over two processes, results and histograms merged', async () => {
    const r = await bench__run(spec(mqttkit.port, {publishers: 4, subscribers: 2, count: 150}), 'x', {workers: 2})
    expect(r.workers).toBe(2)
    expect(r.published).toBe(600)
    expect(r.expected).toBe(1200)
    expect(r.delivered).toBe(1200)
    expect(r.latency!.count).toBe(1200)
    expect([r.lost, r.duplicates]).toEqual([0, 0])
  })

  it('--workers 2 with --backlog: a publisher whose subscriber lives in the other worker is paced by it', async () => {
    // 2 publishers (one per worker), 1 subscriber (worker 0): publisher 1 only learns the subscriber's progress
    // through the parent; without it, it would stop after 50 messages and the run would end at the duration.
    const r = await bench__run(spec(mqttkit.port, {publishers: 2, subscribers: 1, count: 1500, backlog: 50, duration: 20}), 'x', {workers: 2})
    expect(r.stoppedBy).toBe('count')
    expect(r.published).toBe(3000)
    expect(r.delivered).toBe(3000)
    expect(r.lost).toBe(0)
  })

  it('an abort (Ctrl-C) ends the run early and still returns the partial result', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 600)
    const started = Date.now()
    const r = await bench__run(spec(mqttkit.port, {count: 0, rate: 200, duration: 30}), 'x', {signal: controller.signal})
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(r.stoppedBy).toBe('interrupt')
    expect(r.published).toBeGreaterThan(0)
  })
})

describe('bench pub / sub / conn', () => {
  it('pub with --rate paces each publisher and stops at --count', async () => {
    const r = await bench__run(spec(mqttkit.port, {scenario: 'pub', subscribers: 0, publishers: 2, rate: 100, count: 40}), 'x')
    expect(r.published).toBe(80)
    expect(r.stoppedBy).toBe('count')
    // 40 messages at 100/s: the last is due at 0.39 s.
    expect(r.elapsedSec).toBeGreaterThanOrEqual(0.35)
    expect(r.delivered).toBe(0)
  })

  it('pub without --count stops at --duration', async () => {
    const r = await bench__run(spec(mqttkit.port, {scenario: 'pub', subscribers: 0, count: 0, rate: 50, duration: 1}), 'x')
    expect(r.stoppedBy).toBe('duration')
    expect(r.elapsedSec).toBeGreaterThanOrEqual(0.95)
    expect(r.elapsedSec).toBeLessThan(3)
    expect(r.published).toBeGreaterThanOrEqual(90)
  })

  it('sub measures traffic from another bench pub: loss from sequence gaps, latency from the header', async () => {
    const sub = bench__run(spec(mqttkit.port, {scenario: 'sub', publishers: 0, subscribers: 2, count: 600, duration: 10}), 'x')
    await new Promise((r) => setTimeout(r, 500))
    await bench__run(spec(mqttkit.port, {scenario: 'pub', subscribers: 0, publishers: 3, count: 100}), 'x')
    const r = await sub
    expect(r.delivered).toBe(600)
    expect(r.lost).toBe(0)
    expect(r.latency!.count).toBe(600)
  })

  it('sub --count with --workers 2 stops once the workers together have that many deliveries', async () => {
    let running: () => void = () => {}
    const started = new Promise<void>((r) => (running = r))
    const sub = bench__run(spec(mqttkit.port, {scenario: 'sub', publishers: 0, subscribers: 2, filter: '$share/w/bt/#', count: 300, duration: 15}), 'x', {
      workers: 2,
      onProgress: (p) => p.phase === 'running' && running(),
    })
    await started
    await bench__run(spec(mqttkit.port, {scenario: 'pub', subscribers: 0, publishers: 1, count: 300}), 'x')
    const r = await sub
    expect({delivered: r.delivered, stoppedBy: r.stoppedBy}).toEqual({delivered: 300, stoppedBy: 'count'})
    expect(r.elapsedSec).toBeLessThan(14)
  })

  it('conn opens every client and reports the connection rate and connect latency', async () => {
    const r = await bench__run(spec(mqttkit.port, {scenario: 'conn', clients: 50, publishers: 0, subscribers: 0}), 'x')
    expect(r.connections).toMatchObject({attempted: 50, connected: 50, failed: 0})
    expect(r.connections.perSec).toBeGreaterThan(0)
    expect(r.connections.latency!.count).toBe(50)
  })

  it('conn --connect-rate paces new connections', async () => {
    const r = await bench__run(spec(mqttkit.port, {scenario: 'conn', clients: 10, connectRate: 20, publishers: 0, subscribers: 0}), 'x')
    expect(r.connections.connected).toBe(10)
    // 10 connections at 20/s: the last starts at 0.45 s.
    expect(r.elapsedSec).toBeGreaterThanOrEqual(0.4)
    expect(r.connections.perSec).toBeLessThanOrEqual(25)
  })

  it('conn counts failures by reason: nothing listening', async () => {
    const port = await freePort()
    const r = await bench__run(spec(port, {scenario: 'conn', clients: 5, publishers: 0, subscribers: 0}), 'x')
    expect(r.connections.connected).toBe(0)
    expect(r.connections.failures).toEqual({ECONNREFUSED: 5})
  })

  it('conn counts failures by reason: CONNACK refusal from a broker that wants a password', async (ctx) => {
    requireProgram(ctx, MOSQUITTO, 'mosquitto')
    const strict = await startMosquitto(['allow_anonymous false'])
    try {
      // The helper writes `allow_anonymous true` first; mosquitto keeps the last value, so anonymous clients are refused.
      const r = await bench__run(spec(strict.port, {scenario: 'conn', clients: 3, publishers: 0, subscribers: 0}), 'x')
      expect(r.connections.connected).toBe(0)
      expect(r.connections.failures).toEqual({'CONNACK not authorised (5)': 3})
    } finally {
      await strict.stop()
    }
  })
})
