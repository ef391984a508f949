/**
 * $SYS/broker/... topics: published as retained messages every `sysInterval` seconds, values that track the
 * broker, names that match the reference broker's where it has one (checked against a real mosquitto with
 * `sys_interval 1`), never matched by a first-level wildcard [MQTT-4.7.2-1].
 */
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__startMosquitto, brokers__startMqttkit} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {requireProgram} from '../helpers/system.js'
import {SYS_TOPICS, SYS_VERSION_TOPIC, SysPublisher, type SysSource, sys__version} from '../../src/broker/sys.js'
import type {StoredMessage} from '../../src/broker/store/store.js'

afterEach(e2e__cleanup)

/** Topics mqttkit publishes that the reference broker has no equivalent for. */
const MQTTKIT_ONLY = new Set([
  '$SYS/broker/messages/queued',
  '$SYS/broker/messages/inflight',
  '$SYS/broker/messages/expired',
  '$SYS/broker/messages/queued-past-limit/bytes',
  '$SYS/broker/publishers/paused',
])

/** Latest value per $SYS topic seen by a client subscribed to `$SYS/#`. */
async function sysWatcher(port: number): Promise<{latest: Map<string, string>; retainedFirst: Set<string>; waitFor(topic: string, pred: (v: string) => boolean, ms?: number): Promise<string>}> {
  const client = await mqttjs__connect(port, {protocolVersion: 5})
  const latest = new Map<string, string>()
  const retainedFirst = new Set<string>()
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    if (!latest.has(topic) && packet.retain) retainedFirst.add(topic)
    latest.set(topic, payload.toString())
    for (const w of waiters) w()
  })
  await client.subscribeAsync('$SYS/#', {qos: 0})
  return {
    latest,
    retainedFirst,
    waitFor(topic, pred, ms = 4000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const v = latest.get(topic)
          if (v !== undefined && pred(v)) {
            clearTimeout(timer)
            resolve(v)
            return true
          }
          return false
        }
        const timer = setTimeout(() => reject(new Error(`${topic}: last value ${latest.get(topic)}`)), ms)
        if (!check()) waiters.push(() => void check())
      })
    },
  }
}

describe('$SYS topics of the mqttkit broker', () => {
  it('publishes version, uptime and every counter as retained messages with decimal values', async () => {
    const broker = await brokers__startMqttkit({sysInterval: 1})
    await sleep(100)
    const sys = await sysWatcher(broker.port)
    await sys.waitFor('$SYS/broker/uptime', () => true)
    await sleep(100)
    expect(sys.latest.get(SYS_VERSION_TOPIC)).toBe(`mqttkit version ${sys__version()}`)
    expect(sys__version()).toMatch(/^\d+\.\d+\.\d+/)
    for (const [topic] of SYS_TOPICS) {
      expect(sys.latest.has(topic), topic).toBe(true)
      // A subscriber arriving between ticks gets the current values at once: they are retained.
      expect(sys.retainedFirst.has(topic), `${topic} retained`).toBe(true)
    }
    expect(sys.latest.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/)
    for (const [topic] of SYS_TOPICS.filter(([t]) => t !== '$SYS/broker/uptime')) expect(sys.latest.get(topic), topic).toMatch(/^\d+$/)
  })

  it('values follow the broker: clients, subscriptions, retained messages and traffic', async () => {
    const broker = await brokers__startMqttkit({sysInterval: 1})
    const sys = await sysWatcher(broker.port)
    await sys.waitFor('$SYS/broker/clients/connected', (v) => v === '1')
    const others = await Promise.all([mqttjs__connect(broker.port), mqttjs__connect(broker.port), mqttjs__connect(broker.port)])
    await others[0]!.subscribeAsync('a/#')
    await others[1]!.subscribeAsync('b/+')
    await others[2]!.publishAsync('kept/one', 'x', {qos: 1, retain: true})
    await sys.waitFor('$SYS/broker/clients/connected', (v) => v === '4', 3000)
    await sys.waitFor('$SYS/broker/clients/maximum', (v) => Number(v) >= 4, 3000)
    // The watcher's $SYS/# plus a/# and b/+.
    await sys.waitFor('$SYS/broker/subscriptions/count', (v) => v === '3', 3000)
    // kept/one plus the $SYS values, which are retained themselves.
    await sys.waitFor('$SYS/broker/retained messages/count', (v) => Number(v) > SYS_TOPICS.length, 3000)
    await sys.waitFor('$SYS/broker/publish/messages/received', (v) => Number(v) >= 1, 3000)
    const before = Number(sys.latest.get('$SYS/broker/bytes/received'))
    await others[2]!.publishAsync('traffic', Buffer.alloc(5000), {qos: 1})
    await sys.waitFor('$SYS/broker/bytes/received', (v) => Number(v) >= before + 5000, 3000)
    await Promise.all(others.map((c) => c.endAsync()))
    await sys.waitFor('$SYS/broker/clients/connected', (v) => v === '1', 3000)
    expect(Number(sys.latest.get('$SYS/broker/clients/maximum'))).toBeGreaterThanOrEqual(4)
  })

  it('[MQTT-4.7.2-1] a subscription to # or +/broker/uptime never receives $SYS topics', async () => {
    const broker = await brokers__startMqttkit({sysInterval: 1})
    const c = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(c)
    await c.subscribeAsync('#')
    await c.subscribeAsync('+/broker/uptime')
    const sys = await sysWatcher(broker.port)
    await sys.waitFor('$SYS/broker/uptime', () => true)
    await sleep(1200) // one more tick
    expect(rec.messages.filter((m) => m.topic.startsWith('$'))).toEqual([])
  })

  it('sysInterval 0 publishes nothing', async () => {
    const broker = await brokers__startMqttkit({sysInterval: 0})
    const c = await mqttjs__connect(broker.port)
    const rec = mqttjs__record(c)
    await c.subscribeAsync('$SYS/#')
    await sleep(600)
    expect(rec.messages).toEqual([])
  })

  it('names every topic it shares with the reference broker exactly as mosquitto does', async (ctx) => {
    if (!requireProgram(ctx, '/usr/sbin/mosquitto', 'mosquitto')) return
    const mosquitto = await brokers__startMosquitto(['sys_interval 1'])
    const sys = await sysWatcher(mosquitto.port)
    // Some values are only published once they change: a second client moves the client counters.
    await mqttjs__connect(mosquitto.port)
    const names = [SYS_VERSION_TOPIC, ...SYS_TOPICS.map(([t]) => t)].filter((t) => !MQTTKIT_ONLY.has(t))
    const missing = (): string[] => names.filter((t) => !sys.latest.has(t))
    const deadline = Date.now() + 4000
    while (missing().length > 0 && Date.now() < deadline) await sleep(100)
    expect(missing()).toEqual([])
  })
})

describe('SysPublisher on a fake broker', () => {
  function fake(): SysSource & {sent: StoredMessage[]; stats: SysSource['stats']} {
    const stats = {
      startedAt: Date.now() - 5000, clientsConnected: 2, clientsMaximum: 3, messagesReceived: 10, messagesSent: 11,
      publishReceived: 4, publishSent: 5, bytesReceived: 100, bytesSent: 200, messagesDropped: 0, messagesExpired: 0,
      subscriptions: 6, retained: 7, sessions: 3, queued: 1, inflight: 0, queuedPastLimit: 0, publisherPauses: 0,
      retainedRefused: 0, retainedExpired: 0,
    }
    const sent: StoredMessage[] = []
    return {stats, sent, publish: async (m) => void sent.push(m)}
  }

  it('sends the version and every value first, then only what changed, as retained QoS 0', async () => {
    const broker = fake()
    const sys = new SysPublisher(broker, 3600)
    sys.start()
    await sys.stop()
    expect(broker.sent.map((m) => m.topic)).toEqual([SYS_VERSION_TOPIC, ...SYS_TOPICS.map(([t]) => t)])
    expect(broker.sent.every((m) => m.retain && m.qos === 0)).toBe(true)
    const value = (topic: string): string | undefined => broker.sent.findLast((m) => m.topic === topic)?.payload.toString()
    expect(value('$SYS/broker/uptime')).toBe('5 seconds')
    expect(value('$SYS/broker/clients/disconnected')).toBe('1')
    broker.sent.length = 0
    broker.stats.clientsConnected = 3
    await sys.tick()
    // heap/current and uptime may move on their own; the client count did.
    expect(broker.sent.map((m) => m.topic)).toContain('$SYS/broker/clients/connected')
    expect(broker.sent.map((m) => m.topic)).not.toContain('$SYS/broker/subscriptions/count')
    expect(value('$SYS/broker/clients/connected')).toBe('3')
  })

  it('a failing publish is reported, not thrown; interval 0 sends nothing', async () => {
    const errors: unknown[] = []
    const failing: SysSource = {...fake(), publish: async () => Promise.reject(new Error('store full'))}
    const sys = new SysPublisher(failing, 3600, (e) => errors.push(e))
    sys.start()
    await sys.stop()
    expect(errors.length).toBe(SYS_TOPICS.length + 1)
    const quiet = fake()
    const off = new SysPublisher(quiet, 0)
    off.start()
    await off.stop()
    expect(quiet.sent).toEqual([])
  })
})
