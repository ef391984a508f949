/**
 * Redis stopped for 10 s under QoS 1 load between two cluster nodes, then started again (append-only file on):
 * nothing is acknowledged that was not kept, new connections are refused with 0x88 meanwhile, the outage is
 * logged once per node, and afterwards every acknowledged message reaches the subscriber on the other node.
 */
import mqtt, {type MqttClient} from 'mqtt'
import {afterAll, describe, expect, it} from 'vitest'
import type {Logger} from '../../src/broker/logger.js'
import {type TestNode, cluster__name, cluster__node, cluster__routes, cluster__stopAll} from '../helpers/cluster.js'
import {redis__cleanup, redis__start, requireRedis} from '../helpers/redis.js'

const clients: MqttClient[] = []
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.endAsync(true)))
  await cluster__stopAll()
  await redis__cleanup()
})

function capture(lines: string[]): Logger {
  const keep = (level: string) => (message: string) => lines.push(`${level} ${message}`)
  return {error: keep('error'), warn: keep('warn'), info: keep('info'), debug: () => {}}
}

async function until(what: () => boolean, ms: number, why: () => string): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error(why())
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('cluster: Redis outage', () => {
  it('Redis down 10 s under QoS 1 load: no ack it cannot keep, 0x88 for new clients, one log line, then every acknowledged message delivered [MQTT-4.3.2-2]', async (ctx) => {
    if (!requireRedis(ctx)) return
    const redis = await redis__start({appendonly: true})
    const name = cluster__name()
    const logs: [string[], string[]] = [[], []]
    const nodes: TestNode[] = [
      await cluster__node(redis.url, name, 'o1', {logger: capture(logs[0])}),
      await cluster__node(redis.url, name, 'o2', {logger: capture(logs[1])}),
    ]
    const received = new Set<string>()
    const sub = mqtt.connect(nodes[1]!.url, {clientId: 'outage-sub', clean: false, reconnectPeriod: 500, reconnectOnConnackError: true})
    clients.push(sub)
    sub.on('message', (_t, payload) => received.add(payload.toString()))
    await new Promise((resolve) => sub.once('connect', resolve))
    await sub.subscribeAsync('load/#', {qos: 1})
    await cluster__routes(nodes[0]!, 'load/t', [nodes[1]!])

    // A refused CONNACK (0x88) is worth retrying here: mqtt.js only does so when asked.
    const pub = mqtt.connect(nodes[0]!.url, {clientId: 'outage-pub', clean: false, reconnectPeriod: 500, reconnectOnConnackError: true})
    clients.push(pub)
    await new Promise((resolve) => pub.once('connect', resolve))
    const acked = new Set<string>()
    let sent = 0
    let publishing = true
    const load = (async () => {
      // Bounded: one message every 20 ms for the ~13 s of the test, at most 1,000.
      while (publishing && sent < 1000) {
        const payload = `m${sent++}`
        pub.publish('load/t', payload, {qos: 1}, (error) => {
          if (!error) acked.add(payload)
        })
        await new Promise((r) => setTimeout(r, 20))
      }
    })()

    await new Promise((r) => setTimeout(r, 1000))
    await redis.stop()
    const ackedAtStop = acked.size
    await new Promise((r) => setTimeout(r, 1500))
    // Whatever was still waiting for its commit when Redis went is not acknowledged while it is away.
    const ackedDuring = acked.size
    const refused = await mqtt.connectAsync(nodes[0]!.url, {protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000}).then(
      (c) => {
        clients.push(c)
        return 0
      },
      (error: {code?: number}) => error.code ?? -1,
    )
    await new Promise((r) => setTimeout(r, 8500))
    expect(acked.size - ackedDuring, 'acknowledged while Redis was down').toBe(0)
    await redis.start()
    await new Promise((r) => setTimeout(r, 1000))
    publishing = false
    await load

    // Every message is acknowledged once Redis is back (the client resends what was not), and delivered.
    await until(() => acked.size === sent, 30_000, () => `acknowledged ${acked.size} of ${sent}\n${logs[0].filter((l) => !/connected|disconnected/.test(l)).slice(0, 30).join("\n")}`)
    await until(() => [...acked].every((p) => received.has(p)), 30_000, () => `delivered ${[...acked].filter((p) => received.has(p)).length} of ${acked.size}`)
    expect(ackedAtStop).toBeGreaterThan(10)
    expect(refused, 'CONNACK reason code while Redis is down').toBe(0x88)
    for (const lines of logs) {
      expect(lines.filter((l) => l.includes('cluster: Redis unreachable'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('cluster: Redis reachable again'))).toHaveLength(1)
    }
    // Nobody adopted anybody: the nodes all came back within their lease of Redis returning.
    expect(nodes.map((n) => n.broker.cluster!.stats.adoptions)).toEqual([0, 0])
    await redis.dispose()
  }, 90_000)
})
