/**
 * MQTT 5 interop with mosquitto_pub/mosquitto_sub -V 5 and their -D properties: properties passed through,
 * subscription identifiers, session expiry, message expiry, shared subscriptions, topic aliases, will properties
 * and will delay. Statement ids are MQTT 5.0's. Runs against E2E_BROKERS (default mqttkit). Payloads are never
 * valid JSON (mosquitto_sub -F %j would inline them).
 */
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mosq__pub, mosq__require, mosq__sub} from '../helpers/mosquitto-clients.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'

afterEach(e2e__cleanup)

let seq = 0
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`

describe.each(brokers__underTest())('MQTT 5 with mosquitto_pub/sub -V 5 against %s', (brokerKind) => {
  let broker: RunningBroker
  const start = async (ctx: {skip(note?: string): void}): Promise<boolean> => {
    if (!mosq__require(ctx)) return false
    broker = await brokers__start(brokerKind)
    return true
  }
  const pub = async (args: string[]): Promise<void> => {
    const r = await mosq__pub(broker.port, ['-V', '5', ...args])
    if (r.code !== 0) throw new Error(`mosquitto_pub exited ${r.code}: ${r.stderr}`)
  }

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] -D publish properties arrive unaltered at mosquitto_sub and mqtt.js', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/props')
    const sub = await mosq__sub(broker.port, ['-V', '5', '-t', topic, '-q', '1'])
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    const jsRec = mqttjs__record(js)
    await js.subscribeAsync(topic, {qos: 1})
    await pub([
      '-t', topic, '-q', '1', '-m', 'with properties',
      '-D', 'publish', 'user-property', 'zulu', 'first',
      '-D', 'publish', 'user-property', 'alpha', 'second',
      '-D', 'publish', 'user-property', 'mike', 'third',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'm5/reply',
      '-D', 'publish', 'correlation-data', 'corr-17',
      '-D', 'publish', 'payload-format-indicator', '1',
    ])
    const [m] = await sub.until(1)
    expect(m!.payload).toBe('with properties')
    expect(m!.properties).toMatchObject({
      'content-type': 'text/plain',
      'response-topic': 'm5/reply',
      'correlation-data': 'corr-17',
      'payload-format-indicator': 1,
    })
    expect(Object.entries(m!.properties!['user-properties'])).toEqual([
      ['zulu', 'first'],
      ['alpha', 'second'],
      ['mike', 'third'],
    ])
    const [j] = await jsRec.until(1)
    expect(j!.packet.properties).toMatchObject({contentType: 'text/plain', responseTopic: 'm5/reply', payloadFormatIndicator: true})
    expect(Buffer.from(j!.packet.properties!.correlationData!).toString()).toBe('corr-17')
    expect(Object.keys(j!.packet.properties!.userProperties!)).toEqual(['zulu', 'alpha', 'mike'])
  })

  it('[MQTT-3.3.4-3] a subscription identifier set with -D subscribe comes back on every matching message', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/subid')
    const sub = await mosq__sub(broker.port, ['-V', '5', '-t', `${topic}/#`, '-q', '1', '-D', 'subscribe', 'subscription-identifier', '4242'])
    await pub(['-t', `${topic}/a`, '-q', '1', '-m', 'one'])
    await pub(['-t', `${topic}/b/c`, '-q', '0', '-m', 'two'])
    const got = await sub.until(2)
    expect(got.map((m) => [m.payload, m.properties?.['subscription-identifier']])).toEqual([
      ['one', 4242],
      ['two', 4242],
    ])
  })

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] a session kept with -c -x 60 receives what was published while it was away', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/session')
    const id = unique('m5-keep')
    const first = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '60', '-i', id, '-t', topic, '-q', '1'])
    await first.stop()
    await pub(['-t', topic, '-q', '1', '-m', 'queued one'])
    await pub(['-t', topic, '-q', '2', '-m', 'queued two'])
    const second = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '60', '-i', id, '-t', topic, '-q', '1'])
    const got = await second.until(2)
    expect(got.map((m) => m.payload)).toEqual(['queued one', 'queued two'])
  })

  it('[MQTT-4.1.0-2] a session with -x 1 is gone two seconds after its connection closed', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/short-session')
    const id = unique('m5-short')
    const first = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '1', '-i', id, '-t', topic, '-q', '1'])
    await first.stop()
    await sleep(2200)
    await pub(['-t', topic, '-q', '1', '-m', 'lost'])
    const second = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '60', '-i', id, '-t', `${topic}/control`, '-q', '1'])
    await pub(['-t', `${topic}/control`, '-q', '1', '-m', 'control'])
    await second.until(1)
    await sleep(200)
    expect(second.messages().map((m) => m.payload)).toEqual(['control'])
  })

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] message-expiry-interval: expired messages are dropped, the rest arrive with the interval reduced', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/expiry')
    const id = unique('m5-expiry')
    const first = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '60', '-i', id, '-t', topic, '-q', '1'])
    await first.stop()
    await pub(['-t', topic, '-q', '1', '-m', 'short lived', '-D', 'publish', 'message-expiry-interval', '1'])
    await pub(['-t', topic, '-q', '1', '-m', 'long lived', '-D', 'publish', 'message-expiry-interval', '60'])
    await sleep(2200)
    const second = await mosq__sub(broker.port, ['-V', '5', '-c', '-x', '60', '-i', id, '-t', topic, '-q', '1'])
    const [m] = await second.until(1)
    await sleep(200)
    expect(second.messages().map((x) => x.payload)).toEqual(['long lived'])
    expect(m!.properties?.['message-expiry-interval']).toBeLessThanOrEqual(58)
    expect(m!.properties?.['message-expiry-interval']).toBeGreaterThan(50)
  })

  it.for(['5', '311'])('[MQTT-4.8.2-1] shared subscription with -V %s: every message goes to exactly one of two mosquitto_sub members', async (version, ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/shared')
    const a = await mosq__sub(broker.port, ['-V', version, '-t', `$share/grp/${topic}`, '-q', '1'])
    const b = await mosq__sub(broker.port, ['-V', version, '-t', `$share/grp/${topic}`, '-q', '1'])
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    for (let i = 0; i < 6; i++) await js.publishAsync(topic, `work item ${i}`, {qos: 1})
    const deadline = Date.now() + 5000
    while (a.messages().length + b.messages().length < 6 && Date.now() < deadline) await sleep(50)
    await sleep(200)
    const all = [...a.messages(), ...b.messages()].map((m) => m.payload).sort()
    expect(all).toEqual(Array.from({length: 6}, (_, i) => `work item ${i}`))
    expect(a.messages().length).toBeGreaterThan(0)
    expect(b.messages().length).toBeGreaterThan(0)
  })

  it('[MQTT-3.3.2-12] a topic alias set with -D publish topic-alias is accepted and resolved', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/alias')
    const sub = await mosq__sub(broker.port, ['-V', '5', '-t', topic, '-q', '1'])
    await pub(['-t', topic, '-q', '1', '-m', 'aliased', '-D', 'publish', 'topic-alias', '1'])
    const [m] = await sub.until(1)
    expect(m).toMatchObject({topic, payload: 'aliased'})
    expect(m!.properties?.['topic-alias']).toBeUndefined()
  })

  it('[MQTT-3.1.2-8] [MQTT-3.1.3-10] a will with -D will properties is published with them when mosquitto_sub is killed', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/will')
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    const rec = mqttjs__record(js)
    await js.subscribeAsync(topic, {qos: 1})
    const holder = await mosq__sub(broker.port, [
      '-V', '5', '-t', unique('m5/unused'),
      '--will-topic', topic, '--will-payload', 'went away', '--will-qos', '1',
      '-D', 'will', 'content-type', 'text/x-status',
      '-D', 'will', 'user-property', 'device', 'd-17',
    ])
    await holder.kill()
    const [m] = await rec.until(1)
    expect(m!.payload).toBe('went away')
    expect(m!.packet.properties).toMatchObject({contentType: 'text/x-status', userProperties: {device: 'd-17'}})
  })

  it('[MQTT-3.1.3-9] a will delay interval: the will waits, and a reconnect within the delay cancels it', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('m5/will-delay')
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    const rec = mqttjs__record(js)
    await js.subscribeAsync(`${topic}/#`, {qos: 1})
    const args = (id: string, which: string): string[] => [
      '-V', '5', '-c', '-x', '60', '-i', id, '-t', unique('m5/unused'),
      '--will-topic', `${topic}/${which}`, '--will-payload', which, '-D', 'will', 'will-delay-interval', '2',
    ]
    const cancelledId = unique('m5-cancel')
    const sentId = unique('m5-sent')
    await (await mosq__sub(broker.port, args(cancelledId, 'cancelled'))).kill()
    await (await mosq__sub(broker.port, args(sentId, 'sent'))).kill()
    await sleep(300)
    expect(rec.messages).toEqual([]) // the delay has not passed yet
    await mosq__sub(broker.port, args(cancelledId, 'cancelled'))
    await rec.until(1, 6000)
    await sleep(1500) // the cancelled will would be due by now

    expect(rec.messages.map((m) => m.payload)).toEqual(['sent'])
  })
})
