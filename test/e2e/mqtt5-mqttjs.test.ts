/**
 * MQTT 5 interop with mqtt.js (`protocolVersion: 5`): properties passed through, session expiry, message expiry,
 * shared subscriptions, subscription identifiers, no local, retain handling and retain as published, topic
 * aliases. Statement ids are MQTT 5.0's. Runs against E2E_BROKERS (default mqttkit).
 */
import type {IClientOptions, MqttClient} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {mqttjs__closed, mqttjs__connect, mqttjs__record, sleep} from '../helpers/mqttjs.js'

afterEach(e2e__cleanup)

let seq = 0
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`

describe.each(brokers__underTest())('MQTT 5 with mqtt.js against %s', (brokerKind) => {
  let broker: RunningBroker
  const start = async (): Promise<void> => {
    broker = await brokers__start(brokerKind)
  }
  const v5 = (options: IClientOptions = {}, before?: (c: MqttClient) => void): Promise<MqttClient> =>
    mqttjs__connect(broker.port, {protocolVersion: 5, ...options}, before)
  const connack = (c: MqttClient): {sessionPresent: boolean; properties?: Record<string, any>} =>
    (c as unknown as {connackPacket: {sessionPresent: boolean; properties?: Record<string, any>}}).connackPacket

  it('[MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] PUBLISH properties reach the subscriber unaltered, user properties in order', async () => {
    await start()
    const topic = unique('v5/props')
    const sub = await v5()
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await v5()
    const correlation = Buffer.from([0x00, 0xff, 0x10, 0x80])
    await pub.publishAsync(topic, 'grüße', {
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'text/plain; charset=utf-8',
        responseTopic: 'v5/replies/1',
        correlationData: correlation,
        userProperties: {zeta: 'last-letter', alpha: ['one', 'two'], mid: 'dle'},
      },
    })
    const [msg] = await rec.until(1)
    const p = msg!.packet.properties!
    expect(msg!.payload).toBe('grüße')
    expect(p.payloadFormatIndicator).toBe(true)
    expect(p.contentType).toBe('text/plain; charset=utf-8')
    expect(p.responseTopic).toBe('v5/replies/1')
    expect(Buffer.from(p.correlationData!).equals(correlation)).toBe(true)
    expect(p.userProperties).toEqual({zeta: 'last-letter', alpha: ['one', 'two'], mid: 'dle'})
    expect(Object.keys(p.userProperties!)).toEqual(['zeta', 'alpha', 'mid'])
  })

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] [MQTT-3.2.2-3] a session with an expiry interval survives the connection: queued messages arrive, Session Present 1', async () => {
    await start()
    const topic = unique('v5/session')
    const clientId = unique('v5-keep')
    const first = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}})
    expect(connack(first).sessionPresent).toBe(false)
    await first.subscribeAsync(topic, {qos: 1})
    await first.endAsync()
    const pub = await v5()
    await pub.publishAsync(topic, 'while-away', {qos: 1})
    let rec!: ReturnType<typeof mqttjs__record>
    const second = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}}, (c) => (rec = mqttjs__record(c)))
    expect(connack(second).sessionPresent).toBe(true)
    const [msg] = await rec.until(1)
    expect(msg).toMatchObject({topic, payload: 'while-away'})
  })

  it('[MQTT-4.1.0-2] a session is discarded once its expiry interval has passed after the connection closed', async () => {
    await start()
    const topic = unique('v5/expire')
    const clientId = unique('v5-short')
    const first = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 1}})
    await first.subscribeAsync(topic, {qos: 1})
    await first.endAsync()
    await sleep(2200)
    const pub = await v5()
    await pub.publishAsync(topic, 'nobody-home', {qos: 1})
    let rec!: ReturnType<typeof mqttjs__record>
    const second = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}}, (c) => (rec = mqttjs__record(c)))
    expect(connack(second).sessionPresent).toBe(false)
    await sleep(300)
    expect(rec.messages).toEqual([])
  })

  it('[MQTT-3.1.2-4] Clean Start 1 discards the existing session; a DISCONNECT may set the expiry to 0 and end it', async () => {
    await start()
    const clientId = unique('v5-clean')
    const a = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}})
    await a.subscribeAsync('v5/clean/x', {qos: 1})
    await a.endAsync()
    const b = await v5({clientId, clean: true, properties: {sessionExpiryInterval: 60}})
    expect(connack(b).sessionPresent).toBe(false)
    // No subscription survived the clean start, and this connection ends its session on DISCONNECT.
    await b.endAsync(false, {properties: {sessionExpiryInterval: 0}})
    const c = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}})
    expect(connack(c).sessionPresent).toBe(false)
  })

  it('[MQTT-3.3.2-5] [MQTT-3.3.2-6] an expired message is not delivered; the forwarded expiry is reduced by the time waited', async () => {
    await start()
    const topic = unique('v5/msg-expiry')
    const clientId = unique('v5-expiry')
    const first = await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}})
    await first.subscribeAsync(topic, {qos: 1})
    await first.endAsync()
    const pub = await v5()
    await pub.publishAsync(topic, 'short-lived', {qos: 1, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync(topic, 'long-lived', {qos: 1, properties: {messageExpiryInterval: 60}})
    await sleep(2200)
    let rec!: ReturnType<typeof mqttjs__record>
    await v5({clientId, clean: false, properties: {sessionExpiryInterval: 60}}, (c) => (rec = mqttjs__record(c)))
    const [msg] = await rec.until(1)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['long-lived'])
    expect(msg!.packet.properties?.messageExpiryInterval).toBeGreaterThan(50)
    expect(msg!.packet.properties?.messageExpiryInterval).toBeLessThanOrEqual(58)
  })

  it('[MQTT-3.3.2-5] an expired retained message is not sent to new subscribers', async () => {
    await start()
    const topic = unique('v5/retained-expiry')
    const pub = await v5()
    await pub.publishAsync(`${topic}/short`, 'short', {qos: 1, retain: true, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync(`${topic}/long`, 'long', {qos: 1, retain: true, properties: {messageExpiryInterval: 100}})
    await sleep(2200)
    const sub = await v5()
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(`${topic}/#`, {qos: 1})
    await rec.until(1)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['long'])
  })

  it('[MQTT-4.8.2-3] shared subscription: each message goes to exactly one member of the group, at the granted QoS', async () => {
    await start()
    const topic = unique('v5/shared')
    const members = await Promise.all([v5(), v5(), mqttjs__connect(broker.port, {protocolVersion: 4})])
    const recs = members.map((m) => mqttjs__record(m))
    await members[0]!.subscribeAsync(`$share/workers/${topic}`, {qos: 1})
    await members[1]!.subscribeAsync(`$share/workers/${topic}`, {qos: 0})
    // A 3.1.1 client in the same group: shared subscriptions work for both protocol versions.
    await members[2]!.subscribeAsync(`$share/workers/${topic}`, {qos: 1})
    const plain = await v5()
    const plainRec = mqttjs__record(plain)
    await plain.subscribeAsync(topic, {qos: 1})
    const pub = await v5()
    for (let i = 0; i < 9; i++) await pub.publishAsync(topic, `job-${i}`, {qos: 1})
    await plainRec.until(9)
    await sleep(300)
    const all = recs.flatMap((r) => r.messages.map((m) => m.payload)).sort()
    expect(all).toEqual(Array.from({length: 9}, (_, i) => `job-${i}`).sort())
    for (const r of recs) expect(r.messages.length).toBeGreaterThan(0)
    for (const m of recs[1]!.messages) expect(m.packet.qos).toBe(0)
  })

  it('§4.8.2 no retained messages are sent for a new shared subscription', async () => {
    await start()
    const topic = unique('v5/shared-retained')
    const pub = await v5()
    await pub.publishAsync(topic, 'retained-value', {qos: 1, retain: true})
    const member = await v5()
    const rec = mqttjs__record(member)
    await member.subscribeAsync(`$share/g/${topic}`, {qos: 1})
    await pub.publishAsync(topic, 'live', {qos: 1})
    await rec.until(1)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['live'])
  })

  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] overlapping subscriptions: one delivery carrying every subscription identifier', async () => {
    await start()
    const topic = unique('v5/subid')
    const sub = await v5()
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(`${topic}/+`, {qos: 1, properties: {subscriptionIdentifier: 7}})
    await sub.subscribeAsync(`${topic}/#`, {qos: 0, properties: {subscriptionIdentifier: 300}})
    await sub.subscribeAsync(`${topic}/a`, {qos: 1})
    const pub = await v5()
    await pub.publishAsync(`${topic}/a`, 'overlap', {qos: 1})
    await pub.publishAsync(`${topic}/b/c`, 'deep', {qos: 1})
    await rec.until(2)
    await sleep(200)
    const overlap = rec.messages.filter((m) => m.payload === 'overlap')
    const ids = (m: (typeof rec.messages)[number]): number[] => [m.packet.properties?.subscriptionIdentifier ?? []].flat().sort((a, b) => a - b)
    // A broker may send one copy with both ids or one copy per subscription [MQTT-3.3.4-5]; ids must all be there.
    expect(overlap.flatMap(ids).sort((a, b) => a - b)).toEqual([7, 300])
    if (overlap.length === 1) expect(overlap[0]!.packet.qos).toBe(1)
    const deep = rec.messages.filter((m) => m.payload === 'deep')
    expect(deep.map(ids)).toEqual([[300]])
  })

  it('[MQTT-3.8.3-3] No Local: a client does not get back its own messages on that subscription, others\' it does', async () => {
    await start()
    const topic = unique('v5/nolocal')
    const me = await v5({clientId: unique('nl-me')})
    const rec = mqttjs__record(me)
    await me.subscribeAsync(topic, {qos: 1, nl: true})
    const other = await v5()
    await me.publishAsync(topic, 'mine', {qos: 1})
    await other.publishAsync(topic, 'theirs', {qos: 1})
    await rec.until(1)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['theirs'])
    // Control: on a subscription without No Local the same client receives its own message.
    await me.subscribeAsync(`${topic}/plain`, {qos: 1})
    await me.publishAsync(`${topic}/plain`, 'mine-plain', {qos: 1})
    await rec.until(2)
    expect(rec.messages[1]!.payload).toBe('mine-plain')
  })

  it('[MQTT-3.8.4-3] subscribing again to the same filter replaces the subscription options (No Local on, then off)', async () => {
    await start()
    const topic = unique('v5/replace')
    const me = await v5({clientId: unique('replace-me')})
    const rec = mqttjs__record(me)
    await me.subscribeAsync(topic, {qos: 1, nl: true})
    await me.publishAsync(topic, 'filtered', {qos: 1})
    await me.subscribeAsync(topic, {qos: 1, nl: false})
    await me.publishAsync(topic, 'delivered', {qos: 1})
    await rec.until(1)
    await sleep(200)
    expect(rec.messages.map((m) => m.payload)).toEqual(['delivered'])
  })

  it('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error', async () => {
    await start()
    const c = await v5()
    const closed = mqttjs__closed(c)
    c.subscribe(`$share/g/${unique('v5/nl-shared')}`, {qos: 0, nl: true}, () => {})
    await closed
  })

  it('[MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.8.4-4] Retain Handling 0, 1 and 2', async () => {
    await start()
    const topic = unique('v5/rh')
    const pub = await v5()
    await pub.publishAsync(topic, 'stored', {qos: 1, retain: true})
    const sub = await v5()
    const rec = mqttjs__record(sub)
    const count = async (expected: number): Promise<void> => {
      await sleep(250)
      expect(rec.messages.length).toBe(expected)
    }
    await sub.subscribeAsync(topic, {qos: 1, rh: 0})
    await count(1)
    await sub.subscribeAsync(topic, {qos: 1, rh: 0}) // re-sent on every subscribe
    await count(2)
    await sub.subscribeAsync(topic, {qos: 1, rh: 1}) // the subscription exists: not sent
    await count(2)
    await sub.unsubscribeAsync(topic)
    await sub.subscribeAsync(topic, {qos: 1, rh: 2}) // never sent
    await count(2)
    await sub.unsubscribeAsync(topic)
    await sub.subscribeAsync(topic, {qos: 1, rh: 1}) // new subscription: sent
    await count(3)
    expect(rec.messages.every((m) => m.payload === 'stored' && m.packet.retain)).toBe(true)
  })

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps the RETAIN flag on live messages, otherwise it is cleared', async () => {
    await start()
    const topic = unique('v5/rap')
    const keep = await v5()
    const clear = await v5()
    const keepRec = mqttjs__record(keep)
    const clearRec = mqttjs__record(clear)
    await keep.subscribeAsync(topic, {qos: 1, rap: true})
    await clear.subscribeAsync(topic, {qos: 1, rap: false})
    const pub = await v5()
    await pub.publishAsync(topic, 'flagged', {qos: 1, retain: true})
    const [k] = await keepRec.until(1)
    const [c] = await clearRec.until(1)
    expect(k!.packet.retain).toBe(true)
    expect(c!.packet.retain).toBe(false)
  })

  it('[MQTT-3.3.2-12] inbound topic aliases are resolved for subscribers; [MQTT-3.1.2-27] none are sent to a client that allowed none', async () => {
    await start()
    const topic = unique('v5/alias')
    const sub = await v5()
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await v5()
    const max = connack(pub).properties?.topicAliasMaximum ?? 0
    expect(max).toBeGreaterThan(0)
    await pub.publishAsync(topic, 'first', {qos: 1, properties: {topicAlias: 1}})
    await pub.publishAsync('', 'by-alias', {qos: 1, properties: {topicAlias: 1}})
    await rec.until(2)
    expect(rec.messages.map((m) => [m.topic, m.payload])).toEqual([
      [topic, 'first'],
      [topic, 'by-alias'],
    ])
    for (const m of rec.messages) expect(m.packet.properties?.topicAlias).toBeUndefined()
  })

  it('[MQTT-3.1.2-26] [MQTT-3.3.2-10] outbound topic aliases, if the broker uses them, stay within the client\'s maximum and resolve to the right topics', async () => {
    await start()
    const topics = [unique('v5/out-alias/a'), unique('v5/out-alias/b')]
    const sub = await v5({properties: {topicAliasMaximum: 1}})
    const rec = mqttjs__record(sub)
    await sub.subscribeAsync('v5/out-alias/#', {qos: 1})
    const pub = await v5()
    const sent = [topics[0], topics[0], topics[1], topics[0], topics[1], topics[1]] as string[]
    for (const [i, t] of sent.entries()) await pub.publishAsync(t, `n${i}`, {qos: 1})
    await rec.until(sent.length)
    expect(rec.messages.map((m) => [m.topic, m.payload])).toEqual(sent.map((t, i) => [t, `n${i}`]))
    for (const m of rec.messages) {
      const alias = m.packet.properties?.topicAlias
      if (alias !== undefined) expect(alias).toBe(1)
    }
  })

  it('§3.3.2.3.4 a topic alias above the maximum the broker announced is a protocol error (DISCONNECT 0x94)', async () => {
    await start()
    const pub = await v5()
    const max = connack(pub).properties?.topicAliasMaximum ?? 0
    const disconnect = new Promise<number | undefined>((resolve) => pub.once('disconnect', (p) => resolve(p.reasonCode)))
    const closed = mqttjs__closed(pub)
    // Written raw: mqtt.js itself refuses to send an alias above the maximum.
    const stream = (pub as unknown as {stream: NodeJS.WritableStream}).stream
    const {default: mqttPacket} = await import('mqtt-packet')
    stream.write(mqttPacket.generate({cmd: 'publish', topic: 'v5/alias/over', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: {topicAlias: max + 1}}, {protocolVersion: 5}))
    await closed
    const reason = await Promise.race([disconnect, sleep(100).then(() => undefined)])
    if (reason !== undefined) expect(reason).toBe(0x94)
  })

  it('[MQTT-3.3.2-7] topic alias mappings do not carry over to a new connection', async () => {
    await start()
    const clientId = unique('v5-alias-reconnect')
    const a = await v5({clientId})
    await a.publishAsync('v5/alias/carry', 'set', {qos: 1, properties: {topicAlias: 2}})
    await a.endAsync()
    const b = await v5({clientId})
    const closed = mqttjs__closed(b)
    const stream = (b as unknown as {stream: NodeJS.WritableStream}).stream
    const {default: mqttPacket} = await import('mqtt-packet')
    stream.write(mqttPacket.generate({cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: {topicAlias: 2}}, {protocolVersion: 5}))
    await closed
  })
})
