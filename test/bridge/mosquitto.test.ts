/**
 * mqttkit bridged to a real mosquitto (MQTT 5 remote): both directions with prefixes mapped, exactly once each,
 * and no echo (No Local on both ends [MQTT-3.8.3-3]).
 */
import {afterEach, describe, expect, it} from 'vitest'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__publish, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up, sleep} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

describe('bridge to mosquitto', () => {
  it('sensors/# both 1 local/ remote/: 1,000 QoS 1 messages each way arrive exactly once, mapped, and counts stay flat 5 s after', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const local = await bridge__mqttkit([{name: 'cloud', url: `mqtt://127.0.0.1:${remote.port}`, topics: ['sensors/# both 1 local/ remote/']}])
    await bridge__up(local)
    // Subscribers on both sides see everything under both prefixes: an echo or a loop would show up as extra messages.
    const here = await bridge__subscriber(local.port, '#')
    const there = await bridge__subscriber(remote.port, '#')
    const pubHere = await mqttjs__connect(local.port, {protocolVersion: 5})
    const pubThere = await mqttjs__connect(remote.port, {protocolVersion: 5})
    await Promise.all([bridge__publish(pubHere, 'local/sensors/a', 1000, 'out'), bridge__publish(pubThere, 'remote/sensors/b', 1000, 'in')])
    // Each side: its own 1,000 plus the 1,000 bridged from the other.
    await bridge__until(
      () => here.got.length >= 2000 && there.got.length >= 2000,
      () => `here ${here.got.length}, there ${there.got.length}; ${JSON.stringify(local.bridges.status())}`,
    )
    await sleep(5000)
    expect(here.got.length).toBe(2000)
    expect(there.got.length).toBe(2000)
    const inHere = here.got.filter((m) => m.topic === 'local/sensors/b')
    const outThere = there.got.filter((m) => m.topic === 'remote/sensors/a')
    expect(inHere.map((m) => m.payload)).toEqual(Array.from({length: 1000}, (_, i) => `in${i}`))
    expect(outThere.map((m) => m.payload)).toEqual(Array.from({length: 1000}, (_, i) => `out${i}`))
    expect(here.got.filter((m) => m.topic === 'local/sensors/a')).toHaveLength(1000)
    expect(there.got.filter((m) => m.topic === 'remote/sensors/b')).toHaveLength(1000)
    const [status] = local.bridges.status()
    expect(status).toMatchObject({name: 'cloud', state: 'up', sent: 1000, received: 1000, queued: 0, dropped: 0})
  }, 60_000)
})
