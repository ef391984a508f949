/**
 * The bridge's queue lives in the broker's store: mqttkit (SQLite) restarted while the remote is away keeps what it
 * had not forwarded and sends it in order once the remote is back. A bridge's session cannot be taken by a network
 * client; a reload restarts a changed bridge on its kept session and ends a removed one's.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {SqliteStore} from '../../src/broker/store/sqlite.js'
import {bridge__checkList} from '../../src/broker/bridge/index.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__publish, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

describe('bridge queue across restarts and reloads', () => {
  it('mqttkit restarted while the remote is down: the 300 queued messages reach the remote in order afterwards', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bridge-sqlite-'))
    const bridges = [{name: 'cloud', url: `mqtt://127.0.0.1:${remote.port}`, reconnectBase: 100, reconnectCap: 500, topics: ['s/# out 1']}]
    let local = await bridge__mqttkit(bridges, {store: new SqliteStore(join(dir, 'kit.db'))})
    await bridge__up(local)
    const collector = await mqttjs__connect(remote.port, {protocolVersion: 5, clientId: 'collector', clean: false, properties: {sessionExpiryInterval: 3600}})
    await collector.subscribeAsync('s/#', {qos: 1})
    collector.end(true)
    await remote.stop()
    await bridge__until(() => local.bridges.status()[0]!.state === 'down', () => 'still up')
    const pub = await mqttjs__connect(local.port, {protocolVersion: 5})
    await bridge__publish(pub, 's/x', 300)
    pub.end(true)
    await local.stop()

    local = await bridge__mqttkit(bridges, {store: new SqliteStore(join(dir, 'kit.db'))})
    expect(local.bridges.status()[0]!.queued).toBe(300)
    await remote.start()
    const got: string[] = []
    await mqttjs__connect(remote.port, {protocolVersion: 5, clientId: 'collector', clean: false, properties: {sessionExpiryInterval: 3600}}, (c) => c.on('message', (_t, p) => got.push(p.toString())))
    await bridge__until(() => got.length >= 300, () => `collector got ${got.length}; ${JSON.stringify(local.bridges.status())}`)
    await sleep(500)
    // The 100 the bridge held when it stopped come again first (the remote never had them), then the queue.
    expect(got).toEqual(Array.from({length: 300}, (_, i) => `m${i}`))
  }, 60_000)

  it('refuses a network client that asks for a $bridge/ client id (CONNACK 0x85)', async () => {
    const local = await bridge__mqttkit()
    await expect(mqttjs__connect(local.port, {protocolVersion: 5, clientId: '$bridge/cloud'})).rejects.toThrow(/[Cc]lient [Ii]dentifier not valid|0x85|133/)
  })

  it('reload: a changed bridge restarts on its kept session, a removed one ends it, a new one starts', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const url = `mqtt://127.0.0.1:${remote.port}`
    const local = await bridge__mqttkit([{name: 'one', url, topics: ['a/# out 1']}, {name: 'two', url, topics: ['b/# out 1']}])
    await bridge__up(local)
    const there = await bridge__subscriber(remote.port, '#')
    const result = await local.bridges.reload(bridge__checkList([{name: 'one', url, topics: ['a/# out 1 "" x/']}, {name: 'three', url, topics: ['c/# out 1']}]))
    expect(result).toEqual({started: ['three'], restarted: ['one'], stopped: ['two']})
    await bridge__up(local)
    expect(local.broker.clients.get('$bridge/two')).toBeUndefined()
    expect(local.broker.clients.get('$bridge/one')).toMatchObject({connected: true})
    const pub = await mqttjs__connect(local.port, {protocolVersion: 5})
    for (const t of ['a/1', 'b/1', 'c/1']) await pub.publishAsync(t, t, {qos: 1})
    await bridge__until(() => there.got.length >= 2, () => JSON.stringify(there.got))
    await sleep(500)
    expect(there.got.map((m) => m.topic).sort()).toEqual(['c/1', 'x/a/1'])
  })
})
