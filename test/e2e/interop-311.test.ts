/**
 * MQTT 3.1.1 interop with three clients nobody here wrote: mqtt.js, mosquitto_pub/mosquitto_sub (-V 311) and
 * Python paho-mqtt. Every scenario runs for each client as subscriber, with the publisher rotated among the
 * others, against the broker(s) named by E2E_BROKERS (default mqttkit; `E2E_BROKERS=mosquitto` checks the tests
 * themselves against the reference broker). Payloads are never valid JSON: mosquitto_sub -F %j would inline them.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__start, brokers__underTest, type RunningBroker} from '../helpers/brokers.js'
import {e2e__cleanup} from '../helpers/e2e.js'
import {CLIENT_KINDS, type ClientKind, interop__publish, interop__require, interop__subscribe} from '../helpers/interop.js'
import {sleep} from '../helpers/mqttjs.js'

afterEach(e2e__cleanup)

/** The publisher paired with each subscriber: always a different program. */
const PUBLISHER: Record<ClientKind, ClientKind> = {'mqtt.js': 'paho', mosquitto: 'mqtt.js', paho: 'mosquitto'}

let seq = 0
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`

describe.each(brokers__underTest())('MQTT 3.1.1 interop against %s', (brokerKind) => {
  const start = (): Promise<RunningBroker> => brokers__start(brokerKind)

  describe.each(CLIENT_KINDS)('subscriber %s', (subKind) => {
    const pubKind = PUBLISHER[subKind]

    it.for([0, 1, 2] as const)(
      `[MQTT-4.3.1-1] [MQTT-4.3.2-2] [MQTT-4.3.3-2] [MQTT-4.6.0-6] QoS %i messages arrive once, in order, at the QoS they were sent with (publisher ${pubKind})`,
      async (qos, ctx) => {
        if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
        const broker = await start()
        const topic = unique('interop/qos')
        const sub = await interop__subscribe(subKind, broker.port, {topic, qos: 2})
        const sent = ['m-a', 'm-b', 'm-c'].map((payload) => ({topic, payload, qos}))
        await interop__publish(pubKind, broker.port, sent)
        const got = await sub.until(3)
        await sleep(150) // a duplicate would arrive right behind
        expect(sub.messages().map((m) => [m.topic, m.payload, m.qos, m.retain])).toEqual(
          sent.map((m) => [topic, m.payload, qos, false]),
        )
        expect(got).toHaveLength(3)
      },
    )

    it(`[MQTT-3.8.4-6] delivery is downgraded to the granted QoS (publisher ${pubKind} at QoS 2, subscription QoS 1)`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/downgrade')
      const sub = await interop__subscribe(subKind, broker.port, {topic: `${topic}/+`, qos: 1})
      await interop__publish(pubKind, broker.port, [{topic: `${topic}/x`, payload: 'two', qos: 2}])
      const [msg] = await sub.until(1)
      expect(msg).toMatchObject({topic: `${topic}/x`, payload: 'two', qos: 1})
    })

    it(`[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-9] retained messages: replaced, sent on subscribe with RETAIN 1, live with RETAIN 0 (publisher ${pubKind})`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/retain')
      await interop__publish(pubKind, broker.port, [
        {topic, payload: 'old', qos: 1, retain: true},
        {topic, payload: 'current', qos: 1, retain: true},
      ])
      const sub = await interop__subscribe(subKind, broker.port, {topic: `${topic}/#`, qos: 1})
      const [stored] = await sub.until(1)
      expect(stored).toMatchObject({topic, payload: 'current', retain: true})
      await interop__publish(pubKind, broker.port, [{topic, payload: 'live', qos: 1, retain: true}])
      const got = await sub.until(2)
      expect(got[1]).toMatchObject({topic, payload: 'live', retain: false})
    })

    it(`[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload clears the retained message (publisher ${pubKind})`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/clear')
      await interop__publish(pubKind, broker.port, [
        {topic: `${topic}/kept`, payload: 'kept', qos: 1, retain: true},
        {topic: `${topic}/gone`, payload: 'gone', qos: 1, retain: true},
        {topic: `${topic}/gone`, payload: '', qos: 1, retain: true},
      ])
      const sub = await interop__subscribe(subKind, broker.port, {topic: `${topic}/#`, qos: 1})
      await sub.until(1)
      await sleep(200)
      expect(sub.messages().map((m) => m.topic)).toEqual([`${topic}/kept`])
    })

    it(`[MQTT-3.1.2-8] the will is published when ${subKind} loses its connection (watched by ${pubKind})`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/will')
      // The watcher is the other client program; the client with the will is subKind.
      const watcher = await interop__subscribe(pubKind, broker.port, {topic, qos: 1})
      const holder = await interop__subscribe(subKind, broker.port, {
        topic: unique('interop/unused'),
        qos: 0,
        will: {topic, payload: 'gone-away', qos: 1},
      })
      await holder.drop()
      const [will] = await watcher.until(1)
      expect(will).toMatchObject({topic, payload: 'gone-away', qos: 1, retain: false})
    })

    it(`[MQTT-3.1.2-10] [MQTT-3.14.4-3] no will after a clean DISCONNECT from ${subKind}`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/nowill')
      const watcher = await interop__subscribe(pubKind, broker.port, {topic, qos: 1})
      const holder = await interop__subscribe(subKind, broker.port, {
        topic: unique('interop/unused'),
        qos: 0,
        will: {topic, payload: 'should-not-appear', qos: 1},
      })
      await holder.disconnect()
      // A control message proves the watcher is live: it must arrive, and nothing before it.
      await sleep(300)
      await interop__publish('mqtt.js', broker.port, [{topic, payload: 'control', qos: 1}])
      await watcher.until(1)
      expect(watcher.messages().map((m) => m.payload)).toEqual(['control'])
    })

    it(`[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2] a persistent session of ${subKind} gets the QoS 1/2 messages published while it was away`, async (ctx) => {
      if (!interop__require(ctx, subKind) || !interop__require(ctx, pubKind)) return
      const broker = await start()
      const topic = unique('interop/session')
      const clientId = unique(`persist-${subKind.replace('.', '')}`)
      const first = await interop__subscribe(subKind, broker.port, {topic, qos: 2, clientId, clean: false})
      if (first.sessionPresent !== undefined) expect(first.sessionPresent).toBe(false)
      await first.disconnect()
      await sleep(100)
      await interop__publish(pubKind, broker.port, [
        {topic, payload: 'away-1', qos: 1},
        {topic, payload: 'away-2', qos: 2},
        {topic, payload: 'away-0', qos: 0},
      ])
      const second = await interop__subscribe(subKind, broker.port, {topic, qos: 2, clientId, clean: false})
      if (second.sessionPresent !== undefined) expect(second.sessionPresent).toBe(true)
      const got = await second.until(2)
      await sleep(150)
      // QoS 0 messages may be queued too (a broker choice); the QoS 1 and 2 ones must be there, in order.
      const kept = second.messages().filter((m) => m.payload !== 'away-0')
      expect(kept.map((m) => [m.payload, m.qos])).toEqual([
        ['away-1', 1],
        ['away-2', 2],
      ])
      expect(got.length).toBeGreaterThanOrEqual(2)
    })
  })
})
