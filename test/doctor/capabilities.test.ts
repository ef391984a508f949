// Doctor's MQTT 5 capability check against mqttkit brokers started with capabilities switched off: it shows what
// CONNACK advertises, what a wildcard/shared SUBSCRIBE really gets, and the two probed ones (assigned client ids,
// reason strings).
import {afterEach, describe, expect, it} from 'vitest'

import {Broker, type BrokerOptions} from '../../src/index.js'
import {checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {DoctorOptions} from '../../src/doctor/types.js'
import {doctor__target} from './helpers.js'

const brokers: Broker[] = []
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close()
})

async function mqtt5Check(extra: BrokerOptions) {
  const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent', sysInterval: 0, ...extra})
  brokers.push(broker)
  const [l] = await broker.listen()
  const port = l!.address.port
  const target = doctor__target(port)
  const options: DoctorOptions = {platform: 'linux', ports: [], extraPorts: [], expectedConnections: 1, timeoutMs: 2000, local: false, testTopic: 'mqttkit/doctor', target}
  const report = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.connect', 'target.mqtt5']), options)
  return report.checks.find((c) => c.id === 'target.mqtt5')!
}

describe('doctor capability check', () => {
  it('reports every capability of a default mqttkit broker as available', async () => {
    const check = await mqtt5Check({})
    expect(check.status).toBe('ok')
    expect(check.data).toMatchObject({
      wildcardSubscriptionAvailable: true,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      wildcardSubscribe: 'granted',
      sharedSubscribe: 'granted',
      assignClientIds: 'yes',
      reasonStrings: 'yes',
    })
  })

  it('shows switched-off capabilities: advertised off, refused as advertised, empty client id refused 0x85, no reason strings', async () => {
    const check = await mqtt5Check({
      wildcardSubscriptionAvailable: false,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      assignClientIds: false,
      sendReasonStrings: false,
    })
    expect(check.status).toBe('ok')
    expect(check.data).toMatchObject({
      wildcardSubscriptionAvailable: false,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      assignClientIds: '0x85',
      reasonStrings: 'no',
    })
    expect(check.data?.wildcardSubscribe).not.toBe('granted')
    expect(check.data?.sharedSubscribe).not.toBe('granted')
    expect(check.detail).toMatch(/assigned client ids no \(0x85\)/)
    expect(check.detail).toMatch(/reason strings no/)
    expect(check.detail).toMatch(/subscription identifiers no/)
  })
})
