/**
 * Wills of clients connected when the broker process is killed (`kill -9`): the built CLI broker on an SQLite
 * store, restarted on the same file and port. The connection loss the crash caused is an abnormal disconnect, so
 * the will must come out after the restart [MQTT-3.1.2-8], after its delay for MQTT 5 [MQTT-3.1.3-9].
 */
import type {IClientOptions} from 'mqtt'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {
  crash__cleanup,
  crash__collect as collect,
  crash__committed as committed,
  crash__connect as connect,
  crash__start as start,
  crash__until as until,
} from './crash-helpers.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

afterEach(crash__cleanup)
afterAll(tmp__cleanup)

const db = (name: string) => `${tmp__dir()}/${name}`
const WATCHER = {clientId: 'will-watcher', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 3600}} satisfies IClientOptions

function will(name: string, delayInterval?: number): IClientOptions['will'] {
  const base = {topic: `wills/${name}`, payload: Buffer.from(`${name} is gone`), qos: 1 as const, retain: false}
  return delayInterval === undefined ? base : {...base, properties: {willDelayInterval: delayInterval}}
}

/** Time for late, unexpected messages to arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

describe('wills across kill -9 of the broker (SQLite store)', () => {
  it('[MQTT-3.1.2-8] the wills of 3.1.1 clients (clean session 1 and 0) connected at the crash are published at once after the restart', async () => {
    const file = db('will-311.db')
    let broker = await start(file)
    const watcher = await connect(broker, WATCHER)
    await watcher.subscribeAsync('wills/#', {qos: 1})
    await watcher.endAsync()
    await connect(broker, {clientId: 'clean-device', protocolVersion: 4, clean: true, will: will('clean-device')})
    await connect(broker, {clientId: 'kept-device', protocolVersion: 4, clean: false, will: will('kept-device')})
    // The CONNECTs are written behind their CONNACKs: wait for their group commit before the crash.
    await committed(broker)
    await broker.kill9()

    broker = await start(file, broker.port)
    const run = collect(broker, WATCHER)
    expect((await run.connack).sessionPresent).toBe(true)
    await until(() => run.received.length >= 2, 5_000)
    await settle()
    expect(run.received.map((m) => m.payload).sort()).toEqual(['clean-device is gone', 'kept-device is gone'])
  }, 30_000)

  it('[MQTT-3.1.3-9] an MQTT 5 will waits for its delay after the crash, and a client reconnecting within it cancels its will', async () => {
    const DELAY = 4
    const file = db('will-v5.db')
    let broker = await start(file)
    const watcher = await connect(broker, WATCHER)
    await watcher.subscribeAsync('wills/#', {qos: 1})
    await watcher.endAsync()
    const device = (id: string) =>
      ({clientId: id, protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 600}, will: will(id, DELAY)}) satisfies IClientOptions
    // The store dates a session left connected by the crash from its last commit, which is after this moment.
    const connectedAt = Date.now()
    await connect(broker, device('gone-device'))
    await connect(broker, device('back-device'))
    // The CONNECTs are written behind their CONNACKs: wait for their group commit before the crash.
    await committed(broker)
    await broker.kill9()

    broker = await start(file, broker.port)
    const back = collect(broker, {...device('back-device'), will: undefined})
    expect((await back.connack).sessionPresent).toBe(true)
    const run = collect(broker, WATCHER)
    await run.connack
    await until(() => run.received.length >= 1, (DELAY + 5) * 1000)
    const arrivedAfter = Date.now() - connectedAt
    expect(run.received.map((m) => m.topic)).toEqual(['wills/gone-device'])
    expect(arrivedAfter, 'published before its will delay').toBeGreaterThanOrEqual(DELAY * 1000)
    // The reconnected client's will would be due at the same moment: give it a margin, it must never come.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(run.received.map((m) => m.topic)).toEqual(['wills/gone-device'])
  }, 40_000)

  it('[MQTT-3.1.2-8] SIGTERM still publishes the will at shutdown, and the restart does not publish it again', async () => {
    const file = db('will-term.db')
    let broker = await start(file)
    const watcher = await connect(broker, WATCHER)
    await watcher.subscribeAsync('wills/#', {qos: 1})
    await watcher.endAsync()
    await connect(broker, {clientId: 'device', protocolVersion: 4, clean: true, will: will('device')})
    expect(await broker.stop()).toBe(0)

    broker = await start(file, broker.port)
    const run = collect(broker, WATCHER)
    await run.connack
    await until(() => run.received.length >= 1, 5_000)
    await settle()
    expect(run.received.map((m) => m.topic)).toEqual(['wills/device'])
  }, 30_000)
})
