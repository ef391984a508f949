/**
 * Node death with real processes: three `mqttkit broker` nodes (the built CLI) on one redis-server, one of them
 * killed with SIGKILL. A persistent QoS 1 subscriber resumes on another node with every message; the wills of the
 * killed node's clients are published exactly once by the survivors; a delayed will is cancelled by the client
 * reconnecting to another node in time. Needs `npm run build`.
 */
import {existsSync} from 'node:fs'
import mqtt, {type MqttClient} from 'mqtt'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {cluster__name} from '../helpers/cluster.js'
import {REDIS_SERVER, type RunningRedis, redis__cleanup, redis__start, requireRedis} from '../helpers/redis.js'
import {BrokerProcess} from '../store/broker-process.js'

let redis: RunningRedis | undefined
const processes: BrokerProcess[] = []
const clients: MqttClient[] = []

beforeAll(async () => {
  if (existsSync(REDIS_SERVER)) redis = await redis__start({appendonly: true})
})
beforeEach((ctx) => {
  requireRedis(ctx)
})
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.endAsync(true)))
  await Promise.allSettled(processes.splice(0).map((p) => p.kill9()))
})
afterAll(redis__cleanup)

/** Room for the whole run in one offline queue (the default --max-queued of 1000 would drop past it, by design). */
async function startNodes(count: number): Promise<BrokerProcess[]> {
  const name = cluster__name()
  const nodes: BrokerProcess[] = []
  for (let i = 1; i <= count; i++) {
    const node = await BrokerProcess.start(['--store', redis!.url, '--cluster-name', name, '--node-id', `n${i}`, '--log-level', process.env.CLUSTER_LOG ?? 'warn', '--max-queued', '10000'])
    processes.push(node)
    nodes.push(node)
  }
  return nodes
}

const url = (node: BrokerProcess) => `mqtt://127.0.0.1:${node.port}`

async function until(what: () => boolean, ms: number, why = 'timed out'): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error(why)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Waits until a QoS 1 probe published on `from` reaches a subscriber on `to`: the index has propagated. */
async function routed(from: BrokerProcess, to: MqttClient, topic: string, seen: () => number): Promise<void> {
  const pub = await mqtt.connectAsync(url(from), {reconnectPeriod: 0})
  clients.push(pub)
  const before = seen()
  const deadline = Date.now() + 10_000
  while (seen() === before) {
    if (Date.now() > deadline) throw new Error(`nothing published on ${from.port} reaches ${topic}`)
    await pub.publishAsync(topic, 'probe', {qos: 0})
    await new Promise((r) => setTimeout(r, 50))
  }
  void to
}

describe('cluster node death', () => {
  it('a persistent QoS 1 subscriber on node 2, 5,000 messages on node 1, node 2 SIGKILLed midway: on node 3 it gets all 5,000 [MQTT-4.3.2-1]', async () => {
    const [n1, n2, n3] = await startNodes(3)
    const received = new Set<number>()
    let probes = 0
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic === 'seq/probe') probes++
      else received.add(Number(payload.toString()))
    }
    const sub = mqtt.connect(url(n2!), {clientId: 'durable', clean: false, reconnectPeriod: 0})
    clients.push(sub)
    sub.on('message', onMessage)
    await new Promise((resolve) => sub.once('connect', resolve))
    await sub.subscribeAsync('seq/#', {qos: 1})
    await routed(n1!, sub, 'seq/probe', () => probes)

    const pub = await mqtt.connectAsync(url(n1!), {clientId: 'seq-pub', reconnectPeriod: 0})
    clients.push(pub)
    const total = 5000
    let acked = 0
    let killed: Promise<void> | null = null
    // Windows of 100 in flight; node 2 dies once half of them are acknowledged.
    for (let base = 0; base < total; base += 100) {
      await Promise.all(Array.from({length: 100}, (_, i) => pub.publishAsync('seq/t', String(base + i), {qos: 1}).then(() => acked++)))
      if (killed === null && acked >= total / 2) killed = n2!.kill9()
    }
    await killed
    expect(acked).toBe(total)

    const again = mqtt.connect(url(n3!), {clientId: 'durable', clean: false, reconnectPeriod: 0, connectTimeout: 30_000})
    clients.push(again)
    again.on('message', onMessage)
    let refusal = ''
    again.on('error', (error) => (refusal = error.message))
    await until(() => received.size === total, 45_000, `got ${received.size} of ${total}`).catch((error: Error) => {
      throw new Error(`${error.message} (connected to node 3: ${again.connected} ${refusal})\nnode 1:\n${n1!.output}\nnode 3:\n${n3!.output}`)
    })
    const lost = Array.from({length: total}, (_, i) => i).filter((i) => !received.has(i))
    expect(lost).toEqual([])
  }, 90_000)

  it('the wills of a killed node\'s clients go out exactly once; a delayed will is cancelled by reconnecting to another node [MQTT-3.1.2-8] [MQTT-3.1.3-9]', async () => {
    const [n1, n2, n3] = await startNodes(3)
    const wills: string[] = []
    let probes = 0
    const watcher1 = await mqtt.connectAsync(url(n1!), {reconnectPeriod: 0})
    const watcher3 = await mqtt.connectAsync(url(n3!), {reconnectPeriod: 0})
    clients.push(watcher1, watcher3)
    for (const [name, w] of [['w1', watcher1], ['w3', watcher3]] as const) {
      w.on('message', (topic, payload) => {
        if (topic === 'will/probe') probes++
        else wills.push(`${name}:${payload.toString()}`)
      })
      await w.subscribeAsync('will/#', {qos: 1})
    }
    for (let i = 0; i < 5; i++) {
      const c = await mqtt.connectAsync(url(n2!), {clientId: `mortal${i}`, reconnectPeriod: 0, will: {topic: `will/m${i}`, payload: Buffer.from(`m${i}`), qos: 1, retain: false}})
      clients.push(c)
    }
    const delayed = (id: string) =>
      mqtt.connectAsync(url(n2!), {
        clientId: id,
        protocolVersion: 5,
        clean: false,
        reconnectPeriod: 0,
        properties: {sessionExpiryInterval: 300},
        will: {topic: `will/${id}`, payload: Buffer.from(id), qos: 1, retain: false, properties: {willDelayInterval: 4}},
      })
    clients.push(await delayed('comesback'), await delayed('staysaway'))
    await routed(n2!, watcher1, 'will/probe', () => probes)
    await routed(n2!, watcher3, 'will/probe', () => probes)

    await n2!.kill9()
    // The client that comes back connects to node 3 at once; its CONNECT completes once node 2 is adopted.
    const back = await mqtt.connectAsync(url(n3!), {clientId: 'comesback', protocolVersion: 5, clean: false, reconnectPeriod: 0, connectTimeout: 30_000, properties: {sessionExpiryInterval: 300}})
    clients.push(back)
    // The control: the same delayed will, no reconnection, published after its 4 s.
    await until(() => wills.filter((w) => w.endsWith(':staysaway')).length === 2, 20_000, `wills so far: ${wills.join(' ')}`)
    await new Promise((r) => setTimeout(r, 1500))
    const expected = [...Array.from({length: 5}, (_, i) => `m${i}`), 'staysaway'].flatMap((w) => [`w1:${w}`, `w3:${w}`]).sort()
    expect(wills.sort()).toEqual(expected)
  }, 60_000)
})
