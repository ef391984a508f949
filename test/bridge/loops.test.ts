/**
 * Loops: mosquitto bridging into mqttkit in bridge mode (3.1.1 `try_private`: No Local and Retain As Published for
 * its subscriptions [MQTT-3.8.3-3]) and over MQTT 5; mqttkit bridging to a 3.1.1 remote in bridge mode; a triangle
 * of three brokers (mqttkit, mqttkit, mosquitto) bridged `both` that does not loop.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__publish, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

function counts(got: Array<{payload: string}>): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of got) out.set(m.payload, (out.get(m.payload) ?? 0) + 1)
  return out
}

describe('bridge loops', () => {
  for (const version of ['mqttv311', 'mqttv50'] as const) {
    it(`mosquitto bridging into mqttkit (${version}${version === 'mqttv311' ? ', bridge mode' : ''}): each message once on each side, no loop`, async (ctx) => {
      if (!bridge__requireMosquitto(ctx)) return
      const kit = await bridge__mqttkit()
      const mosq = await bridge__mosquitto([
        'connection tokit',
        `address 127.0.0.1:${kit.port}`,
        `bridge_protocol_version ${version}`,
        'try_private true',
        'cleansession true',
        'topic sensors/# both 1',
      ])
      await bridge__until(
        () => kit.broker.clients.list({connected: true}).some((c) => c.id.includes('tokit')),
        () => `mosquitto's bridge did not connect: ${mosq.log().slice(-2000)}`,
      )
      await sleep(300)
      // mosquitto's notification (retained, and its will) on $SYS/broker/connection/<its id>/state is let in.
      const id = kit.broker.clients.list({connected: true}).find((c) => c.id.includes('tokit'))!.id
      await bridge__until(() => kit.broker.retained.get(`$SYS/broker/connection/${id}/state`)?.payload.toString() === '1', () => 'no bridge notification')
      const here = await bridge__subscriber(kit.port, 'sensors/#')
      const there = await bridge__subscriber(mosq.port, 'sensors/#')
      const pubHere = await mqttjs__connect(kit.port, {protocolVersion: 5})
      const pubThere = await mqttjs__connect(mosq.port, {protocolVersion: 5})
      await Promise.all([bridge__publish(pubHere, 'sensors/kit', 100, 'k'), bridge__publish(pubThere, 'sensors/mosq', 100, 'q')])
      await bridge__until(() => here.got.length >= 200 && there.got.length >= 200, () => `here ${here.got.length} there ${there.got.length}`)
      await sleep(3000)
      expect(here.got).toHaveLength(200)
      expect(there.got).toHaveLength(200)
      if (version === 'mqttv311') {
        // The bridge's subscription was given No Local and Retain As Published although 3.1.1 cannot ask for them.
        const bridgeClient = kit.broker.clients.list().find((c) => c.id.includes('tokit'))!
        expect(bridgeClient.subscriptions[0]).toMatchObject({filter: 'sensors/#', noLocal: true, retainAsPublished: true})
      }
    }, 60_000)
  }

  it('mqttkit bridging to a 3.1.1 mosquitto in bridge mode: no echo of its own messages', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const local = await bridge__mqttkit([{name: 'old', url: `mqtt://127.0.0.1:${remote.port}`, protocolVersion: '3.1.1', topics: ['t/# both 1']}])
    await bridge__up(local)
    const here = await bridge__subscriber(local.port, 't/#')
    const there = await bridge__subscriber(remote.port, 't/#')
    const pubHere = await mqttjs__connect(local.port, {protocolVersion: 5})
    const pubThere = await mqttjs__connect(remote.port, {protocolVersion: 4})
    await pubHere.publishAsync('t/a', 'retained-here', {qos: 1, retain: true})
    await Promise.all([bridge__publish(pubHere, 't/here', 100, 'h'), bridge__publish(pubThere, 't/there', 100, 't')])
    await bridge__until(() => here.got.length >= 201 && there.got.length >= 201, () => `here ${here.got.length} there ${there.got.length}`)
    await sleep(3000)
    expect(here.got).toHaveLength(201)
    expect(there.got).toHaveLength(201)
    // Bridge mode: the remote kept the retain flag of what the bridge published (retain as published).
    const late = await bridge__subscriber(remote.port, 't/a')
    await bridge__until(() => late.got.length === 1, () => 'no retained t/a on the remote')
    expect(late.got[0]).toMatchObject({payload: 'retained-here', retain: true})
  }, 60_000)

  it('a triangle mqttkit A -> mqttkit B -> mosquitto C -> A, every bridge `both`: every message reaches every broker, copies stay bounded and counts flat', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    // Ports first: each broker's bridge names the next one (mosquitto's bridge retries until A listens).
    const portA = await brokers__freePort()
    const c = await bridge__mosquitto(['connection ca', `address 127.0.0.1:${portA}`, 'bridge_protocol_version mqttv50', 'cleansession true', 'restart_timeout 1', 'topic t/# both 1'])
    const b2 = await bridge__mqttkit([{name: 'bc', url: `mqtt://127.0.0.1:${c.port}`, topics: ['t/# both 1']}], {}, 'B')
    const a2 = await bridge__mqttkit([{name: 'ab', url: `mqtt://127.0.0.1:${b2.port}`, topics: ['t/# both 1']}], {listeners: [{type: 'tcp', host: '127.0.0.1', port: portA}]}, 'A')
    await bridge__up(a2)
    await bridge__up(b2)
    await bridge__until(
      () => a2.broker.clients.list({connected: true}).some((cl) => cl.id.includes('ca')),
      () => `mosquitto C's bridge did not connect: ${c.log().slice(-2000)}`,
    )
    await sleep(500)
    const subs = {A: await bridge__subscriber(a2.port, 't/#'), B: await bridge__subscriber(b2.port, 't/#'), C: await bridge__subscriber(c.port, 't/#')}
    const pubs = {A: await mqttjs__connect(a2.port, {protocolVersion: 5}), B: await mqttjs__connect(b2.port, {protocolVersion: 5}), C: await mqttjs__connect(c.port, {protocolVersion: 5})}
    await Promise.all(Object.entries(pubs).map(([name, client]) => bridge__publish(client, `t/${name}`, 50, name)))
    const payloads = ['A', 'B', 'C'].flatMap((n) => Array.from({length: 50}, (_, i) => `${n}${i}`))
    await bridge__until(
      () => Object.values(subs).every((s) => payloads.every((p) => counts(s.got).has(p))),
      () => `not every message everywhere: ${Object.entries(subs).map(([n, s]) => `${n}:${s.got.length}`).join(' ')}`,
    )
    await sleep(3000)
    const before = Object.values(subs).map((s) => s.got.length)
    await sleep(5000)
    // No loop: nothing more arrives once the copies have travelled.
    expect(Object.values(subs).map((s) => s.got.length)).toEqual(before)
    for (const [name, s] of Object.entries(subs)) {
      const n = counts(s.got)
      // Two paths lead to every broker, so a message may arrive more than once, but never more than 3 times.
      for (const p of payloads) expect(n.get(p), `${name} got ${p} ${n.get(p)} times`).toBeLessThanOrEqual(3)
    }
  }, 90_000)
})
