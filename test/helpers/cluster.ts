/**
 * Cluster nodes for tests: mqttkit Brokers in this process, each with its own RedisStore on one redis-server and
 * one cluster name, listening on 127.0.0.1 (port chosen by the system). A short lease keeps node-death tests quick.
 */
import {existsSync} from 'node:fs'
import mqtt, {type MqttClient} from 'mqtt'
import {afterAll, beforeAll, beforeEach} from 'vitest'
import {Broker} from '../../src/broker/broker.js'
import {RedisStore} from '../../src/broker/store/redis.js'
import {REDIS_SERVER, redis__cleanup, redis__start, requireRedis} from './redis.js'

export interface TestNode {
  broker: Broker
  port: number
  url: string
  nodeId: string
  inc: string
}

const started = new Set<Broker>()
let names = 0

export function cluster__name(): string {
  return `t${process.pid}-${++names}`
}

export async function cluster__node(redisUrl: string, clusterName: string, nodeId: string, extra: Record<string, unknown> = {}): Promise<TestNode> {
  const broker = new Broker({
    logLevel: 'silent',
    listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}],
    store: new RedisStore({url: redisUrl, clusterName}),
    cluster: {nodeId, leaseMs: 2000},
    raiseFileLimit: false,
    sysInterval: 0,
    ...extra,
  })
  const [listener] = await broker.listen()
  started.add(broker)
  const port = listener!.address.port
  return {broker, port, url: `mqtt://127.0.0.1:${port}`, nodeId, get inc() {
    return broker.cluster!.inc
  }}
}

export async function cluster__nodes(redisUrl: string, count: number): Promise<TestNode[]> {
  const name = cluster__name()
  const nodes: TestNode[] = []
  for (let i = 1; i <= count; i++) nodes.push(await cluster__node(redisUrl, name, `n${i}`))
  return nodes
}

/** Resolves once `from` would route `topic` to every node in `to` (a subscription's index entry has arrived). */
export async function cluster__routes(from: TestNode, topic: string, to: TestNode[], ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const known = from.broker.cluster!.nodesFor(topic)
    if (to.every((n) => known.includes(n.inc))) return
    if (Date.now() > deadline) throw new Error(`${from.nodeId} does not route ${topic} to ${to.map((n) => n.nodeId).join(', ')} (knows ${known.join(', ')})`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function cluster__stopAll(): Promise<void> {
  await Promise.allSettled([...started].map((b) => b.close()))
  started.clear()
}

/**
 * A test file's cluster: registers the hooks that start a redis-server and `count` nodes before its tests (each
 * test fails under CI, or skips loudly locally, without redis-server) and stop everything after. `nodes` is filled
 * in by beforeAll; `client` connects an mqtt.js client, and every client in `clients` is ended in afterAll.
 */
export function cluster__suite(count: number): {nodes: TestNode[]; clients: MqttClient[]; client: (node: TestNode, options?: mqtt.IClientOptions) => Promise<MqttClient>} {
  const nodes: TestNode[] = []
  const clients: MqttClient[] = []
  beforeAll(async () => {
    if (!existsSync(REDIS_SERVER)) return
    const redis = await redis__start()
    nodes.push(...(await cluster__nodes(redis.url, count)))
  })
  beforeEach((ctx) => {
    requireRedis(ctx)
  })
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.endAsync(true)))
    await cluster__stopAll()
    await redis__cleanup()
  })
  async function client(node: TestNode, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const c = await mqtt.connectAsync(node.url, {reconnectPeriod: 0, ...options})
    clients.push(c)
    return c
  }
  return {nodes, clients, client}
}
