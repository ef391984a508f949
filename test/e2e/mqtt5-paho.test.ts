/**
 * MQTT 5 interop with Python paho-mqtt's MQTTv5 client (Debian python3-paho-mqtt, driven through
 * test/e2e/py/agent.py): properties passed through (user properties with repeated keys, in order), session
 * expiry, message expiry, shared subscriptions, subscription identifiers, no local, retain handling, topic
 * aliases. Statement ids are MQTT 5.0's. Runs against E2E_BROKERS (default mqttkit).
 */
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'
import {PahoAgent, paho__require} from '../helpers/paho.js'

afterEach(e2e__cleanup)

let seq = 0
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`

describe.each(brokers__underTest())('MQTT 5 with paho-mqtt against %s', (brokerKind) => {
  let broker: RunningBroker
  const start = async (ctx: {skip(note?: string): void}): Promise<boolean> => {
    if (!paho__require(ctx)) return false
    broker = await brokers__start(brokerKind)
    return true
  }
  const paho = async (options: Record<string, unknown> = {}): Promise<PahoAgent> => {
    const agent = new PahoAgent()
    const connack = await agent.connect(broker.port, {version: 5, ...options})
    if (connack.rc !== 0) throw new Error(`CONNACK reason ${connack.rc}`)
    return agent
  }

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] properties pass through; repeated user property keys keep their order', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/props')
    const sub = await paho()
    await sub.subscribe(topic, {qos: 1})
    const pub = await paho()
    const users = [
      ['sensor', 'b'],
      ['unit', 'celsius'],
      ['sensor', 'a'],
    ]
    await pub.publish(topic, '21.5 C', {
      qos: 1,
      props: {UserProperty: users, ContentType: 'text/plain', ResponseTopic: 'p5/reply', CorrelationData: 'req-9', PayloadFormatIndicator: 1},
    })
    const [m] = await sub.messagesUntil(1)
    expect(m!.payload).toBe('21.5 C')
    expect(m!.props.UserProperty).toEqual(users)
    expect(m!.props).toMatchObject({ContentType: 'text/plain', ResponseTopic: 'p5/reply', PayloadFormatIndicator: 1})
    expect(m!.props.CorrelationData).toBe(Buffer.from('req-9').toString('hex'))
  })

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] [MQTT-3.2.2-3] SessionExpiryInterval 60: the session and its queued messages survive a disconnect', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/session')
    const clientId = unique('p5-keep')
    const first = await paho({client_id: clientId, clean: false, props: {SessionExpiryInterval: 60}})
    expect(first.events.find((e) => e.ev === 'connack')!.session_present).toBe(false)
    await first.subscribe(topic, {qos: 2})
    await first.disconnect()
    first.kill()
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    await js.publishAsync(topic, 'kept-1', {qos: 1})
    await js.publishAsync(topic, 'kept-2', {qos: 2})
    const second = new PahoAgent()
    const connack = await second.connect(broker.port, {version: 5, client_id: clientId, clean: false, props: {SessionExpiryInterval: 60}})
    expect(connack.session_present).toBe(true)
    const got = await second.messagesUntil(2)
    expect(got.map((m) => [m.payload, m.qos])).toEqual([
      ['kept-1', 1],
      ['kept-2', 2],
    ])
  })

  it('[MQTT-4.3.3-4] [MQTT-4.3.3-11] QoS 2 messages reach paho MQTTv5 and the PUBREC/PUBREL/PUBCOMP exchange completes', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/qos2')
    const sub = await paho()
    await sub.subscribe(topic, {qos: 2})
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    for (const payload of ['q2-a', 'q2-b']) await js.publishAsync(topic, payload, {qos: 2})
    const got = await sub.messagesUntil(2)
    expect(got.map((m) => [m.payload, m.qos])).toEqual([
      ['q2-a', 2],
      ['q2-b', 2],
    ])
    // paho's network thread is still alive: it answers a publish of its own.
    await sub.publish(topic, 'q2-back', {qos: 2})
    await sub.messagesUntil(3)
  })

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] MessageExpiryInterval: expired messages are not delivered, the rest carry the remaining interval', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/expiry')
    const clientId = unique('p5-expiry')
    const first = await paho({client_id: clientId, clean: false, props: {SessionExpiryInterval: 60}})
    await first.subscribe(topic, {qos: 1})
    await first.disconnect()
    first.kill()
    const pub = await paho()
    await pub.publish(topic, 'short', {qos: 1, props: {MessageExpiryInterval: 1}})
    await pub.publish(topic, 'long', {qos: 1, props: {MessageExpiryInterval: 60}})
    await sleep(2200)
    const second = await paho({client_id: clientId, clean: false, props: {SessionExpiryInterval: 60}})
    const [m] = await second.messagesUntil(1)
    await sleep(200)
    expect(second.messages().map((x) => x.payload)).toEqual(['long'])
    expect(m!.props.MessageExpiryInterval).toBeLessThanOrEqual(58)
    expect(m!.props.MessageExpiryInterval).toBeGreaterThan(50)
  })

  it('[MQTT-4.8.2-1] [MQTT-4.8.2-2] shared subscription: paho members split the messages, none delivered twice', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/shared')
    const a = await paho()
    const b = await paho()
    await a.subscribe(`$share/pool/${topic}`, {qos: 1})
    await b.subscribe(`$share/pool/${topic}`, {qos: 1})
    const pub = await paho()
    for (let i = 0; i < 6; i++) await pub.publish(topic, `task-${i}`, {qos: 1})
    const deadline = Date.now() + 5000
    while (a.messages().length + b.messages().length < 6 && Date.now() < deadline) await sleep(50)
    await sleep(200)
    const all = [...a.messages(), ...b.messages()].map((m) => m.payload).sort()
    expect(all).toEqual(Array.from({length: 6}, (_, i) => `task-${i}`))
    expect(a.messages().length).toBeGreaterThan(0)
    expect(b.messages().length).toBeGreaterThan(0)
  })

  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] subscription identifiers of overlapping subscriptions all arrive', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/subid')
    const sub = await paho()
    await sub.subscribe(`${topic}/#`, {qos: 1, props: {SubscriptionIdentifier: 9}})
    await sub.subscribe(`${topic}/+`, {qos: 1, props: {SubscriptionIdentifier: 1000}})
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    await js.publishAsync(`${topic}/x`, 'both', {qos: 1})
    await sub.messagesUntil(1)
    await sleep(200)
    const ids = sub.messages().flatMap((m) => [m.props.SubscriptionIdentifier ?? []].flat())
    expect(ids.sort((x: number, y: number) => x - y)).toEqual([9, 1000])
  })

  it('[MQTT-3.8.3-3] No Local: paho does not receive its own publication on a No Local subscription', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/nolocal')
    const me = await paho({client_id: unique('p5-me')})
    await me.subscribe(topic, {qos: 1, nl: true})
    await me.publish(topic, 'own', {qos: 1})
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    await js.publishAsync(topic, 'foreign', {qos: 1})
    await me.messagesUntil(1)
    await sleep(200)
    expect(me.messages().map((m) => m.payload)).toEqual(['foreign'])
  })

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.3.1-12] [MQTT-3.3.1-13] retain handling and retain as published', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/rh')
    const pub = await paho()
    await pub.publish(topic, 'state', {qos: 1, retain: true})
    const never = await paho()
    await never.subscribe(topic, {qos: 1, rh: 2})
    const once = await paho()
    await once.subscribe(topic, {qos: 1, rh: 1})
    await once.subscribe(topic, {qos: 1, rh: 1})
    const always = await paho()
    await always.subscribe(topic, {qos: 1, rh: 0, rap: true})
    await always.subscribe(topic, {qos: 1, rh: 0, rap: true})
    await sleep(300)
    expect(never.messages()).toEqual([])
    expect(once.messages().map((m) => [m.payload, m.retain])).toEqual([['state', true]])
    expect(always.messages().map((m) => [m.payload, m.retain])).toEqual([
      ['state', true],
      ['state', true],
    ])
    // Live retained publication: flag kept for Retain As Published, cleared otherwise.
    await pub.publish(topic, 'new state', {qos: 1, retain: true})
    await always.messagesUntil(3)
    await once.messagesUntil(2)
    expect(always.messages()[2]).toMatchObject({payload: 'new state', retain: true})
    expect(once.messages()[1]).toMatchObject({payload: 'new state', retain: false})
  })

  it('[MQTT-3.3.2-12] paho publishing by topic alias (empty topic) reaches subscribers under the full topic', async (ctx) => {
    if (!(await start(ctx))) return
    const topic = unique('p5/alias')
    const js = await mqttjs__connect(broker.port, {protocolVersion: 5})
    const rec = mqttjs__record(js)
    await js.subscribeAsync(topic, {qos: 1})
    const pub = await paho()
    await pub.publish(topic, 'named', {qos: 1, props: {TopicAlias: 3}})
    await pub.publish('', 'aliased', {qos: 1, props: {TopicAlias: 3}})
    await rec.until(2)
    expect(rec.messages.map((m) => [m.topic, m.payload])).toEqual([
      [topic, 'named'],
      [topic, 'aliased'],
    ])
  })
})
