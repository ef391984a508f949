import {randomBytes} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, delay, nextMessages, startBroker} from './helpers.js'

afterEach(cleanup)

/** A subscriber that proves the broker still serves others after a bad connection was closed. */
async function stillServing(port: number): Promise<void> {
  const c = await connect(port, {clientId: `probe-${Math.random()}`})
  await c.subscribeAsync('probe')
  const got = nextMessages(c, 1)
  await c.publishAsync('probe', 'ok', {qos: 1})
  expect((await got)[0]!.payload.toString()).toBe('ok')
}

describe('bad input and limits', () => {
  it('[MQTT-4.8.0-1] random bytes close that connection only, with a log line', async () => {
    const lines: string[] = []
    const logger = {error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), info: () => {}, debug: () => {}}
    const {port} = await startBroker({logger})
    const bystander = await connect(port, {clientId: 'bystander'})
    for (let i = 0; i < 5; i++) {
      const raw = await RawClient.connect(port)
      raw.write(Buffer.concat([Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]), randomBytes(64)]))
      await raw.waitClosed()
    }
    expect(lines.some((l) => /malformed/.test(l))).toBe(true)
    expect(bystander.connected).toBe(true)
    await stillServing(port)
  })

  it('[MQTT-2.2.2-2] reserved header flags close the connection', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.write([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00].map((b, i) => (i === 0 ? 0x80 : b))) // SUBSCRIBE with flags 0
    await raw.waitClosed()
    await stillServing(port)
  })

  it('a truncated packet followed by the socket closing does not disturb the broker', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.write([0x30, 0x20, 0x00, 0x03, 0x61]) // PUBLISH claiming 32 bytes, 5 sent
    raw.socket.end()
    await raw.waitClosed()
    await stillServing(port)
  })

  it('a remaining length over max packet size closes the connection before the body arrives', async () => {
    const {port} = await startBroker({maxPacketSize: 1024})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.write([0x30, 0xff, 0xff, 0x7f]) // declares 2 MiB
    await raw.waitClosed()
    await stillServing(port)
  })

  it('a complete packet over max packet size closes the connection', async () => {
    const {port} = await startBroker({maxPacketSize: 1024})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.alloc(2000), qos: 0, dup: false, retain: false})
    await raw.waitClosed()
  })

  it('a malformed remaining length (5 bytes) closes the connection', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.write([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])
    await raw.waitClosed()
  })

  it('closes on a topic name longer than max topic length', async () => {
    const {port} = await startBroker({maxTopicLength: 16})
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'publish', topic: 'x'.repeat(17), payload: Buffer.from('y'), qos: 0, dup: false, retain: false})
    await raw.waitClosed()
  })

  it('[MQTT-4.9.0-2] never has more than max inflight unacknowledged messages to a client; the rest waits', async () => {
    const {port, broker} = await startBroker({maxInflight: 5})
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'slow'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'w', qos: 1}]})
    await raw.next('suback')
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 12; i++) await pub.publishAsync('w', String(i), {qos: 1})
    await delay(100)
    expect(raw.packets.filter((p) => p.cmd === 'publish')).toHaveLength(5)
    expect(broker.stats.queued).toBe(7)
    const first = await raw.next('publish')
    raw.send({cmd: 'puback', messageId: first.messageId})
    await delay(100)
    expect(raw.packets.filter((p) => p.cmd === 'publish')).toHaveLength(5)
  })

  it('slow reader: QoS 0 messages to a client that never reads are dropped past the output buffer, others unaffected', async () => {
    const {port, broker} = await startBroker({maxOutputBuffer: 64 * 1024})
    const slow = await RawClient.connect(port)
    await slow.handshake({clientId: 'slow'})
    slow.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'flood', qos: 0}]})
    await slow.next('suback')
    slow.socket.pause()
    const fast = await connect(port, {clientId: 'fast'})
    await fast.subscribeAsync('flood')
    const pub = await connect(port, {clientId: 'pub'})
    const payload = Buffer.alloc(16 * 1024)
    const n = 400
    const got = nextMessages(fast, n, 20_000)
    for (let i = 0; i < n; i++) pub.publish('flood', payload)
    expect(await got).toHaveLength(n)
    expect(broker.stats.messagesDropped).toBeGreaterThan(0)
  })
})
