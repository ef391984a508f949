/**
 * The overload policy of docs/broker.md (*Queues*): a subscriber slower than its publishers loses nothing while it
 * keeps acknowledging (its queue goes past --max-queued under the broker-wide --queue-budget, and publishers are
 * paused instead); a subscriber that stops acknowledging is cut back to --max-queued and holds nobody up for long.
 */
import type {Packet} from 'mqtt-packet'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {Broker} from '../../src/broker/broker.js'
import {brokers__freePort} from '../helpers/brokers.js'
import {brokerCli__cleanup, brokerCli__spawn, brokerCli__waitFor} from './broker-cli.js'
import {RawClient, cleanup, connect, delay, nextMessages, startBroker} from './helpers.js'

afterEach(async () => {
  brokerCli__cleanup()
  await cleanup()
})

const N = 1500
const payloadOf = (i: number): Buffer => Buffer.concat([Buffer.from(`${String(i).padStart(6, '0')}:`), Buffer.alloc(1000, 0x61)])

/** A QoS 1 subscriber that acknowledges what it got every 10 ms: steady, but slower than the publisher. */
async function slowSubscriber(port: number, topic: string): Promise<{got: number[]; stop(): void}> {
  const raw = await RawClient.connect(port)
  await raw.handshake({clientId: 'slow'})
  raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 1}]})
  await raw.next('suback')
  const got: number[] = []
  const timer = setInterval(() => {
    const publishes = raw.packets.filter((p): p is Extract<Packet, {cmd: 'publish'}> => p.cmd === 'publish')
    raw.packets.length = 0
    for (const p of publishes) {
      got.push(Number(Buffer.from(p.payload).subarray(0, 6).toString()))
      raw.send({cmd: 'puback', messageId: p.messageId})
    }
  }, 10)
  return {got, stop: () => clearInterval(timer)}
}

/** Sends N QoS 1 PUBLISHes in one go (no window of its own) and counts the PUBACKs. */
async function floodingPublisher(port: number, topic: string): Promise<RawClient> {
  const raw = await RawClient.connect(port)
  await raw.handshake({clientId: 'flood'})
  for (let i = 0; i < N; i++) raw.send({cmd: 'publish', topic, payload: payloadOf(i), qos: 1, messageId: (i % 65_535) + 1, dup: false, retain: false})
  return raw
}

/** Samples the broker's bytes past the limit until stopped; returns the largest seen. */
function peak(broker: Broker): {stop(): number} {
  let max = 0
  const timer = setInterval(() => (max = Math.max(max, broker.stats.queuedPastLimit)), 2)
  return {
    stop() {
      clearInterval(timer)
      return max
    },
  }
}

async function until(pred: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred() && Date.now() < deadline) await delay(20)
}

describe('queue budget', () => {
  it('[MQTT-4.6.0-6] a slow subscriber that keeps acknowledging gets every message in order; publishers are paused, not dropped', async () => {
    const budget = 600_000
    const {port, broker} = await startBroker({maxInflight: 10, maxQueued: 20, queueBudget: budget})
    const sub = await slowSubscriber(port, 'flow')
    const sampler = peak(broker)
    const pub = await floodingPublisher(port, 'flow')
    await until(() => sub.got.length >= N, 20_000)
    sub.stop()
    const max = sampler.stop()
    expect(sub.got).toEqual(Array.from({length: N}, (_, i) => i))
    expect(broker.stats.messagesDropped).toBe(0)
    expect(broker.stats.publisherPauses).toBeGreaterThan(0)
    expect(max).toBeGreaterThan(0)
    expect(max).toBeLessThanOrEqual(budget)
    expect(broker.stats.queuedPastLimit).toBe(0)
    await until(() => pub.packets.filter((p) => p.cmd === 'puback').length >= N, 5000)
    expect(pub.packets.filter((p) => p.cmd === 'puback')).toHaveLength(N)
  })

  it('a subscriber idle for a while before the flood is not stalled: it owes nothing until a message is in flight to it', async () => {
    const {port, broker} = await startBroker({maxInflight: 10, maxQueued: 20})
    const sub = await slowSubscriber(port, 'flow')
    // Longer than the stall period (0.5 s) with nothing sent to it: no acknowledgement was due, so none is missing.
    await delay(800)
    await floodingPublisher(port, 'flow')
    await until(() => sub.got.length >= N, 20_000)
    sub.stop()
    expect(sub.got).toEqual(Array.from({length: N}, (_, i) => i))
    expect(broker.stats.messagesDropped).toBe(0)
  })

  it('with --queue-budget 0 the same subscriber is held to --max-queued and the excess is dropped', async () => {
    const {port, broker} = await startBroker({maxInflight: 10, maxQueued: 20, queueBudget: 0})
    const sub = await slowSubscriber(port, 'flow')
    const pub = await floodingPublisher(port, 'flow')
    await until(() => pub.packets.filter((p) => p.cmd === 'puback').length >= N, 10_000)
    await until(() => broker.stats.queued === 0 && broker.stats.inflight === 0, 10_000)
    sub.stop()
    expect(broker.stats.messagesDropped).toBeGreaterThan(0)
    expect(sub.got.length + broker.stats.messagesDropped).toBe(N)
    expect(broker.stats.publisherPauses).toBe(0)
  })

  it('a subscriber that stops acknowledging is cut back to --max-queued (oldest kept) and holds a healthy client up for half a second at most', async () => {
    const drops: string[] = []
    const {port, broker} = await startBroker({maxInflight: 5, maxQueued: 10, queueBudget: 100_000, hooks: {onMessageDropped: (c, _m, why) => void drops.push(`${c.id}:${why}`)}})
    const stalled = await RawClient.connect(port)
    await stalled.handshake({clientId: 'stalled'})
    stalled.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'flow', qos: 1}]})
    await stalled.next('suback')
    const healthy = await connect(port, {clientId: 'healthy'})
    await healthy.subscribeAsync('flow', {qos: 1})
    const pub = await connect(port, {clientId: 'pub'})
    const count = 400
    const got = nextMessages(healthy, count, 15_000)
    const started = Date.now()
    for (let i = 0; i < count; i++) await pub.publishAsync('flow', payloadOf(i), {qos: 1})
    const received = await got
    const took = Date.now() - started
    expect(received.map((m) => Number(m.payload.subarray(0, 6).toString()))).toEqual(Array.from({length: count}, (_, i) => i))
    // The stall costs the healthy client at most a trim period plus the stall time, not the whole run.
    expect(took).toBeLessThan(5000)
    await until(() => broker.stats.queuedPastLimit === 0 && broker.stats.queued <= 10, 3000)
    expect(broker.stats.queued).toBe(10)
    expect(broker.stats.queuedPastLimit).toBe(0)
    expect(broker.stats.messagesDropped).toBe(count - 15)
    // Every one of them, trimmed from the stalled queue or refused by a full one, reached onMessageDropped.
    expect(drops).toEqual(Array.from({length: count - 15}, () => 'stalled:queue-full'))
    // Acknowledging again, it gets the 5 in flight and then the 10 oldest queued, in order.
    const first = stalled.packets.filter((p): p is Extract<Packet, {cmd: 'publish'}> => p.cmd === 'publish')
    expect(first.map((p) => Number(Buffer.from(p.payload).subarray(0, 6).toString()))).toEqual([0, 1, 2, 3, 4])
    stalled.packets.length = 0
    for (const p of first) stalled.send({cmd: 'puback', messageId: p.messageId})
    const rest: number[] = []
    for (let i = 0; i < 10; i++) {
      const p = await stalled.next('publish')
      rest.push(Number(Buffer.from(p.payload).subarray(0, 6).toString()))
      stalled.send({cmd: 'puback', messageId: p.messageId})
    }
    expect(rest).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
  })
})

describe('mqttkit broker --queue-budget', () => {
  /** The built CLI with small queues; resolves with how many of the N flooded messages the slow subscriber got. */
  async function viaCli(extra: string[]): Promise<number> {
    const port = await brokers__freePort()
    const r = brokerCli__spawn(['--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--max-inflight', '10', '--max-queued', '20', ...extra])
    await brokerCli__waitFor(r, /listening on/)
    const sub = await slowSubscriber(port, 'flow')
    const pub = await floodingPublisher(port, 'flow')
    await until(() => pub.packets.filter((p) => p.cmd === 'puback').length >= N, 10_000)
    // Past the last PUBACK, what is queued drains at the subscriber's pace; then nothing more comes.
    let seen = -1
    while (sub.got.length !== seen) {
      seen = sub.got.length
      await delay(300)
    }
    sub.stop()
    return sub.got.length
  }

  it('at its default, a slow subscriber that keeps acknowledging gets all N', async () => {
    expect(await viaCli([])).toBe(N)
  })

  it('queue-budget: 0 in the config file holds it to --max-queued', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mqttkit-budget-')), 'broker.yaml')
    writeFileSync(file, 'queue-budget: 0\n')
    expect(await viaCli(['--config', file])).toBeLessThan(N)
  })
})
