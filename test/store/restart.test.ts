/**
 * Restarting the CLI broker on the same SQLite file (after kill -9 and after a clean stop): retained messages.
 * Real sockets, mqtt.js clients.
 */
import {describe, expect, it} from 'vitest'
import {
  crash__registerCleanup,
  crash__collect as collect,
  crash__connect as connect,
  crash__dbPath as dbPath,
  crash__start as start,
  crash__until as until,
} from './crash-helpers.js'

crash__registerCleanup()

describe('the SQLite store across broker restarts', () => {
  it('retained messages survive kill -9; deleted ones stay deleted', async () => {
    const db = dbPath('retained.db')
    let broker = await start(db)
    const pub = await connect(broker, {clientId: 'ret-pub', protocolVersion: 5})
    await pub.publishAsync('ret/1', 'one', {qos: 1, retain: true})
    await pub.publishAsync('ret/2', 'two', {qos: 0, retain: true})
    await pub.publishAsync('ret/3', 'three', {qos: 1, retain: true})
    await pub.publishAsync('ret/3', '', {qos: 1, retain: true})
    // The QoS 0 message before it is committed with (or before) this acknowledged one.
    await pub.publishAsync('ret/4', 'four', {qos: 1, retain: true, properties: {contentType: 'text/plain'}})
    await broker.kill9()

    broker = await start(db, broker.port)
    const afterCrash = collect(broker, {clientId: 'ret-sub', protocolVersion: 5})
    await afterCrash.connack
    await afterCrash.client.subscribeAsync('ret/#', {qos: 1})
    await until(() => afterCrash.received.length >= 3, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect([...afterCrash.received].sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      {topic: 'ret/1', payload: 'one', retain: true, dup: false},
      {topic: 'ret/2', payload: 'two', retain: true, dup: false},
      {topic: 'ret/4', payload: 'four', retain: true, dup: false},
    ])
  }, 60_000)

  it('retained messages survive a clean stop (SIGTERM, exit code 0)', async () => {
    const db = dbPath('retained-stop.db')
    let broker = await start(db)
    const pub = await connect(broker, {clientId: 'ret-pub2', protocolVersion: 4})
    await pub.publishAsync('ret/1', 'one', {qos: 0, retain: true})
    await pub.publishAsync('ret/2', 'two', {qos: 0, retain: true})
    await pub.publishAsync('ret/1', '', {qos: 0, retain: true})
    await new Promise((resolve) => setTimeout(resolve, 100))
    pub.end(true)
    expect(await broker.stop(), broker.output).toBe(0)

    broker = await start(db, broker.port)
    const afterStop = collect(broker, {clientId: 'ret-sub2', protocolVersion: 4})
    await afterStop.connack
    await afterStop.client.subscribeAsync('ret/#', {qos: 1})
    await until(() => afterStop.received.length >= 1, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(afterStop.received.map((m) => `${m.topic}=${m.payload}`)).toEqual(['ret/2=two'])
  }, 60_000)
})
