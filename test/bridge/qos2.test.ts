/**
 * QoS 2 across a bridge when something breaks mid-exchange [MQTT-4.3.3-1], with a TCP proxy between the bridge and a
 * real mosquitto that records packet types and holds back some of mosquitto's:
 * - in: the bridge answers the remote's PUBLISH with PUBREC only once this broker has the message, so mqttkit killed
 *   (SIGKILL) before the remote's PUBREL loses nothing: the message is in the store (SQLite) and reaches an offline
 *   persistent subscriber after the restart.
 * - out: the connection lost after the bridge's PUBREL, before the remote's PUBCOMP: after the reconnect the bridge
 *   sends the PUBREL again for the same packet id [MQTT-4.4.0-1] and never the PUBLISH, so the message arrives once.
 */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {cli__cleanup, cli__spawn} from '../helpers/cli.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {join} from 'node:path'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__proxy, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

const PUBLISH = 3
const PUBREC = 5
const PUBREL = 6
const PUBCOMP = 7

afterEach(async () => {
  await cli__cleanup()
  await mqttjs__cleanup()
  await bridge__cleanup()
})

describe('bridge QoS 2 exchanges cut short', () => {
  it('in: mqttkit killed after PUBREC, before the remote PUBREL: the message is delivered after the restart [MQTT-4.3.3-1]', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const proxy = await bridge__proxy(remote.port)
    proxy.drop.add(PUBREL)
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bridge-q2-'))
    const port = await brokers__freePort()
    const args = ['broker', '--store', 'sqlite', '--data-dir', dir, '--no-ws', '--no-web', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port)]
    const bridge = ['--bridge', `in2=mqtt://127.0.0.1:${proxy.port}`, '--bridge-topic', 'in2=down/# in 2']
    const first = cli__spawn([...args, ...bridge], {env: {NO_COLOR: '1'}})
    await first.waitForStderr(/bridge in2: connected to/, 20_000)
    // An offline persistent subscriber here: what it gets after the restart came from the store.
    const keeper = {clientId: 'keeper', clean: false, properties: {sessionExpiryInterval: 3600}, protocolVersion: 5 as const}
    const sub = await mqttjs__connect(port, keeper)
    await sub.subscribeAsync('down/#', {qos: 2})
    await sub.endAsync()
    const there = await mqttjs__connect(remote.port, {protocolVersion: 5})
    await there.publishAsync('down/x', 'precious', {qos: 2})
    // The publish call above returns at mosquitto's PUBCOMP; the bridge's PUBREC has gone through the proxy.
    await bridge__until(() => proxy.fromClient.includes(PUBREC), () => `bridge sent ${proxy.fromClient.join(',')}`)
    expect(proxy.fromServer).toContain(PUBREL)
    expect(proxy.fromClient).not.toContain(PUBCOMP)
    first.child.kill('SIGKILL')
    await first.exited
    proxy.cut()

    proxy.drop.clear()
    const second = cli__spawn([...args, ...bridge], {env: {NO_COLOR: '1'}})
    await second.waitForStderr(/bridge in2: connected to .*session resumed/, 20_000)
    // mosquitto sends its PUBREL again on the resumed session and the bridge completes it.
    await bridge__until(() => proxy.fromClient.filter((t) => t === PUBCOMP).length === 1, () => `bridge sent ${proxy.fromClient.join(',')}`)
    const got: string[] = []
    await mqttjs__connect(port, keeper, (c) => c.on('message', (_t, p) => got.push(p.toString())))
    await bridge__until(() => got.length >= 1, () => `keeper got nothing; ${second.stderr()}`, 10_000)
    await sleep(500)
    expect(got).toEqual(['precious'])
  }, 60_000)

  it('out: connection lost before the remote PUBCOMP: PUBREL again for the same packet id, the message arrives once [MQTT-4.4.0-1]', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const proxy = await bridge__proxy(remote.port)
    proxy.drop.add(PUBCOMP)
    const local = await bridge__mqttkit([{name: 'out2', url: `mqtt://127.0.0.1:${proxy.port}`, reconnectBase: 100, reconnectCap: 300, topics: ['up/# out 2']}])
    await bridge__up(local)
    const there = await bridge__subscriber(remote.port, 'up/#', {clientId: 'there'})
    await there.client.subscribeAsync('up/#', {qos: 2})
    const pub = await mqttjs__connect(local.port, {protocolVersion: 5})
    await pub.publishAsync('up/x', 'once', {qos: 2})
    await bridge__until(() => proxy.fromServer.includes(PUBCOMP), () => `remote sent ${proxy.fromServer.join(',')}`)
    expect(proxy.fromClient.filter((t) => t === PUBLISH)).toHaveLength(1)
    expect(proxy.fromClient.filter((t) => t === PUBREL)).toHaveLength(1)
    const before = proxy.fromClient.length
    proxy.drop.clear()
    proxy.cut()
    await bridge__until(() => local.bridges.status()[0]!.sent === 1, () => JSON.stringify(local.bridges.status()))
    await bridge__up(local)
    await sleep(1500)
    const after = proxy.fromClient.slice(before)
    expect(after).toContain(PUBREL)
    expect(after).not.toContain(PUBLISH)
    expect(proxy.releases.length).toBeGreaterThanOrEqual(2)
    expect(new Set(proxy.releases).size).toBe(1)
    expect(there.got.map((m) => m.payload)).toEqual(['once'])
    expect(local.bridges.status()[0]).toMatchObject({state: 'up', sent: 1, queued: 0, dropped: 0})
  }, 60_000)
})
