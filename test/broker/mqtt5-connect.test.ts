import {afterEach, describe, expect, it} from 'vitest'
import {HookError} from '../../src/broker/hooks.js'
import {RawClient, cleanup, startBroker} from './helpers.js'

afterEach(cleanup)

async function v5(port: number): Promise<RawClient> {
  return RawClient.connect(port, 5)
}

describe('MQTT 5 CONNECT, CONNACK, AUTH and server DISCONNECT', () => {
  it('[MQTT-3.2.2-16] reports an assigned client identifier and the server limits in CONNACK', async () => {
    const {port} = await startBroker({maxInflight: 20, maxPacketSize: 4096, topicAliasMaximum: 7})
    const raw = await v5(port)
    const connack = await raw.handshake({clientId: ''})
    expect(connack.reasonCode).toBe(0)
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^mqttkit-/)
    expect(connack.properties?.receiveMaximum).toBe(20)
    expect(connack.properties?.maximumPacketSize).toBe(4096)
    expect(connack.properties?.topicAliasMaximum).toBe(7)
  })

  it('[MQTT-3.2.2-21] imposes --max-keepalive as Server Keep Alive, also for keepalive 0', async () => {
    const {port} = await startBroker({maxKeepalive: 30})
    const a = await v5(port)
    expect((await a.handshake({clientId: 'a', keepalive: 300})).properties?.serverKeepAlive).toBe(30)
    const b = await v5(port)
    expect((await b.handshake({clientId: 'b', keepalive: 0})).properties?.serverKeepAlive).toBe(30)
    const c = await v5(port)
    expect((await c.handshake({clientId: 'c', keepalive: 10})).properties?.serverKeepAlive).toBeUndefined()
  })

  it('returns response information when requested', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    const connack = await raw.handshake({clientId: 'ri', properties: {requestResponseInformation: true}})
    expect(connack.properties?.responseInformation).toBe('response/ri')
  })

  it('refuses bad credentials with 0x86 and a reason string', async () => {
    const {port} = await startBroker({hooks: {authenticate: () => false}})
    const raw = await v5(port)
    const connack = await raw.handshake({clientId: 'x', username: 'u', password: Buffer.from('p')})
    expect(connack.reasonCode).toBe(0x86)
    expect(connack.properties?.reasonString).toBeTruthy()
  })

  it('a HookError carries its reason code to CONNACK (0x8A banned)', async () => {
    const {port} = await startBroker({
      hooks: {
        authenticate: () => {
          throw new HookError(0x8a, 'banned')
        },
      },
    })
    const raw = await v5(port)
    expect((await raw.handshake({clientId: 'x'})).reasonCode).toBe(0x8a)
  })

  it('[MQTT-4.12.0-1] without an onAuth hook an authentication method is refused with 0x8C', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    const connack = await raw.handshake({clientId: 'x', properties: {authenticationMethod: 'SCRAM-SHA-1'}})
    expect(connack.reasonCode).toBe(0x8c)
  })

  it('[MQTT-4.12.0-2] enhanced authentication: AUTH 0x18 challenge, client answer, CONNACK with the method; re-authentication', async () => {
    const {port} = await startBroker({
      hooks: {
        onAuth: (_client, {method, data}) => {
          if (method !== 'demo') throw new HookError(0x8c)
          const text = data?.toString()
          if (text === 'hello' || text === 'again') return {done: false, data: Buffer.from('challenge')}
          if (text === 'answer') return {done: true, data: Buffer.from('welcome')}
          return Promise.reject(new HookError(0x87))
        },
      },
    })
    const raw = await v5(port)
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'ea', clean: true, keepalive: 60, properties: {authenticationMethod: 'demo', authenticationData: Buffer.from('hello')}})
    const challenge = await raw.next('auth')
    expect(challenge.reasonCode).toBe(0x18)
    expect(challenge.properties?.authenticationData?.toString()).toBe('challenge')
    raw.send({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'demo', authenticationData: Buffer.from('answer')}})
    const connack = await raw.next('connack')
    expect(connack.reasonCode).toBe(0)
    expect(connack.properties?.authenticationMethod).toBe('demo')
    expect(connack.properties?.authenticationData?.toString()).toBe('welcome')
    // [MQTT-4.12.1-1] re-authentication.
    raw.send({cmd: 'auth', reasonCode: 0x19, properties: {authenticationMethod: 'demo', authenticationData: Buffer.from('again')}})
    expect((await raw.next('auth')).reasonCode).toBe(0x18)
    raw.send({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'demo', authenticationData: Buffer.from('answer')}})
    expect((await raw.next('auth')).reasonCode).toBe(0)
  })

  it('a failed enhanced authentication gets the hook reason code in CONNACK', async () => {
    const {port} = await startBroker({hooks: {onAuth: () => ({done: false, data: Buffer.from('c')})}})
    const raw = await v5(port)
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'ea', clean: true, keepalive: 60, properties: {authenticationMethod: 'demo'}})
    await raw.next('auth')
    // [MQTT-4.12.1-2] a different method is a protocol error.
    raw.send({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'other'}})
    await raw.waitClosed()
  })

  it('[MQTT-3.1.4-3] takeover: the old connection gets DISCONNECT 0x8E', async () => {
    const {port} = await startBroker()
    const first = await v5(port)
    await first.handshake({clientId: 'same'})
    const second = await v5(port)
    await second.handshake({clientId: 'same'})
    expect((await first.next('disconnect')).reasonCode).toBe(0x8e)
  })

  it('keepalive timeout: DISCONNECT 0x8D', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 'k', keepalive: 1})
    expect((await raw.next('disconnect', 3000)).reasonCode).toBe(0x8d)
  })

  it('packet too large: DISCONNECT 0x95', async () => {
    const {port} = await startBroker({maxPacketSize: 256})
    const raw = await v5(port)
    await raw.handshake({clientId: 'big'})
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.alloc(1000), qos: 0, dup: false, retain: false})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x95)
  })

  it('malformed packet: DISCONNECT 0x81', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 'm'})
    // PUBLISH whose properties hold the unknown property id 0x7f.
    raw.write([0x30, 0x06, 0x00, 0x01, 0x61, 0x02, 0x7f, 0x00])
    const d = await raw.next('disconnect')
    expect(d.reasonCode).toBe(0x81)
  })

  it('protocol error (second CONNECT): DISCONNECT 0x82', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 'p'})
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'p', clean: true, keepalive: 60})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x82)
  })

  it('server shutting down: DISCONNECT 0x8B', async () => {
    const {port, broker} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 's'})
    await broker.close()
    expect((await raw.next('disconnect')).reasonCode).toBe(0x8b)
  })

  it('the connection limit answers 0x97 quota exceeded', async () => {
    const {port} = await startBroker({maxConnections: 1})
    const a = await v5(port)
    await a.handshake({clientId: 'a'})
    const b = await v5(port)
    expect((await b.handshake({clientId: 'b'})).reasonCode).toBe(0x97)
  })

  it('[MQTT-3.2.2-9] [MQTT-3.2.2-11] Maximum QoS 1: announced, granted at most 1, a QoS 2 PUBLISH is DISCONNECT 0x9B', async () => {
    const {port} = await startBroker({maxQos: 1})
    const raw = await v5(port)
    expect((await raw.handshake({clientId: 'q'})).properties?.maximumQoS).toBe(1)
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 't', qos: 2}]})
    expect((await raw.next('suback')).granted).toEqual([1])
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: 2, dup: false, retain: false})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x9b)
  })

  it('[MQTT-3.2.2-14] Retain Available 0: announced, a retained PUBLISH is DISCONNECT 0x9A', async () => {
    const {port} = await startBroker({retainAvailable: false})
    const raw = await v5(port)
    expect((await raw.handshake({clientId: 'r'})).properties?.retainAvailable).toBe(false)
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: true})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x9a)
  })

  it('a Receive Maximum of 0 in CONNECT is refused with 0x82 (§3.1.2.11.3)', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    expect((await raw.handshake({clientId: 'z', properties: {receiveMaximum: 0}})).reasonCode).toBe(0x82)
  })

  it('[MQTT-3.3.4-6] a client PUBLISH carrying a subscription identifier is DISCONNECT 0x82', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 's'})
    raw.send({cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: {subscriptionIdentifier: 3}})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x82)
  })

  it('[MQTT-3.3.1-2] DUP on a QoS 0 PUBLISH is DISCONNECT 0x81', async () => {
    const {port} = await startBroker()
    const raw = await v5(port)
    await raw.handshake({clientId: 'd'})
    raw.write([0x38, 0x04, 0x00, 0x01, 0x74, 0x00])
    expect((await raw.next('disconnect')).reasonCode).toBe(0x81)
  })

  it('AUTH 0x18 outside an exchange (after CONNACK, no re-authentication started) is a protocol error', async () => {
    const {port} = await startBroker({hooks: {onAuth: () => ({done: true})}})
    const raw = await v5(port)
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x', clean: true, keepalive: 60, properties: {authenticationMethod: 'm'}})
    expect((await raw.next('connack')).reasonCode).toBe(0)
    raw.send({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'm'}})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x82)
  })
})
