/**
 * QoS flows checked byte for byte over raw sockets, where client libraries would hide the broker's behaviour:
 * packet identifiers in acknowledgements, a duplicate QoS 2 PUBLISH never delivered twice, unacknowledged
 * messages resent with DUP on reconnect. Statement ids are MQTT 3.1.1's. Runs against E2E_BROKERS.
 */
import type {Packet} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {RawClient} from '../helpers/raw.js'

afterEach(e2e__cleanup)

type Publish = Extract<Packet, {cmd: 'publish'}>

describe.each(brokers__underTest())('QoS flows over raw sockets against %s', (brokerKind) => {
  let broker: RunningBroker
  const start = async (): Promise<void> => {
    broker = await brokers__start(brokerKind)
  }

  /** A broker and a raw 3.1.1 client with a persistent session subscribed to `topic`; `connect` resumes that session. */
  const persistentSubscriber = async (name: string, topic: string, qos: 1 | 2): Promise<{connect: Packet; first: RawClient}> => {
    await start()
    const clientId = `raw-${name}-${process.pid}`
    const connect = {cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: false, keepalive: 60} as Packet
    const first = await RawClient.connect(broker.port)
    first.send(connect)
    await first.next('connack')
    first.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos}]} as Packet)
    await first.next('suback')
    return {connect, first}
  }

  it('[MQTT-2.3.1-6] [MQTT-4.3.2-2] PUBACK carries the packet identifier of the QoS 1 PUBLISH', async () => {
    await start()
    const raw = await RawClient.connected(broker.port, 'puback-id')
    raw.send({cmd: 'publish', topic: 'raw/q1', payload: Buffer.from('x'), qos: 1, messageId: 4711, retain: false, dup: false} as Packet)
    const ack = (await raw.next('puback')) as {messageId: number}
    expect(ack.messageId).toBe(4711)
  })

  it('[MQTT-4.3.3-2] a QoS 2 PUBLISH sent again before PUBREL is acknowledged again but delivered once', async () => {
    await start()
    const sub = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('raw/q2', {qos: 2})
    const raw = await RawClient.connected(broker.port, 'q2-dup')
    const publish = {cmd: 'publish', topic: 'raw/q2', payload: Buffer.from('exactly-once'), qos: 2, messageId: 99, retain: false, dup: false}
    raw.send(publish as Packet)
    expect(((await raw.next('pubrec')) as {messageId: number}).messageId).toBe(99)
    raw.send({...publish, dup: true} as Packet)
    expect(((await raw.next('pubrec')) as {messageId: number}).messageId).toBe(99)
    raw.send({cmd: 'pubrel', messageId: 99} as Packet)
    expect(((await raw.next('pubcomp')) as {messageId: number}).messageId).toBe(99)
    // After PUBCOMP the same identifier starts a new message (MQTT 5 states it as [MQTT-4.3.3-12]).
    raw.send({...publish, payload: Buffer.from('second-message')} as Packet)
    await raw.next('pubrec')
    raw.send({cmd: 'pubrel', messageId: 99} as Packet)
    await raw.next('pubcomp')
    await rec.until(2)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['exactly-once', 'second-message'])
  })

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] an unacknowledged QoS 1 message is resent with DUP and the same identifier on reconnect', async () => {
    const {connect, first} = await persistentSubscriber('resend', 'raw/resend', 1)
    const pub = await mqttjs__connect(broker.port)
    await pub.publishAsync('raw/resend', 'ack-me', {qos: 1})
    const original = (await first.next('publish')) as Publish
    expect(original.dup).toBe(false)
    // Gone without PUBACK.
    first.destroy()
    await sleep(200)
    const second = await RawClient.connect(broker.port)
    second.send(connect)
    const connack = (await second.next('connack')) as {sessionPresent: boolean}
    expect(connack.sessionPresent).toBe(true)
    const again = (await second.next('publish')) as Publish
    expect(again).toMatchObject({topic: 'raw/resend', qos: 1, dup: true, messageId: original.messageId})
    expect(again.payload.toString()).toBe('ack-me')
    second.send({cmd: 'puback', messageId: again.messageId!} as Packet)
  })

  it('[MQTT-4.4.0-1] a QoS 2 delivery interrupted after PUBREC resumes with PUBREL on reconnect', async () => {
    const {connect, first} = await persistentSubscriber('pubrel', 'raw/pubrel', 2)
    const pub = await mqttjs__connect(broker.port)
    await pub.publishAsync('raw/pubrel', 'two-phase', {qos: 2})
    const delivered = (await first.next('publish')) as Publish
    first.send({cmd: 'pubrec', messageId: delivered.messageId!} as Packet)
    await first.next('pubrel')
    first.destroy()
    await sleep(200)
    const second = await RawClient.connect(broker.port)
    second.send(connect)
    await second.next('connack')
    const pubrel = (await second.next('pubrel')) as {messageId: number}
    expect(pubrel.messageId).toBe(delivered.messageId)
    second.send({cmd: 'pubcomp', messageId: pubrel.messageId} as Packet)
    await sleep(200)
    // The message itself is not sent again once PUBREL was due.
    expect(second.packets.filter((p) => p.cmd === 'publish')).toEqual([])
  })
})
