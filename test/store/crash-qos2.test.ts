/**
 * QoS 2 across kill -9 of the CLI broker on an SQLite store: an exchange the broker had acknowledged with PUBREC
 * (so it had routed the message) finishes after the restart without routing it a second time.
 */
import type mqttPacket from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {
  RawClient,
  crash__registerCleanup,
  crash__collect as collect,
  crash__dbPath as dbPath,
  crash__start as start,
  crash__subscribeOffline as subscribeOffline,
  crash__until as until,
} from './crash-helpers.js'

crash__registerCleanup()

describe('QoS 2 on the SQLite store across kill -9 of the broker', () => {
  it('[MQTT-4.3.3-2] a QoS 2 PUBLISH received (PUBREC sent) before the crash is resent after it and delivered once', async () => {
    const db = dbPath('qos2.db')
    let broker = await start(db)
    const sub = {clientId: 'q2-sub', protocolVersion: 5 as const, clean: false, properties: {sessionExpiryInterval: 600}}
    await subscribeOffline(broker, sub, 'q2/#', 2)
    const publish = {cmd: 'publish', topic: 'q2/a', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false} as const
    const pubConnect = {protocolId: 'MQTT', protocolVersion: 4, clientId: 'q2-pub', clean: false, keepalive: 60} as const
    let pub = await RawClient.connect(broker, pubConnect)
    pub.send(publish)
    await pub.expect<mqttPacket.IPubrecPacket>('pubrec', (p) => p.messageId === 7)
    await broker.kill9()

    broker = await start(db, broker.port)
    pub = await RawClient.connect(broker, pubConnect)
    expect((await pub.expect<mqttPacket.IConnackPacket>('connack')).sessionPresent).toBe(true)
    // The publisher never saw the exchange finish: it sends the PUBLISH again, then PUBREL.
    pub.send({...publish, dup: true})
    await pub.expect<mqttPacket.IPubrecPacket>('pubrec', (p) => p.messageId === 7)
    pub.send({cmd: 'pubrel', messageId: 7})
    await pub.expect<mqttPacket.IPubcompPacket>('pubcomp', (p) => p.messageId === 7)

    const run = collect(broker, sub)
    expect((await run.connack).sessionPresent).toBe(true)
    await until(() => run.received.length >= 1, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(run.received.map((m) => m.payload)).toEqual(['once'])
  }, 60_000)
})
