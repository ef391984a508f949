/**
 * The hooks of every QoS step and the events beside them, over real sockets with raw MQTT clients (so the test
 * decides when each acknowledgement goes out): the order in QoS 1 and QoS 2 flows (§4.3.2, §4.3.3), a refused
 * PUBREL, HookError refusals, and the notifications around sessions, wills and dropped messages.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {HookError, type Hooks} from '../../src/broker/hooks.js'
import {RawClient, cleanup, connect, delay, startBroker, until} from './helpers.js'

afterEach(cleanup)

/** Hooks that log `name:client[:detail]` in call order; the on* ones are async to show both kinds are called. */
function recordingHooks(log: string[], extra: Partial<Hooks> = {}): Partial<Hooks> {
  return {
    authorizePublish: (c, m) => {
      log.push(`authorizePublish:${c.id}:${m.topic}`)
      if (m.topic.startsWith('deny/')) throw new HookError(0x87, 'not here')
      return true
    },
    authorizeForward: (c, m) => {
      log.push(`authorizeForward:${c.id}:${m.topic}`)
      return true
    },
    onPublish: async (c, m) => void log.push(`onPublish:${c?.id}:${m.topic}`),
    onPubAck: async (c, a) => void log.push(`onPubAck:${c.id}:${a.packetId}:${a.reasonCode}:${a.message?.topic}:${a.known}`),
    onPubRec: (c, a) => void log.push(`onPubRec:${c.id}:${a.packetId}:${a.reasonCode}:${a.message?.topic}:${a.known}`),
    onPubRel: async (c, a) => void log.push(`onPubRel:${c.id}:${a.packetId}:${a.reasonCode}:${a.message?.topic}:${a.known}`),
    onPubComp: (c, a) => void log.push(`onPubComp:${c.id}:${a.packetId}:${a.reasonCode}:${a.message?.topic}:${a.known}`),
    ...extra,
  }
}

async function rawClient(port: number, clientId: string, version: 4 | 5 = 5): Promise<RawClient> {
  const raw = await RawClient.connect(port, version)
  await raw.handshake({clientId, protocolVersion: version})
  return raw
}

describe('hooks and events of QoS flows', () => {
  it('[MQTT-4.3.2-1] QoS 1: authorizePublish, authorizeForward, onPublish, then onPubAck when the subscriber acknowledges', async () => {
    const log: string[] = []
    const {port, broker} = await startBroker({hooks: recordingHooks(log)})
    broker.on('ack', (a: {cmd: string; packetId: number}, c: {id: string}) => log.push(`event ack:${a.cmd}:${c.id}`))
    broker.on('published', (m: {topic: string}) => log.push(`event published:${m.topic}`))
    const sub = await rawClient(port, 'sub')
    sub.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'q1/#', qos: 1}]})
    await sub.next('suback')
    const pub = await rawClient(port, 'pub')
    pub.send({cmd: 'publish', topic: 'q1/a', payload: 'x', qos: 1, messageId: 7, retain: false, dup: false})
    expect((await pub.next('puback')).messageId).toBe(7)
    const delivered = await sub.next('publish')
    await delay(50)
    expect(log).toEqual(['authorizePublish:pub:q1/a', 'authorizeForward:sub:q1/a', 'onPublish:pub:q1/a', 'event published:q1/a'])
    sub.send({cmd: 'puback', messageId: delivered.messageId!})
    await until(() => log.length === 6, 2000, 'onPubAck')
    expect(log.slice(4)).toEqual([`onPubAck:sub:${delivered.messageId}:0:q1/a:true`, 'event ack:puback:sub'])
    // A second PUBACK for the same id matches nothing any more.
    sub.send({cmd: 'puback', messageId: delivered.messageId!})
    await until(() => log.length === 8, 2000, 'the unknown PUBACK')
    expect(log[6]).toBe(`onPubAck:sub:${delivered.messageId}:0:undefined:false`)
  })

  it('[MQTT-4.3.3-1] [MQTT-4.3.3-2] QoS 2: onPubRel on the publisher side before PUBCOMP; onPubRec then onPubComp on the subscriber side', async () => {
    const log: string[] = []
    const {port} = await startBroker({hooks: recordingHooks(log)})
    const sub = await rawClient(port, 'sub')
    sub.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'q2/#', qos: 2}]})
    await sub.next('suback')
    const pub = await rawClient(port, 'pub')
    pub.send({cmd: 'publish', topic: 'q2/a', payload: 'x', qos: 2, messageId: 9, retain: false, dup: false})
    expect((await pub.next('pubrec')).reasonCode ?? 0).toBe(0)
    const delivered = await sub.next('publish')
    const id = delivered.messageId!
    pub.send({cmd: 'pubrel', messageId: 9})
    expect((await pub.next('pubcomp')).reasonCode ?? 0).toBe(0)
    sub.send({cmd: 'pubrec', messageId: id})
    expect((await sub.next('pubrel')).messageId).toBe(id)
    sub.send({cmd: 'pubcomp', messageId: id})
    await until(() => log.length === 6, 2000, 'every hook')
    expect(log).toEqual([
      'authorizePublish:pub:q2/a',
      'authorizeForward:sub:q2/a',
      'onPublish:pub:q2/a',
      'onPubRel:pub:9:0:undefined:true',
      `onPubRec:sub:${id}:0:q2/a:true`,
      `onPubComp:sub:${id}:0:q2/a:true`,
    ])
  })

  it('QoS 2 refused: a HookError gives PUBREC with its code, and the PUBREL that follows is refused with PUBCOMP 0x92 after onPubRel(known false)', async () => {
    const log: string[] = []
    const {port} = await startBroker({hooks: recordingHooks(log)})
    const pub = await rawClient(port, 'pub')
    pub.send({cmd: 'publish', topic: 'deny/x', payload: 'x', qos: 2, messageId: 3, retain: false, dup: false})
    expect((await pub.next('pubrec')).reasonCode).toBe(0x87)
    pub.send({cmd: 'pubrel', messageId: 3})
    expect((await pub.next('pubcomp')).reasonCode).toBe(0x92)
    await until(() => log.length === 2, 2000, 'onPubRel')
    expect(log).toEqual(['authorizePublish:pub:deny/x', 'onPubRel:pub:3:0:undefined:false'])
    // 3.1.1 has no reason codes: the PUBREL is answered with a plain PUBCOMP, the hook still hears it was unknown.
    const v4 = await rawClient(port, 'v4', 4)
    v4.send({cmd: 'pubrel', messageId: 44})
    expect((await v4.next('pubcomp')).messageId).toBe(44)
    await until(() => log.length === 3, 2000, 'onPubRel of the 3.1.1 client')
    expect(log[2]).toBe('onPubRel:v4:44:0:undefined:false')
  })

  it('a PUBREC with an error code ends the exchange: onPubRec carries the code, no PUBREL follows', async () => {
    const log: string[] = []
    const {port, broker} = await startBroker({hooks: recordingHooks(log)})
    const sub = await rawClient(port, 'sub')
    sub.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'e/#', qos: 2}]})
    await sub.next('suback')
    await broker.publish({topic: 'e/1', payload: Buffer.from('x'), qos: 2, retain: false})
    const delivered = await sub.next('publish')
    sub.send({cmd: 'pubrec', messageId: delivered.messageId!, reasonCode: 0x80})
    await until(() => log.some((l) => l.startsWith('onPubRec')), 2000, 'onPubRec')
    expect(log.find((l) => l.startsWith('onPubRec'))).toBe(`onPubRec:sub:${delivered.messageId}:128:e/1:true`)
    await expect(sub.next('pubrel', 300)).rejects.toThrow(/timed out/)
  })

  it('a hook that throws or rejects is logged and the flow goes on', async () => {
    const warnings: string[] = []
    const logger = {error: () => {}, warn: (m: string) => warnings.push(m), info: () => {}, debug: () => {}}
    const {port} = await startBroker({
      logger,
      hooks: {
        onPubAck: () => {
          throw new Error('sync boom')
        },
        onPing: async () => {
          throw new Error('async boom')
        },
      },
    })
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('t', {qos: 1})
    const got = new Promise((resolve) => sub.once('message', resolve))
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('t', 'x', {qos: 1})
    await got
    const raw = await rawClient(port, 'pinger')
    raw.send({cmd: 'pingreq'})
    await raw.next('pingresp')
    await until(() => warnings.length >= 2, 2000, 'both warnings')
    expect(warnings.join('\n')).toMatch(/hook onPubAck threw: sync boom/)
    expect(warnings.join('\n')).toMatch(/hook onPing failed: Error: async boom/)
  })
})

describe('hooks and events around clients, sessions and messages', () => {
  it('onPing before PINGRESP, onWill on an abnormal close, onSessionExpired when the expiry passes', async () => {
    const log: string[] = []
    const {port, broker} = await startBroker({
      hooks: {
        onPing: (c) => void log.push(`onPing:${c.id}`),
        onWill: (c, w) => void log.push(`onWill:${c.id}:${w.topic}:${w.payload.toString()}`),
        onSessionExpired: (c) => void log.push(`onSessionExpired:${c.id}`),
      },
    })
    for (const event of ['ping', 'will', 'sessionExpired'] as const) broker.on(event, (...args: Array<{id?: string; topic?: string}>) => log.push(`event ${event}:${args.map((a) => a.id ?? a.topic).join(',')}`))
    const raw = await RawClient.connect(port, 5)
    await raw.handshake({clientId: 'w', protocolVersion: 5, will: {topic: 'will/w', payload: Buffer.from('gone'), qos: 0, retain: false}, properties: {sessionExpiryInterval: 1}})
    raw.send({cmd: 'pingreq'})
    await raw.next('pingresp')
    expect(log).toEqual(['onPing:w', 'event ping:w'])
    raw.socket.destroy()
    await until(() => log.length === 4, 2000, 'the will')
    expect(log.slice(2)).toEqual(['onWill:w:will/w:gone', 'event will:will/w,w'])
    await until(() => log.length === 6, 4000, 'the session expiry')
    expect(log.slice(4)).toEqual(['onSessionExpired:w', 'event sessionExpired:w'])
  })

  it('onMessageDropped says why: queue-full, not-authorized, expired, too-large', async () => {
    const dropped: string[] = []
    const {port, broker} = await startBroker({
      maxQueued: 1,
      queueBudget: 0,
      hooks: {
        authorizeForward: (_c, m) => !m.topic.startsWith('secret/'),
        onMessageDropped: (c, m, why) => void dropped.push(`${c.id}:${m.topic}:${why}`),
      },
    })
    const events: string[] = []
    broker.on('messageDropped', (m: {topic: string}, why: string, c: {id: string}) => events.push(`${c.id}:${m.topic}:${why}`))
    const off = await connect(port, {clientId: 'off', clean: false})
    await off.subscribeAsync(['q/#', 'secret/#'], {qos: 1})
    off.end(true)
    await until(() => broker.clientIds.length === 0, 2000, 'the disconnect')
    await broker.publish({topic: 'q/1', payload: Buffer.from('kept'), qos: 1, retain: false})
    await broker.publish({topic: 'q/2', payload: Buffer.from('over'), qos: 1, retain: false})
    await broker.publish({topic: 'secret/1', payload: Buffer.from('no'), qos: 1, retain: false})
    expect(dropped).toEqual(['off:q/2:queue-full', 'off:secret/1:not-authorized'])

    const raw = await RawClient.connect(port, 5)
    await raw.handshake({clientId: 'small', protocolVersion: 5, properties: {maximumPacketSize: 64}})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'big/#', qos: 0}, {topic: 'exp/#', qos: 1}]})
    await raw.next('suback')
    await broker.publish({topic: 'big/1', payload: Buffer.alloc(200), qos: 0, retain: false})
    // An expired message is dropped for the subscriber it reaches.
    await broker.publish({topic: 'exp/1', payload: Buffer.from('x'), qos: 1, retain: false, expiresAt: Date.now() - 1})
    expect(dropped.slice(2)).toEqual(['small:big/1:too-large', 'small:exp/1:expired'])
    expect(events).toEqual(dropped)
  })

  it('events under the names aedes users know: clientReady/clientDisconnect, subscribed, unsubscribed, keepaliveTimeout, clientError', async () => {
    const seen: string[] = []
    const {port, broker} = await startBroker()
    broker.on('clientReady', (c: {id: string}) => seen.push(`clientReady:${c.id}`))
    broker.on('clientConnected', (c: {id: string}) => seen.push(`clientConnected:${c.id}`))
    broker.on('subscribed', (subs: Array<{filter: string}>, c: {id: string}) => seen.push(`subscribed:${subs.map((s) => s.filter)}:${c.id}`))
    broker.on('unsubscribed', (filters: string[], c: {id: string}) => seen.push(`unsubscribed:${filters}:${c.id}`))
    broker.on('keepaliveTimeout', (c: {id: string}) => seen.push(`keepaliveTimeout:${c.id}`))
    broker.on('clientError', (c: {id: string} | null, e: Error) => seen.push(`clientError:${c?.id}:${e.message}`))
    broker.on('clientDisconnect', (c: {id: string}) => seen.push(`clientDisconnect:${c.id}`))
    const client = await connect(port, {clientId: 'a'})
    await client.subscribeAsync('x/#')
    await client.unsubscribeAsync('x/#')
    client.end()
    await until(() => seen.includes('clientDisconnect:a'), 2000, 'the disconnect')
    expect(seen).toEqual(['clientConnected:a', 'clientReady:a', 'subscribed:x/#:a', 'unsubscribed:x/#:a', 'clientDisconnect:a'])
    seen.length = 0

    // [MQTT-3.1.2-24] 1.5 x keepalive without a packet.
    const silent = await RawClient.connect(port, 5)
    await silent.handshake({clientId: 'silent', protocolVersion: 5, keepalive: 1})
    await silent.waitClosed(5000)
    expect(seen.filter((s) => !s.startsWith('client'))).toEqual(['keepaliveTimeout:silent'])
    seen.length = 0

    // [MQTT-3.3.2-2] a wildcard in a PUBLISH topic is a client error.
    const bad = await RawClient.connect(port, 5)
    await bad.handshake({clientId: 'bad', protocolVersion: 5})
    bad.write([0x30, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x23, 0x00])
    await bad.waitClosed()
    expect(seen.find((s) => s.startsWith('clientError'))).toMatch(/^clientError:bad:invalid topic name/)
  })
})
