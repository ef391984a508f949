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
    // Seeded pseudo-random bytes (the same every run) after a valid CONNECT.
    let seed = 12345
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff
    for (let i = 0; i < 20; i++) {
      const raw = await RawClient.connect(port)
      const noise = Buffer.from(Array.from({length: 64}, next))
      raw.write(Buffer.concat([Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]), noise]))
      // Noise that happens to announce a longer packet leaves the parser waiting: ending the socket settles it.
      await delay(20)
      raw.socket.end()
      await raw.waitClosed()
    }
    expect(lines.filter((l) => /malformed/.test(l)).length).toBeGreaterThan(5)
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

  it('[MQTT-3.8.3-3] [MQTT-3.10.3-2] SUBSCRIBE / UNSUBSCRIBE without a topic filter close the connection', async () => {
    const {port} = await startBroker()
    for (const bytes of [[0x82, 0x02, 0x00, 0x01], [0xa2, 0x02, 0x00, 0x01]]) {
      const raw = await RawClient.connect(port)
      await raw.handshake()
      raw.write(bytes)
      await raw.waitClosed()
      expect(raw.packets.filter((p) => p.cmd === 'suback' || p.cmd === 'unsuback')).toEqual([])
    }
    await stillServing(port)
  })

  it('[MQTT-2.2.1-3] a QoS 1 PUBLISH with packet identifier 0 closes the connection', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.write([0x32, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00])
    await raw.waitClosed()
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

describe('slow readers and durable acks', () => {
  it('a subscriber that never reads is disconnected (MQTT 5: 0x97) once its unsent bytes pass the hard limit', async () => {
    const {port, broker} = await startBroker({maxOutputBuffer: 1024, maxPacketSize: 64 * 1024})
    const slow = await RawClient.connect(port, 5)
    await slow.handshake({clientId: 'slow'})
    slow.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'big', qos: 1}]})
    await slow.next('suback')
    slow.socket.pause()
    const pub = await connect(port, {clientId: 'pub'})
    // More than the kernel's socket buffers can absorb, so bytes pile up in the broker.
    for (let i = 0; i < 100 && broker.clientIds.includes('slow'); i++) await pub.publishAsync('big', Buffer.alloc(60 * 1024), {qos: 1})
    await delay(100)
    expect(broker.clientIds).not.toContain('slow')
    slow.socket.resume()
    expect((await slow.next('disconnect', 5000)).reasonCode).toBe(0x97)
    await stillServing(port)
  })

  it('[MQTT-4.3.2-2] PUBACK waits until the store has flushed the message', async () => {
    const {MemoryStore} = await import('../../src/broker/store/memory.js')
    let release: (() => void) | null = null
    class SlowStore extends MemoryStore {
      gate = false
      override flush(): Promise<void> {
        if (!this.gate) return super.flush()
        return new Promise((resolve) => (release = resolve))
      }
    }
    const store = new SlowStore()
    const {port} = await startBroker({store})
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'p'})
    store.gate = true
    raw.send({cmd: 'publish', topic: 'd', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: true})
    raw.send({cmd: 'publish', topic: 'd', payload: Buffer.from('y'), qos: 1, messageId: 2, dup: false, retain: true})
    await delay(150)
    expect(raw.packets.filter((p) => p.cmd === 'puback')).toEqual([])
    expect(release).not.toBeNull()
    store.gate = false
    release!()
    expect((await raw.next('puback')).messageId).toBe(1)
    expect((await raw.next('puback')).messageId).toBe(2)
  })

  it('a store that fails to flush gets no ack: the publisher is disconnected, the broker keeps running', async () => {
    const {MemoryStore} = await import('../../src/broker/store/memory.js')
    class FailingStore extends MemoryStore {
      failing = false
      override flush(): Promise<void> {
        return this.failing ? Promise.reject(new Error('disk full')) : super.flush()
      }
    }
    const store = new FailingStore()
    const {port} = await startBroker({store})
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'p'})
    store.failing = true
    raw.send({cmd: 'publish', topic: 'd', payload: Buffer.from('x'), qos: 1, messageId: 1, dup: false, retain: false})
    await raw.waitClosed()
    expect(raw.packets.filter((p) => p.cmd === 'puback')).toEqual([])
    store.failing = false
    await stillServing(port)
  })
})
