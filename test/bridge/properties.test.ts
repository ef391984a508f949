/**
 * What a message keeps across a bridge: the retain flag (Retain As Published on both ends [MQTT-3.3.1-12]), MQTT 5
 * properties [MQTT-3.3.2-17] [MQTT-3.3.2-18], and message expiry counted down while the bridge held it
 * [MQTT-3.3.2-6]; QoS is min(rule, message) [MQTT-3.8.4-8].
 */
import {afterEach, describe, expect, it} from 'vitest'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

const PROPS = {
  contentType: 'application/json',
  responseTopic: 'replies/1',
  correlationData: Buffer.from('c0ffee'),
  payloadFormatIndicator: true,
  userProperties: {site: 'one', unit: 'C'},
}

describe('bridge: retained messages and MQTT 5 properties', () => {
  it('keep retain and properties both ways; expiry counts down; QoS is the lower of rule and message', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const local = await bridge__mqttkit([
      {name: 'cloud', url: `mqtt://127.0.0.1:${remote.port}`, reconnectBase: 100, reconnectCap: 500, topics: ['sensors/# both 1 local/ remote/', 'low/# out 0']},
    ])
    await bridge__up(local)
    const pubHere = await mqttjs__connect(local.port, {protocolVersion: 5})
    const pubThere = await mqttjs__connect(remote.port, {protocolVersion: 5})
    await pubHere.publishAsync('local/sensors/out', '{"t":1}', {qos: 1, retain: true, properties: {...PROPS, messageExpiryInterval: 300}})
    await pubThere.publishAsync('remote/sensors/in', '{"t":2}', {qos: 1, retain: true, properties: PROPS})
    await pubHere.publishAsync('low/q', 'x', {qos: 1})
    await sleep(500)

    // Subscribers that arrive afterwards get the bridged messages as retained messages of their own broker.
    const there = await bridge__subscriber(remote.port, 'remote/sensors/out')
    const here = await bridge__subscriber(local.port, 'local/sensors/in')
    await bridge__until(() => there.got.length === 1 && here.got.length === 1, () => `there ${JSON.stringify(there.got)} here ${JSON.stringify(here.got)}`)
    for (const [m, topic, payload] of [
      [there.got[0]!, 'remote/sensors/out', '{"t":1}'],
      [here.got[0]!, 'local/sensors/in', '{"t":2}'],
    ] as const) {
      expect(m).toMatchObject({topic, payload, retain: true})
      expect(m.properties).toMatchObject({contentType: 'application/json', responseTopic: 'replies/1', payloadFormatIndicator: true})
      expect(Buffer.from(m.properties!.correlationData as Buffer).toString()).toBe('c0ffee')
      expect(m.properties!.userProperties).toMatchObject({site: 'one', unit: 'C'})
    }
    expect(there.got[0]!.properties!.messageExpiryInterval).toBeLessThanOrEqual(300)

    // QoS 1 message on a QoS 0 rule arrives at QoS 0.
    const lowThere = await mqttjs__connect(remote.port, {protocolVersion: 5})
    const low: number[] = []
    lowThere.on('message', (_t, _p, packet) => low.push(packet.qos))
    await lowThere.subscribeAsync('low/#', {qos: 2})
    await pubHere.publishAsync('low/q', 'y', {qos: 1})
    await bridge__until(() => low.length === 1, () => `low got ${low.length}`)
    expect(low).toEqual([0])

    // Held while the remote is away: the expiry sent on is what is left of it.
    await remote.stop()
    await bridge__until(() => local.bridges.status()[0]!.state === 'down', () => 'still up')
    await pubHere.publishAsync('local/sensors/late', 'late', {qos: 1, retain: true, properties: {messageExpiryInterval: 60}})
    await sleep(3000)
    await remote.start()
    await bridge__up(local)
    await sleep(500)
    const after = await bridge__subscriber(remote.port, 'remote/sensors/late')
    await bridge__until(() => after.got.length === 1, () => `late: ${JSON.stringify(after.got)}`)
    expect(after.got[0]!.retain).toBe(true)
    expect(after.got[0]!.properties!.messageExpiryInterval).toBeLessThanOrEqual(57)
    expect(after.got[0]!.properties!.messageExpiryInterval).toBeGreaterThan(40)
  }, 40_000)
})
