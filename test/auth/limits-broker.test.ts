/**
 * The rate limits on a real Broker over TCP: connections per address (closed before CONNECT is read) and
 * PUBLISH message/byte budgets per connection (DISCONNECT 0x96/0x97 at MQTT 5, a plain close at 3.1.1).
 */
import net from 'node:net'
import type {IDisconnectPacket, MqttClient} from 'mqtt'
import mqttPacket from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {Broker, type BrokerOptions} from '../../src/broker/broker.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'

const brokers: Broker[] = []

async function start(options: BrokerOptions): Promise<number> {
  const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent', ...options})
  brokers.push(broker)
  await broker.listen()
  return broker.listeners[0]!.address.port
}

/** Opens a raw connection, sends CONNECT, and resolves with whether a CONNACK came back before the close. */
function rawConnect(port: number, id: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let connack = false
    socket.on('data', (chunk) => {
      if (chunk[0] === 0x20) connack = true
      socket.end()
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(connack))
    socket.write(mqttPacket.generate({cmd: 'connect', clientId: id, protocolVersion: 4}))
  })
}

/** Resolves with the DISCONNECT the broker sent (if any) once the connection closed. */
function closed(client: MqttClient): Promise<IDisconnectPacket | undefined> {
  return new Promise((resolve) => {
    let disconnect: IDisconnectPacket | undefined
    client.on('disconnect', (packet) => {
      disconnect = packet
    })
    client.once('close', () => resolve(disconnect))
  })
}

afterEach(async () => {
  await mqttjs__cleanup()
  await Promise.all(brokers.splice(0).map((b) => b.close()))
})

describe('--max-connection-rate', () => {
  it('closes connections over the per-address rate before CONNECT, then lets the address in again', async () => {
    const port = await start({maxConnectionRate: 5})
    const started = performance.now()
    const results = await Promise.all(Array.from({length: 15}, (_, i) => rawConnect(port, `burst-${i}`)))
    // A burst of one second's worth (5) gets in, plus what the bucket refilled meanwhile (5 per second, which
    // matters only on a slow machine); the rest are closed without a CONNACK.
    const refilled = Math.floor(((performance.now() - started) / 1000) * 5)
    const accepted = results.filter(Boolean).length
    expect(accepted).toBeGreaterThanOrEqual(5)
    expect(accepted).toBeLessThanOrEqual(5 + refilled)
    expect(accepted).toBeLessThan(15)
    await new Promise((r) => setTimeout(r, 1100))
    expect(await rawConnect(port, 'later')).toBe(true)
  })
})

describe('--max-publish-rate and --max-publish-bytes-rate', () => {
  it('MQTT 5: over the message rate, the broker sends DISCONNECT 0x96 and closes', async () => {
    const port = await start({maxPublishRate: 10})
    const client = await mqttjs__connect(port, {protocolVersion: 5})
    const done = closed(client)
    for (let i = 0; i < 30; i++) client.publish('flood', `m${i}`, {qos: 0})
    expect((await done)?.reasonCode).toBe(0x96)
  })

  it('MQTT 5: over the byte rate, the broker sends DISCONNECT 0x97 and closes', async () => {
    const port = await start({maxPublishBytesRate: 1000})
    const client = await mqttjs__connect(port, {protocolVersion: 5})
    const done = closed(client)
    for (let i = 0; i < 3; i++) client.publish('big', Buffer.alloc(600), {qos: 0})
    expect((await done)?.reasonCode).toBe(0x97)
  })

  it('MQTT 3.1.1: over the rate, the connection is closed (3.1.1 has no DISCONNECT from the server)', async () => {
    const port = await start({maxPublishRate: 10})
    const client = await mqttjs__connect(port, {protocolVersion: 4})
    const done = closed(client)
    for (let i = 0; i < 30; i++) client.publish('flood', `m${i}`, {qos: 0})
    expect(await done).toBeUndefined()
  })

  it('a client within its budget keeps publishing, and every message arrives', async () => {
    const port = await start({maxPublishRate: 20, maxPublishBytesRate: 10_000})
    const subscriber = await mqttjs__connect(port, {protocolVersion: 5})
    const got: string[] = []
    subscriber.on('message', (_t, payload) => got.push(payload.toString()))
    await subscriber.subscribeAsync('steady', {qos: 1})
    const publisher = await mqttjs__connect(port, {protocolVersion: 5})
    // 30 messages at 10 per second: half the message budget, well within the byte budget.
    for (let i = 0; i < 30; i++) {
      await publisher.publishAsync('steady', `m${i}`, {qos: 1})
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(publisher.connected).toBe(true)
    expect(got.length).toBe(30)
  })
})
