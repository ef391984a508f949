/**
 * Session clocks across kill -9 of the CLI broker on an SQLite store: a will waiting for its delay and the session
 * expiry interval keep counting from the disconnection, not from the restart. Real sockets, mqtt.js clients.
 */
import {describe, expect, it} from 'vitest'
import {
  crash__registerCleanup,
  crash__collect as collect,
  crash__committed as committed,
  crash__connect as connect,
  crash__dbPath as dbPath,
  crash__start as start,
  crash__subscribeOffline as subscribeOffline,
  crash__until as until,
} from './crash-helpers.js'

crash__registerCleanup()

describe('session clocks on the SQLite store across kill -9 of the broker', () => {
  it('[MQTT-3.1.3-9] a will waiting for its delay when the broker died is published after the restart', async () => {
    const db = dbPath('will.db')
    let broker = await start(db)
    const watcher = {clientId: 'will-watch', protocolVersion: 5 as const, clean: false, properties: {sessionExpiryInterval: 600}}
    await subscribeOffline(broker, watcher, 'will/#', 1)
    const client = await connect(broker, {
      clientId: 'will-client',
      protocolVersion: 5,
      clean: false,
      properties: {sessionExpiryInterval: 600},
      will: {topic: 'will/client', payload: Buffer.from('gone'), qos: 1, retain: false, properties: {willDelayInterval: 2}},
    })
    // The connection breaks without DISCONNECT: the will now waits for its delay, and the broker dies meanwhile.
    client.stream.destroy()
    // Time for the broker to see the connection drop (which arms the will), then for that to be committed.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await committed(broker)
    await broker.kill9()

    broker = await start(db, broker.port)
    const run = collect(broker, watcher)
    expect((await run.connack).sessionPresent).toBe(true)
    await until(() => run.received.length >= 1, 8_000)
    expect(run.received.map((m) => `${m.topic}=${m.payload}`)).toEqual(['will/client=gone'])
  }, 60_000)

  it('[MQTT-3.1.2-23] session expiry keeps counting across a restart: a session expires on time, not later', async () => {
    const db = dbPath('expiry.db')
    let broker = await start(db)
    const short = {clientId: 'exp-short', protocolVersion: 5 as const, clean: false, properties: {sessionExpiryInterval: 3}}
    const long = {clientId: 'exp-long', protocolVersion: 5 as const, clean: false, properties: {sessionExpiryInterval: 3600}}
    for (const options of [short, long]) await subscribeOffline(broker, options, 'exp/#', 1)
    const disconnectedAt = Date.now()
    await committed(broker)
    await broker.kill9()
    broker = await start(db, broker.port)
    // Counted from the disconnection the short session is gone 3 s later; counted from the restart it would not be.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, disconnectedAt + 3_600 - Date.now())))
    const restartedLate = Date.now() - disconnectedAt
    const shortRun = collect(broker, short)
    expect((await shortRun.connack).sessionPresent, `checked ${restartedLate} ms after the disconnection`).toBe(false)
    const longRun = collect(broker, long)
    expect((await longRun.connack).sessionPresent).toBe(true)
  }, 60_000)
})
