/** The library API: handle() over an in-memory duplex, events, stats, server-side publish. */
import {Duplex, PassThrough} from 'node:stream'
import mqttPacket, {type Packet} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {Broker} from '../../src/index.js'
import {cleanup, connect, nextMessages, startBroker} from './helpers.js'

afterEach(cleanup)

/** Two ends of an in-memory connection: the broker gets `server`, the test speaks MQTT on `client`. */
function pair(): {server: Duplex; send(p: Packet): void; packets: Packet[]; waitFor(cmd: string): Promise<Packet>} {
  const toServer = new PassThrough()
  const toClient = new PassThrough()
  const server = Duplex.from({readable: toServer, writable: toClient})
  const parser = mqttPacket.parser({protocolVersion: 5})
  const packets: Packet[] = []
  parser.on('packet', (p) => packets.push(p))
  toClient.on('data', (d: Buffer) => parser.parse(d))
  return {
    server,
    send: (p) => toServer.write(mqttPacket.generate(p, {protocolVersion: 5})),
    packets,
    async waitFor(cmd) {
      for (let i = 0; i < 200; i++) {
        const at = packets.findIndex((p) => p.cmd === cmd)
        if (at >= 0) return packets.splice(at, 1)[0]!
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error(`no ${cmd}`)
    },
  }
}

describe('embedding the broker', () => {
  it('serves a client over an in-memory duplex passed to handle()', async () => {
    const broker = new Broker({logLevel: 'silent', listeners: [], sysInterval: 0})
    await broker.restore()
    const a = pair()
    broker.handle(a.server, {transport: 'tcp', remoteAddress: 'memory'})
    a.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'mem', clean: true, keepalive: 0})
    expect(((await a.waitFor('connack')) as {reasonCode: number}).reasonCode).toBe(0)
    a.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'm/#', qos: 1}]})
    await a.waitFor('suback')
    await broker.publish({topic: 'm/1', payload: Buffer.from('from the broker'), qos: 1, retain: false})
    const p = (await a.waitFor('publish')) as {payload: Buffer; qos: number}
    expect([p.payload.toString(), p.qos]).toEqual(['from the broker', 1])
    await broker.close()
  })

  it('emits clientConnected / clientDisconnected / subscribe / publish and counts them in stats', async () => {
    const {broker, port} = await startBroker()
    const events: string[] = []
    broker.on('clientConnected', (c) => events.push(`connected ${c.id}`))
    broker.on('clientDisconnected', (c, reason) => events.push(`disconnected ${c.id} ${reason}`))
    broker.on('subscribe', (subs) => events.push(`subscribe ${subs.map((s: {filter: string}) => s.filter).join(',')}`))
    broker.on('publish', (m, c) => events.push(`publish ${m.topic} ${c?.id ?? 'broker'}`))
    const c = await connect(port, {clientId: 'e'})
    await c.subscribeAsync('ev')
    const got = nextMessages(c, 1)
    await c.publishAsync('ev', 'x', {qos: 1})
    await got
    expect(broker.stats.clientsConnected).toBe(1)
    expect(broker.stats.subscriptions).toBe(1)
    expect(broker.stats.publishReceived).toBe(1)
    expect(broker.stats.publishSent).toBe(1)
    await c.endAsync()
    await new Promise((r) => setTimeout(r, 50))
    expect(events).toEqual(['connected e', 'subscribe ev', 'publish ev e', 'disconnected e disconnected'])
    expect(broker.stats.clientsConnected).toBe(0)
    expect(broker.stats.clientsTotal).toBe(1)
  })

  it('publish() refuses an invalid topic', async () => {
    const {broker} = await startBroker()
    await expect(broker.publish({topic: 'a/#', payload: Buffer.alloc(0), qos: 0, retain: false})).rejects.toThrow(/cannot publish/)
  })

  it('refuses bad options with the option name', () => {
    expect(() => new Broker({maxInflight: 0})).toThrow(/maxInflight/)
  })
})

describe('failures that must not crash the broker', () => {
  it('an event listener that throws is logged; the broker keeps serving', async () => {
    const {broker, port} = await startBroker()
    for (const event of ['clientConnected', 'clientDisconnected', 'publish', 'subscribe'] as const) {
      broker.on(event, () => {
        throw new Error(`listener of ${event}`)
      })
    }
    const a = await connect(port, {clientId: 'a'})
    await a.subscribeAsync('x')
    const got = nextMessages(a, 1)
    await a.publishAsync('x', 'still works', {qos: 1})
    expect((await got)[0]!.payload.toString()).toBe('still works')
    await a.endAsync()
    const b = await connect(port, {clientId: 'b'})
    expect(b.connected).toBe(true)
  })
})
