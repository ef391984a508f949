/** `mqttkit doctor` names a bridge that is down (from the retained $SYS/broker/bridges/<name>/state). */
import {afterEach, describe, expect, it} from 'vitest'
import {checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import {brokers__freePort} from '../helpers/brokers.js'
import {doctor__target} from '../doctor/helpers.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__requireMosquitto, bridge__until} from './helpers.js'

afterEach(bridge__cleanup)


async function bridgesResult(port: number) {
  const report = await doctor__run(checks__select(['target']), {platform: 'linux', ports: [], extraPorts: [], expectedConnections: 1, timeoutMs: 2000, local: false, testTopic: 'mqttkit/doctor', target: doctor__target(port)})
  return report.checks.find((c) => c.id === 'target.bridges')!
}

describe('doctor: bridges', () => {
  it('warns about a bridge whose remote cannot be reached and reports one that is up', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const closed = await brokers__freePort()
    const kit = await bridge__mqttkit([
      {name: 'cloud', url: `mqtt://127.0.0.1:${remote.port}`, topics: ['a/# out 1']},
      {name: 'gone', url: `mqtt://127.0.0.1:${closed}`, topics: ['b/# out 1']},
    ])
    await bridge__until(() => kit.bridges.status().find((b) => b.name === 'cloud')?.state === 'up', () => JSON.stringify(kit.bridges.status()))
    const r = await bridgesResult(kit.port)
    expect(r).toMatchObject({status: 'warn', data: {bridges: {cloud: 'up', gone: 'down'}}})
    expect(r.detail).toContain('gone')
    expect(r.fix?.[0]).toContain('bridge gone:')
  })

  it("reports a mosquitto bridge into mqttkit by its notification, and as down once mosquitto is gone (its will)", async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const kit = await bridge__mqttkit()
    const mosq = await bridge__mosquitto(['connection tokit', `address 127.0.0.1:${kit.port}`, 'remote_clientid site-bridge', 'topic a/# both 1'])
    await bridge__until(() => kit.broker.retained.get('$SYS/broker/connection/site-bridge/state')?.payload.toString() === '1', () => 'no notification')
    expect(await bridgesResult(kit.port)).toMatchObject({status: 'ok', data: {bridges: {'site-bridge': 'up'}}})
    await mosq.stop()
    await bridge__until(() => kit.broker.retained.get('$SYS/broker/connection/site-bridge/state')?.payload.toString() === '0', () => 'no will')
    expect(await bridgesResult(kit.port)).toMatchObject({status: 'warn', data: {bridges: {'site-bridge': 'down'}}})
  })

  it('skips a broker without bridges', async () => {
    const kit = await bridge__mqttkit()
    expect(await bridgesResult(kit.port)).toMatchObject({status: 'skip', detail: 'the broker reports no bridges'})
  })
})
