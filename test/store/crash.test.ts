/**
 * The durability contract end to end: the built CLI broker on an SQLite store, killed with SIGKILL after it
 * acknowledged QoS 1 messages, restarted on the same file. Real sockets, mqtt.js clients (MQTT 5 and 3.1.1).
 */
import {connect as netConnect} from 'node:net'
import mqttPacket from 'mqtt-packet'
import type {IClientOptions} from 'mqtt'
import {describe, expect, it} from 'vitest'
import {
  crash__registerCleanup,
  crash__collect as collect,
  crash__connect as connect,
  crash__dbPath as dbPath,
  crash__publishAll as publishAll,
  crash__start as start,
  crash__subscribeOffline as subscribeOffline,
  crash__until as until,
} from './crash-helpers.js'

crash__registerCleanup()

const sessions: Array<{name: string; options: IClientOptions}> = [
  {name: 'MQTT 5 session expiry', options: {clientId: 'crash-v5', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 3600}}},
  {name: 'MQTT 3.1.1 clean session 0', options: {clientId: 'crash-v311', protocolVersion: 4, clean: false}},
]

describe('the SQLite store across kill -9 of the broker', () => {
  it('[MQTT-4.3.2-2] every PUBACKed QoS 1 message reaches every offline persistent session after a crash', async () => {
    const N = 500
    const db = dbPath('crash.db')
    let broker = await start(db)
    for (const {options} of sessions) await subscribeOffline(broker, options, 'crash/#', 1)

    const pub = await connect(broker, {clientId: 'crash-pub', protocolVersion: 5})
    await publishAll(pub, 'crash/data', N)
    await broker.kill9()
    pub.end(true)

    broker = await start(db, broker.port)
    const runs = sessions.map(({options}) => collect(broker, options))
    for (const run of runs) expect((await run.connack).sessionPresent).toBe(true)
    await until(() => runs.every((run) => new Set(run.received.map((m) => m.payload)).size >= N), 20_000)

    for (const [i, run] of runs.entries()) {
      const payloads = run.received.map((m) => m.payload)
      const distinct = new Set(payloads)
      const missing = Array.from({length: N}, (_, k) => String(k)).filter((p) => !distinct.has(p))
      expect(missing, `${sessions[i]!.name}: messages lost`).toEqual([])
      // At least once: a duplicate is allowed, but first deliveries keep the publish order [MQTT-4.6.0-6].
      const firsts = payloads.filter((p, k) => payloads.indexOf(p) === k).map(Number)
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b))
      console.log(`${sessions[i]!.name}: ${N} delivered after the crash, ${payloads.length - distinct.size} duplicates`)
    }
  }, 60_000)

  it('[MQTT-4.4.0-1] messages sent but not acknowledged when the broker died are sent again, then the queue', async () => {
    const N = 300
    const db = dbPath('inflight.db')
    let broker = await start(db)
    // A raw 3.1.1 client that receives and never acknowledges: the broker holds its messages as inflight.
    const socket = netConnect(broker.port, '127.0.0.1')
    const parser = mqttPacket.parser({protocolVersion: 4})
    let unacked = 0
    let subscribed = false
    parser.on('packet', (packet) => {
      if (packet.cmd === 'publish') unacked++
      if (packet.cmd === 'suback') subscribed = true
    })
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'inflight-sub', clean: false, keepalive: 60}))
    socket.write(mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'inf/#', qos: 1}]}))
    await until(() => subscribed, 5_000)
    expect(subscribed).toBe(true)

    const pub = await connect(broker, {clientId: 'inflight-pub', protocolVersion: 5})
    await publishAll(pub, 'inf/x', N)
    await until(() => unacked > 0, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const inflightAtCrash = unacked
    expect(inflightAtCrash).toBeGreaterThan(0)
    await broker.kill9()
    socket.destroy()
    pub.end(true)

    broker = await start(db, broker.port)
    const run = collect(broker, {clientId: 'inflight-sub', protocolVersion: 4, clean: false})
    expect((await run.connack).sessionPresent).toBe(true)
    await until(() => new Set(run.received.map((m) => m.payload)).size >= N, 15_000)
    const payloads = run.received.map((m) => m.payload)
    expect(new Set(payloads).size).toBe(N)
    // The unacknowledged ones come first, marked as resent; the queue follows, in publish order.
    expect(run.received.slice(0, inflightAtCrash).every((m) => m.dup)).toBe(true)
    expect(payloads.map(Number)).toEqual(Array.from({length: N}, (_, i) => i))
    console.log(`${inflightAtCrash} inflight at the crash resent with DUP, ${N - inflightAtCrash} queued delivered after`)
  }, 60_000)

  it('[MQTT-3.3.2-5] a queued message whose expiry passed while the broker was down is not delivered', async () => {
    const db = dbPath('msg-expiry.db')
    let broker = await start(db)
    const sub = {clientId: 'mexp', protocolVersion: 5 as const, clean: false, properties: {sessionExpiryInterval: 600}}
    await subscribeOffline(broker, sub, 'mexp/#', 1)
    const pub = await connect(broker, {clientId: 'mexp-pub', protocolVersion: 5})
    await pub.publishAsync('mexp/a', 'short-lived', {qos: 1, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync('mexp/a', 'lasting', {qos: 1})
    await broker.kill9()
    pub.end(true)
    await new Promise((resolve) => setTimeout(resolve, 1_300))

    broker = await start(db, broker.port)
    const run = collect(broker, sub)
    expect((await run.connack).sessionPresent).toBe(true)
    await until(() => run.received.length >= 1, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(run.received.map((m) => m.payload)).toEqual(['lasting'])
  }, 60_000)
})
