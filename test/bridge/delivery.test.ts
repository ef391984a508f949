/**
 * QoS 2 across a bridge, both ways, exactly once [MQTT-4.3.3-1]; fail-over to the next URL after a failed attempt;
 * credentials on the remote.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {requireProgram} from '../helpers/system.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

describe('bridge delivery', () => {
  it('QoS 2 both ways: 200 messages each way arrive exactly once, at QoS 2', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const local = await bridge__mqttkit([{name: 'q2', url: `mqtt://127.0.0.1:${remote.port}`, topics: ['up/# out 2', 'down/# in 2']}])
    await bridge__up(local)
    const there = await mqttjs__connect(remote.port, {protocolVersion: 5})
    const here = await mqttjs__connect(local.port, {protocolVersion: 5})
    const gotThere: Array<[string, number]> = []
    const gotHere: Array<[string, number]> = []
    there.on('message', (_t, p, packet) => gotThere.push([p.toString(), packet.qos]))
    here.on('message', (_t, p, packet) => gotHere.push([p.toString(), packet.qos]))
    await there.subscribeAsync('up/#', {qos: 2})
    await here.subscribeAsync('down/#', {qos: 2})
    // In tens: mosquitto's receive maximum is 20 and mqtt.js does not hold back for it.
    const inTens = async (client: typeof here, topic: string, prefix: string) => {
      for (let i = 0; i < 200; i += 10) await Promise.all(Array.from({length: 10}, (_, k) => client.publishAsync(topic, `${prefix}${i + k}`, {qos: 2})))
    }
    await Promise.all([inTens(here, 'up/x', 'u'), inTens(there, 'down/x', 'd')])
    await bridge__until(() => gotThere.length >= 200 && gotHere.length >= 200, () => `there ${gotThere.length} here ${gotHere.length}`)
    await sleep(2000)
    expect(gotThere).toEqual(Array.from({length: 200}, (_, i) => [`u${i}`, 2]))
    expect(gotHere).toEqual(Array.from({length: 200}, (_, i) => [`d${i}`, 2]))
  })

  it("a message over the other side's maximum packet size is dropped and counted; the next ones pass", async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto(['max_packet_size 2000'])
    // Out: this broker takes 4,000 bytes, the remote (which says so in its MQTT 5 CONNACK) 2,000.
    const wide = await bridge__mqttkit([{name: 'out', url: `mqtt://127.0.0.1:${remote.port}`, topics: ['out/# out 1']}], {maxPacketSize: 4000})
    // In: this broker takes 1,000 bytes.
    const narrow = await bridge__mqttkit([{name: 'in', url: `mqtt://127.0.0.1:${remote.port}`, topics: ['in/# in 1']}], {maxPacketSize: 1000})
    await bridge__up(wide)
    await bridge__up(narrow)
    const there = await bridge__subscriber(remote.port, 'out/#')
    const here = await bridge__subscriber(narrow.port, 'in/#')
    const pubHere = await mqttjs__connect(wide.port, {protocolVersion: 5})
    const pubThere = await mqttjs__connect(remote.port, {protocolVersion: 5})
    await pubHere.publishAsync('out/big', Buffer.alloc(2500), {qos: 1})
    await pubHere.publishAsync('out/small', 'ok', {qos: 1})
    await bridge__until(() => there.got.length === 1, () => `there ${JSON.stringify(there.got.map((m) => m.topic))}`)
    expect(there.got[0]!.topic).toBe('out/small')
    expect(wide.bridges.status()[0]).toMatchObject({state: 'up', sent: 1, dropped: 1})
    await pubThere.publishAsync('in/big', Buffer.alloc(1500), {qos: 1})
    await pubThere.publishAsync('in/small', 'ok', {qos: 1})
    await bridge__until(() => here.got.length === 1, () => `here ${JSON.stringify(here.got.map((m) => m.topic))}`)
    expect(here.got[0]!.topic).toBe('in/small')
    expect(narrow.bridges.status()[0]).toMatchObject({state: 'up', received: 1, dropped: 1})
  })

  it('fails over to the next URL and logs in with the bridge credentials', async (ctx) => {
    if (!bridge__requireMosquitto(ctx) || !requireProgram(ctx, '/usr/bin/mosquitto_passwd', 'mosquitto')) return
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bridge-pw-'))
    const pw = join(dir, 'passwd')
    execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', pw, 'site1', 's3cret'])
    // mosquitto, started as root, reads it as its own user.
    execFileSync('chmod', ['755', dir])
    execFileSync('chmod', ['644', pw])
    const remote = await bridge__mosquitto(['allow_anonymous false', `password_file ${pw}`].map((l) => l))
    const closed = await brokers__freePort()
    const entry = {name: 'fo', urls: [`mqtt://127.0.0.1:${closed}`, `mqtt://127.0.0.1:${remote.port}`], reconnectBase: 50, reconnectCap: 200, topics: ['a/# out 1']}
    // Wrong password first: refused and retried, never up.
    const wrong = await bridge__mqttkit([{...entry, username: 'site1', password: 'nope'}])
    await sleep(1500)
    expect(wrong.bridges.status()[0]).toMatchObject({state: 'down'})
    expect(wrong.bridges.status()[0]!.error).toMatch(/Not authorized|Bad username or password|refused/i)
    await wrong.stop()
    const local = await bridge__mqttkit([{...entry, username: 'site1', password: 's3cret'}])
    await bridge__up(local)
    expect(local.bridges.status()[0]).toMatchObject({state: 'up'})
    // The URL's credentials, over 3.1.1 (bridge mode) this time.
    const fromUrl = await bridge__mqttkit([{name: 'url', url: `mqtt://site1:s3cret@127.0.0.1:${remote.port}`, protocolVersion: '3.1.1', topics: ['a/# out 1']}])
    await bridge__up(fromUrl)
    // The password stays out of reports and logs.
    expect(fromUrl.bridges.status()[0]!.url).toBe(`mqtt://site1:***@127.0.0.1:${remote.port}`)
  })
})
