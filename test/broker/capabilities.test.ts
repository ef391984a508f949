/**
 * Capability options: what CONNACK tells MQTT 5 clients (§3.2.2.3.11-13) and the refusals that follow when a client
 * uses a switched-off feature anyway, for MQTT 5 and 3.1.1 clients over raw sockets.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, startBroker} from './helpers.js'

afterEach(cleanup)

async function raw(port: number, version: 4 | 5, connect: Record<string, unknown> = {}) {
  const client = await RawClient.connect(port, version)
  const connack = await client.handshake({clientId: `c${version}`, protocolVersion: version, ...connect})
  return {client, connack}
}

describe('capability options', () => {
  it('defaults: CONNACK says wildcard, subscription identifier and shared subscriptions are available', async () => {
    const {port} = await startBroker()
    const {connack} = await raw(port, 5)
    expect(connack.properties).toMatchObject({wildcardSubscriptionAvailable: true, subscriptionIdentifiersAvailable: true, sharedSubscriptionAvailable: true})
  })

  it('wildcardSubscriptionAvailable false: CONNACK says so; a wildcard filter gets SUBACK 0xA2 (3.1.1: 0x80), a plain one is granted', async () => {
    const {port} = await startBroker({wildcardSubscriptionAvailable: false})
    const v5 = await raw(port, 5)
    expect(v5.connack.properties?.wildcardSubscriptionAvailable).toBe(false)
    v5.client.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a/+', qos: 1}, {topic: 'a/b', qos: 1}, {topic: '#', qos: 0}, {topic: '$share/g/x/#', qos: 0}]})
    expect((await v5.client.next('suback')).granted).toEqual([0xa2, 1, 0xa2, 0xa2])
    const v4 = await raw(port, 4)
    v4.client.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a/#', qos: 1}, {topic: 'a/b', qos: 1}]})
    expect((await v4.client.next('suback')).granted).toEqual([0x80, 1])
  })

  it('subscriptionIdentifiersAvailable false: a SUBSCRIBE with an identifier gets SUBACK 0xA1 for every filter; without one it is granted', async () => {
    const {port} = await startBroker({subscriptionIdentifiersAvailable: false})
    const {client, connack} = await raw(port, 5)
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(false)
    client.send({cmd: 'subscribe', messageId: 1, properties: {subscriptionIdentifier: 7}, subscriptions: [{topic: 'a', qos: 1}, {topic: 'b', qos: 0}]})
    expect((await client.next('suback')).granted).toEqual([0xa1, 0xa1])
    client.send({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'a', qos: 1}]})
    expect((await client.next('suback')).granted).toEqual([1])
  })

  it('sharedSubscriptionAvailable false: $share/ filters get SUBACK 0x9E (3.1.1: 0x80)', async () => {
    const {port} = await startBroker({sharedSubscriptionAvailable: false})
    const v5 = await raw(port, 5)
    expect(v5.connack.properties?.sharedSubscriptionAvailable).toBe(false)
    v5.client.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/t', qos: 1}, {topic: 't/+', qos: 1}]})
    expect((await v5.client.next('suback')).granted).toEqual([0x9e, 1])
    const v4 = await raw(port, 4)
    v4.client.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/t', qos: 0}]})
    expect((await v4.client.next('suback')).granted).toEqual([0x80])
  })

  it('sendReasonStrings false: no reason string on a refused SUBACK, a refused PUBACK, a refused CONNACK nor a DISCONNECT', async () => {
    const on = await startBroker({maxSubscriptions: 1, hooks: {authorizePublish: () => false}})
    const off = await startBroker({sendReasonStrings: false, maxSubscriptions: 1, hooks: {authorizePublish: () => false}})
    const probe = async (port: number) => {
      const {client} = await raw(port, 5)
      client.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a', qos: 0}, {topic: 'b', qos: 0}]})
      const suback = await client.next('suback')
      client.send({cmd: 'publish', topic: 'x', payload: 'p', qos: 1, messageId: 2, retain: false, dup: false})
      const puback = await client.next('puback')
      // A wildcard in a topic name: DISCONNECT 0x90.
      client.write([0x30, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x23, 0x00])
      const disconnect = await client.next('disconnect')
      const refused = await RawClient.connect(port, 5)
      const connack = await refused.handshake({clientId: 'bad', protocolVersion: 5, properties: {receiveMaximum: 0}})
      return {suback, puback, disconnect, connack}
    }
    const a = await probe(on.port)
    expect(a.suback.granted).toEqual([0, 0x97])
    expect(a.suback.properties?.reasonString).toBeTruthy()
    expect(a.puback.properties?.reasonString).toBeTruthy()
    expect(a.disconnect.properties?.reasonString).toBeTruthy()
    expect(a.connack.properties?.reasonString).toBeTruthy()
    const b = await probe(off.port)
    expect(b.suback.granted).toEqual([0, 0x97])
    expect(b.puback.reasonCode).toBe(0x87)
    expect(b.disconnect.reasonCode).toBe(0x90)
    expect(b.connack.reasonCode).toBe(0x82)
    for (const packet of [b.suback, b.puback, b.disconnect, b.connack]) expect(packet.properties?.reasonString).toBeUndefined()
  })

  it('[MQTT-3.1.3-8] [MQTT-3.1.3-9] assignClientIds false: an empty client id is refused (MQTT 5 CONNACK 0x85, 3.1.1 return code 2)', async () => {
    const {port} = await startBroker({assignClientIds: false})
    const v5 = await raw(port, 5, {clientId: ''})
    expect(v5.connack.reasonCode).toBe(0x85)
    await v5.client.waitClosed()
    const v4 = await raw(port, 4, {clientId: ''})
    expect(v4.connack.returnCode).toBe(2)
    await v4.client.waitClosed()
    // A named client is served as usual.
    const named = await raw(port, 5, {clientId: 'named'})
    expect(named.connack.reasonCode).toBe(0)
    const on = await startBroker()
    const assigned = await raw(on.port, 5, {clientId: ''})
    expect(assigned.connack.properties?.assignedClientIdentifier).toMatch(/^mqttkit-/)
  })

  it('refuses a non-boolean capability option with its name', () => {
    return expect(startBroker({sendReasonStrings: 'no' as unknown as boolean})).rejects.toThrow(/sendReasonStrings must be true or false/)
  })
})
