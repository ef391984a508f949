/**
 * Three cluster nodes on one real redis-server: a PUBLISH on any node reaches the matching subscribers on the
 * others (QoS 0, 1, 2; wildcards; retained), and only the nodes whose subscriptions match receive it.
 */
import mqtt, {type MqttClient} from 'mqtt'
import {describe, expect, it} from 'vitest'
import {cluster__routes, cluster__suite} from '../helpers/cluster.js'

const {nodes, client} = cluster__suite(3)

function collect(c: MqttClient): Array<{topic: string; payload: string; qos: number; retain: boolean}> {
  const got: Array<{topic: string; payload: string; qos: number; retain: boolean}> = []
  c.on('message', (topic, payload, packet) => got.push({topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain}))
  return got
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('cluster routing', () => {
  it('QoS 0, 1 and 2 published on node 1 reach subscribers on nodes 2 and 3 at the granted QoS [MQTT-3.8.4-8]', async () => {
    const sub2 = await client(nodes[1]!)
    const sub3 = await client(nodes[2]!)
    const got2 = collect(sub2)
    const got3 = collect(sub3)
    await sub2.subscribeAsync('x/q', {qos: 2})
    await sub3.subscribeAsync('x/q', {qos: 1})
    await cluster__routes(nodes[0]!, 'x/q', [nodes[1]!, nodes[2]!])
    const pub = await client(nodes[0]!)
    for (const qos of [0, 1, 2] as const) await pub.publishAsync('x/q', `q${qos}`, {qos})
    await until(() => got2.length === 3 && got3.length === 3)
    expect(got2.map((m) => [m.payload, m.qos])).toEqual([['q0', 0], ['q1', 1], ['q2', 2]])
    expect(got3.map((m) => [m.payload, m.qos])).toEqual([['q0', 0], ['q1', 1], ['q2', 1]])
  })

  it('wildcards a/+/b/+ and # match across nodes; a node without a matching subscription receives nothing', async () => {
    const plus = await client(nodes[1]!)
    const hash = await client(nodes[2]!)
    const gotPlus = collect(plus)
    const gotHash = collect(hash)
    await plus.subscribeAsync('a/+/b/+', {qos: 1})
    await hash.subscribeAsync('w/#', {qos: 1})
    await cluster__routes(nodes[0]!, 'a/1/b/2', [nodes[1]!])
    await cluster__routes(nodes[0]!, 'w/x/y', [nodes[2]!])
    expect(nodes[0]!.broker.cluster!.nodesFor('a/1/b/2')).toEqual([nodes[1]!.inc])
    const before = nodes[2]!.broker.cluster!.stats.received
    const pub = await client(nodes[0]!)
    for (const topic of ['a/1/b/2', 'a/1/b', 'a/1/c/2', 'a/x/b/y', 'w', 'w/x/y']) await pub.publishAsync(topic, topic, {qos: 1})
    await until(() => gotPlus.length === 2 && gotHash.length === 2)
    await new Promise((r) => setTimeout(r, 200))
    expect(gotPlus.map((m) => m.topic)).toEqual(['a/1/b/2', 'a/x/b/y'])
    // [MQTT-4.7.1-2] `w/#` matches its parent level `w` too.
    expect(gotHash.map((m) => m.topic)).toEqual(['w', 'w/x/y'])
    // Node 3 only got the two messages its `w/#` subscription matched: no broadcast of every message.
    expect(nodes[2]!.broker.cluster!.stats.received - before).toBe(2)
  })

  it('a retained message set on node 1 is sent to a new subscriber on node 3; an empty one deletes it everywhere [MQTT-3.3.1-6]', async () => {
    const pub = await client(nodes[0]!)
    await pub.publishAsync('r/t', 'kept', {qos: 1, retain: true})
    await until(() => nodes[2]!.broker.retained.get('r/t') !== undefined)
    const sub = await client(nodes[2]!)
    const got = collect(sub)
    await sub.subscribeAsync('r/+', {qos: 1})
    await until(() => got.length === 1)
    expect(got[0]).toMatchObject({topic: 'r/t', payload: 'kept', retain: true})
    await pub.publishAsync('r/t', '', {qos: 1, retain: true})
    await until(() => nodes[1]!.broker.retained.get('r/t') === undefined && nodes[2]!.broker.retained.get('r/t') === undefined)
  })

  it('No Local holds across nodes too [MQTT-3.8.3-3]', async () => {
    const self = await client(nodes[1]!, {clientId: 'nolocal-a', protocolVersion: 5})
    const other = await client(nodes[2]!, {clientId: 'nolocal-b', protocolVersion: 5})
    const gotSelf = collect(self)
    const gotOther = collect(other)
    await self.subscribeAsync('nl/t', {qos: 1, nl: true})
    await other.subscribeAsync('nl/t', {qos: 1})
    await cluster__routes(nodes[1]!, 'nl/t', [nodes[2]!])
    await self.publishAsync('nl/t', 'mine', {qos: 1})
    await until(() => gotOther.length === 1)
    await new Promise((r) => setTimeout(r, 200))
    expect(gotSelf).toEqual([])
  })
})
