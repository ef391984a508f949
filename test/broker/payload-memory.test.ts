/**
 * A message the broker keeps (retained, queued for an offline session, in flight until acknowledged) holds a
 * payload buffer of its own, not a view into the socket read buffer it arrived in: under load that buffer is up to
 * 64 KiB shared with the packets around it, and one small kept message would pin all of it (2,000 retained 64-byte
 * messages amid QoS 0 traffic held 73 MiB before). Real sockets: a raw publisher writes hundreds of packets in one
 * write, as a busy client does.
 */
import mqttPacket from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {Broker} from '../../src/broker/broker.js'
import type {StoredMessage} from '../../src/broker/store/store.js'
import {RawClient, cleanup, connect, connectRecording, delay, nextMessages, startBroker, waitForCount} from './helpers.js'

afterEach(cleanup)

const TRAFFIC = 300
const filler = Buffer.alloc(64, 0x2e)

/**
 * A raw client sends `kept` between 2 x TRAFFIC QoS 0 messages on `noise`, in one write, and this resolves once the
 * broker routed them all, with the size of the memory behind the payload of the first message routed on `topic`.
 * Checks the premise too: the traffic around it arrived in read buffers far larger than one message.
 */
async function sendAmidTraffic(port: number, broker: Broker, kept: mqttPacket.IPublishPacket): Promise<number> {
  const backing = new Map<string, number[]>()
  broker.on('publish', (message: StoredMessage) => {
    const sizes = backing.get(message.topic) ?? []
    sizes.push(message.payload.buffer.byteLength)
    backing.set(message.topic, sizes)
  })
  const publisher = await RawClient.connect(port)
  await publisher.handshake({clientId: 'busy'})
  const noise = mqttPacket.generate({cmd: 'publish', topic: 'noise', payload: filler, qos: 0, retain: false, dup: false})
  publisher.socket.write(Buffer.concat([...Array<Buffer>(TRAFFIC).fill(noise), mqttPacket.generate(kept), ...Array<Buffer>(TRAFFIC).fill(noise)]))
  for (let i = 0; i < 250 && (backing.get('noise')?.length ?? 0) < 2 * TRAFFIC; i++) await delay(20)
  expect(backing.get('noise')).toHaveLength(2 * TRAFFIC)
  expect(Math.max(...backing.get('noise')!)).toBeGreaterThan(Buffer.poolSize)
  return backing.get(kept.topic)![0]!
}

describe('payloads the broker keeps', () => {
  it('[MQTT-3.3.1-5] a retained message received amid other traffic keeps only its own bytes, and is sent intact', async () => {
    const {port, broker} = await startBroker()
    const payload = Buffer.from('status: online, firmware 2.4.1')
    const held = await sendAmidTraffic(port, broker, {cmd: 'publish', topic: 'status/busy', payload, qos: 0, retain: true, dup: false})
    expect(held).toBeLessThanOrEqual(Buffer.poolSize)

    const late = await connect(port, {clientId: 'late'})
    const got = nextMessages(late, 1)
    await late.subscribeAsync('status/#', {qos: 0})
    const [message] = await got
    expect(message!.payload).toEqual(payload)
    expect(message!.packet.retain).toBe(true)
  })

  it('[MQTT-3.1.2-5] a message queued for an offline session keeps only its own bytes, and is delivered intact', async () => {
    const {port, broker} = await startBroker()
    const away = await connect(port, {clientId: 'away', clean: false})
    await away.subscribeAsync('orders/#', {qos: 1})
    await away.endAsync()
    const payload = Buffer.from('{"order": 1042, "qty": 3}')
    const held = await sendAmidTraffic(port, broker, {cmd: 'publish', topic: 'orders/1042', payload, qos: 1, messageId: 7, retain: false, dup: false})
    expect(broker.stats.queued).toBe(1)
    expect(held).toBeLessThanOrEqual(Buffer.poolSize)

    const back = await connectRecording(port, {clientId: 'away', clean: false})
    const [message] = await waitForCount(back.received, 1)
    expect(message!.topic).toBe('orders/1042')
    expect(message!.payload).toEqual(payload)
  })

  it('[MQTT-4.3.2-1] a QoS 1 message in flight until its PUBACK keeps only its own bytes, and is resent intact', async () => {
    const {port, broker} = await startBroker()
    const slow = await RawClient.connect(port)
    await slow.handshake({clientId: 'slow', clean: false})
    slow.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'jobs/#', qos: 1}]})
    await slow.next('suback')
    const payload = Buffer.from('job 77: recalibrate')
    const held = await sendAmidTraffic(port, broker, {cmd: 'publish', topic: 'jobs/77', payload, qos: 1, messageId: 9, retain: false, dup: false})
    const sent = await slow.next('publish')
    expect(broker.stats.inflight).toBe(1)
    expect(held).toBeLessThanOrEqual(Buffer.poolSize)
    expect(Buffer.from(sent.payload)).toEqual(payload)

    // Never acknowledged: the session resends it after the reconnection.
    slow.socket.destroy()
    const back = await connectRecording(port, {clientId: 'slow', clean: false})
    const [message] = await waitForCount(back.received, 1)
    expect(message!.payload).toEqual(payload)
    expect(message!.packet.dup).toBe(true)
  })
})
