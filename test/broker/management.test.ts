/**
 * The management API over real sockets (mqtt.js clients on TCP): broker.clients (list, get, filters, kick),
 * broker.subscriptions and broker.configure with live settings.
 */
import {afterEach, describe, expect, it} from 'vitest'
import type {IDisconnectPacket} from 'mqtt'
import {AuthFiles, ConfigureError, HookError} from '../../src/index.js'
import {cleanup, connect, connectRefusal as refusal, nextMessages, startBroker, until} from './helpers.js'

afterEach(cleanup)

describe('broker.clients', () => {
  it('lists a connected client with its connection, session, subscriptions and message counts', async () => {
    const {broker, port} = await startBroker()
    const before = Date.now()
    const c = await connect(port, {clientId: 'mgmt-1', username: 'ann', protocolVersion: 5, keepalive: 30, clean: false, properties: {sessionExpiryInterval: 300}})
    await c.subscribeAsync('a/+', {qos: 1})
    await c.subscribeAsync('b/#', {qos: 2})
    const got = nextMessages(c, 2)
    await c.publishAsync('a/1', 'x', {qos: 1})
    await c.publishAsync('b/2', 'y', {qos: 0})
    await got
    const view = broker.clients.get('mgmt-1')!
    expect(view).toMatchObject({
      id: 'mgmt-1',
      username: 'ann',
      transport: 'tcp',
      protocolVersion: 5,
      protocol: '5.0',
      connected: true,
      keepalive: 30,
      clean: false,
      sessionExpiry: 300,
      inflight: 0,
      queued: 0,
      messagesIn: 2,
      messagesOut: 2,
    })
    expect(view.address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(view.connectedSince).toBeGreaterThanOrEqual(before)
    expect(view.subscriptions.map((s) => [s.filter, s.qos])).toEqual([
      ['a/+', 1],
      ['b/#', 2],
    ])
    expect(broker.clients.list().map((v) => v.id)).toEqual(['mgmt-1'])
    expect(broker.clients.count).toBe(1)
    expect(broker.clients.get('nobody')).toBeUndefined()
  })

  it('keeps listing a disconnected persistent session with its queue, and filters by id substring, user and state', async () => {
    const {broker, port} = await startBroker()
    const away = await connect(port, {clientId: 'sensor-away', protocolVersion: 4, clean: false})
    await away.subscribeAsync('q/#', {qos: 1})
    await away.endAsync()
    await connect(port, {clientId: 'sensor-here', username: 'bob', protocolVersion: 4})
    const pub = await connect(port, {clientId: 'other', protocolVersion: 4})
    await pub.publishAsync('q/1', 'queued', {qos: 1})
    await until(() => broker.clients.get('sensor-away')?.queued === 1)
    const offline = broker.clients.get('sensor-away')!
    expect(offline).toMatchObject({connected: false, clean: false, sessionExpiry: null, protocol: '3.1.1', keepalive: 0, connectedSince: null})
    expect(offline.disconnectedAt).toBeTypeOf('number')
    expect(broker.clients.list({clientid: 'sensor'}).map((v) => v.id)).toEqual(['sensor-here', 'sensor-away'])
    expect(broker.clients.list({connected: false}).map((v) => v.id)).toEqual(['sensor-away'])
    expect(broker.clients.list({username: 'bob'}).map((v) => v.id)).toEqual(['sensor-here'])
  })

  it('kick sends an MQTT 5 client DISCONNECT 0x98 (administrative action) and keeps its persistent session', async () => {
    const {broker, port} = await startBroker()
    const c = await connect(port, {clientId: 'kick-5', protocolVersion: 5, clean: false, properties: {sessionExpiryInterval: 600}})
    await c.subscribeAsync('k/#', {qos: 1})
    const disconnect = new Promise<IDisconnectPacket>((resolve) => c.once('disconnect', resolve))
    expect(broker.clients.kick('kick-5')).toBe(true)
    expect((await disconnect).reasonCode).toBe(0x98)
    expect(broker.clients.get('kick-5')).toMatchObject({connected: false, subscriptions: [expect.objectContaining({filter: 'k/#'})]})
    expect(broker.clients.kick('no-such-client')).toBe(false)
  })

  it('kick with discardSession ends the session too, and publishes the will as for any disconnection', async () => {
    const {broker, port} = await startBroker()
    const watcher = await connect(port, {clientId: 'watcher', protocolVersion: 5})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const c = await connect(port, {clientId: 'kick-311', protocolVersion: 4, clean: false, will: {topic: 'wills/kick-311', payload: Buffer.from('gone'), qos: 1, retain: false}})
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()))
    const will = nextMessages(watcher, 1)
    expect(broker.clients.kick('kick-311', {discardSession: true})).toBe(true)
    await closed
    expect((await will)[0]!.payload.toString()).toBe('gone')
    expect(broker.clients.get('kick-311')).toBeUndefined()
    // An offline session can be discarded the same way.
    const away = await connect(port, {clientId: 'away', protocolVersion: 4, clean: false})
    await away.endAsync()
    expect(broker.clients.get('away')?.connected).toBe(false)
    expect(broker.clients.kick('away', {discardSession: true})).toBe(true)
    expect(broker.clients.get('away')).toBeUndefined()
  })
})

describe('broker.subscriptions', () => {
  it('lists every filter with its subscribers and their QoS, shared groups named', async () => {
    const {broker, port} = await startBroker()
    const a = await connect(port, {clientId: 'sub-a', protocolVersion: 5})
    const b = await connect(port, {clientId: 'sub-b', protocolVersion: 5})
    await a.subscribeAsync('t/#', {qos: 1})
    await b.subscribeAsync('t/#', {qos: 0})
    await b.subscribeAsync('$share/g1/jobs/+', {qos: 2})
    expect(broker.subscriptions.list()).toEqual([
      {filter: '$share/g1/jobs/+', topicFilter: 'jobs/+', shareGroup: 'g1', subscribers: [expect.objectContaining({clientId: 'sub-b', qos: 2, connected: true})]},
      {
        filter: 't/#',
        topicFilter: 't/#',
        subscribers: [expect.objectContaining({clientId: 'sub-a', qos: 1}), expect.objectContaining({clientId: 'sub-b', qos: 0})],
      },
    ])
    expect(broker.subscriptions.count).toBe(3)
  })
})

describe('broker.configure', () => {
  it('max-connections applies to the next CONNECT: over it refused with 0x97 (quota exceeded)', async () => {
    const {broker, port} = await startBroker()
    await connect(port, {clientId: 'one', protocolVersion: 5})
    expect(broker.configure({maxConnections: 1})).toMatchObject({maxConnections: 1})
    expect(await refusal(port, {clientId: 'two', protocolVersion: 5})).toBe(0x97)
    broker.configure({maxConnections: 2})
    await connect(port, {clientId: 'two', protocolVersion: 5})
    expect(broker.config.maxConnections).toBe(2)
  })

  it('max-keepalive applies to new connections (MQTT 5 Server Keep Alive) [MQTT-3.2.2-21]', async () => {
    const {broker, port} = await startBroker()
    broker.configure({maxKeepalive: 10})
    const c = await connect(port, {clientId: 'ka', protocolVersion: 5, keepalive: 60})
    expect(broker.clients.get('ka')?.keepalive).toBe(10)
    c.end(true)
  })

  it('allow-anonymous false refuses anonymous clients from the next CONNECT; true lets them in again', async () => {
    const {broker, port} = await startBroker({auth: AuthFiles.none({failedLoginDelayMs: 0})})
    await connect(port, {clientId: 'anon-1', protocolVersion: 5})
    broker.configure({allowAnonymous: false})
    expect(broker.config.allowAnonymous).toBe(false)
    expect(await refusal(port, {clientId: 'anon-2', protocolVersion: 5})).toBe(0x86)
    expect(await refusal(port, {clientId: 'anon-3', protocolVersion: 4})).toBe(5)
    expect(broker.clients.get('anon-1')?.connected).toBe(true)
    broker.configure({allowAnonymous: true})
    await connect(port, {clientId: 'anon-4', protocolVersion: 5})
  })

  it('refuses bad values with a ConfigureError naming the field, and applies nothing of that patch', async () => {
    const {broker} = await startBroker()
    const before = broker.config
    const error = (patch: Record<string, unknown>) => {
      try {
        broker.configure(patch as never)
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigureError)
        return {code: (e as ConfigureError).code, field: (e as ConfigureError).field, message: (e as Error).message}
      }
      throw new Error('no error')
    }
    expect(error({maxConnections: 5, maxKeepalive: 70_000})).toEqual({code: 'invalid_value', field: 'maxKeepalive', message: 'maxKeepalive must be an integer from 1 to 65535, got 70000'})
    expect(error({maxConnections: 0})).toMatchObject({code: 'invalid_value', field: 'maxConnections'})
    expect(error({maxQueued: 1.5})).toMatchObject({code: 'invalid_value', field: 'maxQueued'})
    expect(error({maxConnections: '10'})).toMatchObject({code: 'invalid_value', field: 'maxConnections', message: 'maxConnections must be an integer, got "10"'})
    expect(error({allowAnonymous: 'no'})).toMatchObject({code: 'invalid_value', field: 'allowAnonymous'})
    expect(error({maxPacketSize: 1000})).toMatchObject({code: 'read_only_setting', field: 'maxPacketSize'})
    expect(error({colour: 'red'})).toMatchObject({code: 'unknown_setting', field: 'colour'})
    expect(broker.config).toEqual(before)
  })

  it('allow-anonymous belongs to an authenticate hook given in BrokerOptions.hooks', async () => {
    const {broker} = await startBroker({
      hooks: {
        authenticate: () => {
          throw new HookError(0x87)
        },
      },
    })
    expect(() => broker.configure({allowAnonymous: false})).toThrow(/authenticate hook/)
    expect(broker.configure({maxSubscriptions: 5}).maxSubscriptions).toBe(5)
  })
})
