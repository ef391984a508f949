/**
 * Sessions across three cluster nodes on one real redis-server: a persistent session resumes on another node with
 * its queue, a client id connecting to the nodes in turn is taken over each time (exactly one connection
 * survives), and a shared subscription with members on all nodes gives each message to exactly one member.
 */
import mqtt, {type MqttClient} from 'mqtt'
import {describe, expect, it} from 'vitest'
import {cluster__routes, cluster__suite} from '../helpers/cluster.js'

const {nodes, clients, client} = cluster__suite(3)

async function until(what: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('cluster sessions', () => {
  it('a persistent session made on node 2 resumes on node 3 with what was queued meanwhile [MQTT-3.2.2-3] [MQTT-4.5.0-1]', async () => {
    const first = await client(nodes[1]!, {clientId: 'roamer', clean: false})
    await first.subscribeAsync('roam/+', {qos: 1})
    await first.endAsync()
    await cluster__routes(nodes[0]!, 'roam/x', [nodes[1]!])
    const pub = await client(nodes[0]!)
    for (let i = 0; i < 50; i++) await pub.publishAsync(`roam/${i}`, `m${i}`, {qos: 1})
    const got: string[] = []
    const again = mqtt.connect(nodes[2]!.url, {clientId: 'roamer', clean: false, reconnectPeriod: 0})
    clients.push(again)
    let present: boolean | undefined
    again.on('connect', (connack) => (present = connack.sessionPresent))
    again.on('message', (_t, payload) => got.push(payload.toString()))
    await until(() => got.length >= 50)
    expect(present).toBe(true)
    expect(got).toEqual(Array.from({length: 50}, (_, i) => `m${i}`))
    // The session now lives on node 3: new messages go there.
    await cluster__routes(nodes[0]!, 'roam/x', [nodes[2]!])
    await pub.publishAsync('roam/after', 'after', {qos: 1})
    await until(() => got.length === 51)
    expect(got[50]).toBe('after')
    expect(nodes[1]!.broker.clientIds).not.toContain('roamer')
  })

  it('one client id connecting to the three nodes in turn: each connection takes the session over (0x8E), exactly one survives [MQTT-3.1.4-3]', async () => {
    const reasons: number[] = []
    const all: MqttClient[] = []
    for (let round = 0; round < 12; round++) {
      const node = nodes[round % 3]!
      const c = await client(node, {clientId: 'hopper', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 300}})
      c.on('disconnect', (packet) => reasons.push(packet.reasonCode ?? -1))
      all.push(c)
    }
    await until(() => reasons.length === 11)
    await new Promise((r) => setTimeout(r, 300))
    expect(reasons).toEqual(Array(11).fill(0x8e))
    const holders = nodes.filter((n) => n.broker.clientIds.includes('hopper'))
    expect(holders.map((n) => n.nodeId)).toEqual([nodes[11 % 3]!.nodeId])
    expect(all.filter((c) => c.connected)).toEqual([all[11]])
  })

  it('$share/g/t with members on all three nodes: every message to exactly one member [MQTT-4.8.2-2]', async () => {
    const got = new Map<string, string[]>()
    for (const [i, node] of nodes.entries()) {
      const c = await client(node, {clientId: `member${i}`, protocolVersion: 5})
      got.set(`member${i}`, [])
      c.on('message', (_t, payload) => got.get(`member${i}`)!.push(payload.toString()))
      await c.subscribeAsync('$share/g/sh/t', {qos: 1})
    }
    await cluster__routes(nodes[0]!, 'sh/t', [nodes[1]!, nodes[2]!])
    const pub = await client(nodes[0]!)
    const total = 300
    for (let i = 0; i < total; i++) await pub.publishAsync('sh/t', `s${i}`, {qos: 1})
    const all = () => [...got.values()].flat()
    await until(() => all().length >= total)
    await new Promise((r) => setTimeout(r, 300))
    const received = all()
    expect(received.length).toBe(total)
    expect(new Set(received).size).toBe(total)
    for (const [member, list] of got) expect(list.length, member).toBeGreaterThan(0)
  })
})
