import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, delay, startBroker} from './helpers.js'

afterEach(cleanup)

describe('CONNECT and CONNACK', () => {
  it('[MQTT-3.2.2-1] accepts a clean 3.1.1 CONNECT with return code 0 and session present 0', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: 'a'})
    expect(connack.returnCode).toBe(0)
    expect(connack.sessionPresent).toBe(false)
  })

  it('accepts MQTT 3.1 (MQIsdp, level 3)', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port, 3)
    const connack = await raw.handshake({clientId: 'old-client'})
    expect(connack.returnCode).toBe(0)
  })

  it('[MQTT-3.1.2-2] answers an unsupported protocol level with CONNACK 0x01 and closes', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    // CONNECT with protocol name MQTT and level 6.
    raw.write([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61])
    const connack = await raw.next('connack')
    expect(connack.returnCode).toBe(1)
    await raw.waitClosed()
  })

  it('[MQTT-3.1.3-6] assigns a client id to an empty id with clean session', async () => {
    const {port, broker} = await startBroker()
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: '', clean: true})
    expect(connack.returnCode).toBe(0)
    expect(broker.clientIds).toHaveLength(1)
    expect(broker.clientIds[0]).toMatch(/^mqttkit-/)
  })

  it('[MQTT-3.1.3-8] refuses an empty client id without clean session with 0x02', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    // mqtt-packet refuses to encode this CONNECT, so it is written byte by byte: level 4, flags 0 (clean 0), id "".
    raw.write([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00])
    const connack = await raw.next('connack')
    expect(connack.returnCode).toBe(2)
    await raw.waitClosed()
  })

  it('[MQTT-3.1.3-5] refuses a client id over the configured length with 0x02', async () => {
    const {port} = await startBroker({maxClientIdLength: 30})
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: 'x'.repeat(31)})
    expect(connack.returnCode).toBe(2)
  })

  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    raw.send({cmd: 'pingreq'})
    await raw.waitClosed()
    expect(raw.packets).toEqual([])
  })

  it('[MQTT-3.1.0-2] closes the connection on a second CONNECT', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'twice'})
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'twice', clean: true, keepalive: 60})
    await raw.waitClosed()
  })

  it('[MQTT-3.1.2-1] closes on a protocol name that does not match the level', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    // Protocol name "MQTX", level 4.
    raw.write([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61])
    await raw.waitClosed()
    expect(raw.packets.filter((p) => p.cmd === 'connack' && p.returnCode === 0)).toEqual([])
  })

  it('closes a socket that never sends CONNECT after the connect timeout', async () => {
    const {port} = await startBroker({connectTimeout: 200})
    const raw = await RawClient.connect(port)
    const started = Date.now()
    await raw.waitClosed(2000)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
  })

  it('[MQTT-3.12.4-1] answers PINGREQ with PINGRESP', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake()
    raw.send({cmd: 'pingreq'})
    await raw.next('pingresp')
  })

  it('[MQTT-3.1.2-24] disconnects after 1.5 x keepalive of silence, and not before', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({keepalive: 2})
    const started = Date.now()
    await delay(1500)
    expect(raw.closed).toBe(false)
    await raw.waitClosed(5000)
    // 1.5 x 2 s: never before 3 s (timers may fire late on a busy machine, not early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900)
  })

  it('keeps a client that sends PINGREQ within the keepalive', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({keepalive: 2})
    for (let i = 0; i < 6; i++) {
      await delay(600)
      raw.send({cmd: 'pingreq'})
      await raw.next('pingresp')
    }
    expect(raw.closed).toBe(false)
  })

  it('[MQTT-3.1.4-2] a second connection with the same client id closes the first', async () => {
    const {port} = await startBroker()
    const first = await RawClient.connect(port)
    await first.handshake({clientId: 'same'})
    const second = await RawClient.connect(port)
    const connack = await second.handshake({clientId: 'same'})
    expect(connack.returnCode).toBe(0)
    await first.waitClosed()
    expect(second.closed).toBe(false)
  })

  it('refuses connections over max connections with return code 3 and keeps serving the others', async () => {
    const {port} = await startBroker({maxConnections: 2})
    const a = await connect(port, {clientId: 'a'})
    await connect(port, {clientId: 'b'})
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: 'c'})
    expect(connack.returnCode).toBe(3)
    await raw.waitClosed()
    expect(a.connected).toBe(true)
  })

  it('refuses a 3.1.1 keepalive over max keepalive with return code 2 (documented policy)', async () => {
    const {port} = await startBroker({maxKeepalive: 30})
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({keepalive: 60})
    expect(connack.returnCode).toBe(2)
    const ok = await RawClient.connect(port)
    expect((await ok.handshake({keepalive: 30, clientId: 'ok'})).returnCode).toBe(0)
  })

  it('refuses bad credentials through the authenticate hook with return code 4', async () => {
    const {port} = await startBroker({hooks: {authenticate: (_c, user, pass) => user === 'u' && pass?.toString() === 'p'}})
    const bad = await RawClient.connect(port)
    expect((await bad.handshake({username: 'u', password: Buffer.from('x')})).returnCode).toBe(4)
    const good = await RawClient.connect(port)
    expect((await good.handshake({clientId: 'g', username: 'u', password: Buffer.from('p')})).returnCode).toBe(0)
  })

  it('a throwing or rejecting authenticate hook refuses the client and never crashes the broker', async () => {
    let calls = 0
    const {port} = await startBroker({
      hooks: {
        authenticate: () => {
          calls++
          if (calls === 1) throw new Error('boom')
          return Promise.reject(new Error('async boom'))
        },
      },
    })
    const a = await RawClient.connect(port)
    expect((await a.handshake({clientId: 'a'})).returnCode).toBe(3)
    const b = await RawClient.connect(port)
    expect((await b.handshake({clientId: 'b'})).returnCode).toBe(3)
  })
})
