/** Bridges to a mosquitto over TLS (MQTT 5 and 3.1.1 in bridge mode) and over WebSocket. */
import {chmodSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {requireProgram} from '../helpers/system.js'
import {pki__make} from '../transport/certs.js'
import {bridge__cleanup, bridge__mosquitto, bridge__mqttkit, bridge__requireMosquitto, bridge__subscriber, bridge__until, bridge__up} from './helpers.js'

afterEach(async () => {
  await mqttjs__cleanup()
  await bridge__cleanup()
})

/** Test certificates mosquitto can read: started as root, it reads them as its own user. */
function readablePki(): ReturnType<typeof pki__make> {
  const pki = pki__make()
  chmodSync(pki.dir, 0o755)
  for (const f of readdirSync(pki.dir)) chmodSync(join(pki.dir, f), 0o644)
  return pki
}

describe('bridge transports', () => {
  it('mqtts:// (MQTT 5, and 3.1.1 in bridge mode) with the CA file, and ws://', async (ctx) => {
    if (!bridge__requireMosquitto(ctx) || !requireProgram(ctx, '/usr/bin/openssl', 'openssl')) return
    const pki = readablePki()
    const tlsPort = await brokers__freePort()
    const wsPort = await brokers__freePort()
    const remote = await bridge__mosquitto([
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
    ])
    const local = await bridge__mqttkit([
      {name: 'tls5', url: `mqtts://127.0.0.1:${tlsPort}`, ca: pki.ca, topics: ['a/# out 1 "" tls5/']},
      {name: 'tls311', url: `mqtts://localhost:${tlsPort}`, ca: pki.ca, protocolVersion: '3.1.1', topics: ['a/# both 1 "" tls311/']},
      {name: 'ws', url: `ws://127.0.0.1:${wsPort}/mqtt`, topics: ['a/# out 1 "" ws/']},
    ])
    await bridge__up(local)
    const there = await bridge__subscriber(remote.port, '#')
    // tls311 is `both`: without bridge mode over TLS the remote would send a/1 back, and it would arrive here twice.
    const here = await bridge__subscriber(local.port, 'a/#')
    const pub = await mqttjs__connect(local.port, {protocolVersion: 5})
    await pub.publishAsync('a/1', 'x', {qos: 1})
    await bridge__until(() => there.got.length >= 3, () => JSON.stringify(there.got))
    await new Promise((r) => setTimeout(r, 1000))
    expect(there.got.map((m) => m.topic).sort()).toEqual(['tls311/a/1', 'tls5/a/1', 'ws/a/1'])
    expect(here.got.map((m) => m.topic)).toEqual(['a/1'])
    pki.cleanup()
  })

  it('a remote certificate that does not verify keeps the bridge down, with the reason', async (ctx) => {
    if (!bridge__requireMosquitto(ctx) || !requireProgram(ctx, '/usr/bin/openssl', 'openssl')) return
    const pki = readablePki()
    const tlsPort = await brokers__freePort()
    await bridge__mosquitto([`listener ${tlsPort} 127.0.0.1`, `certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`])
    // No CA given: the system's CAs do not know the test CA.
    const local = await bridge__mqttkit([{name: 'tls', url: `mqtts://127.0.0.1:${tlsPort}`, reconnectBase: 100, reconnectCap: 200, topics: ['a/# out 1']}])
    await bridge__until(() => /certificate/i.test(local.bridges.status()[0]!.error ?? ''), () => JSON.stringify(local.bridges.status()))
    expect(local.bridges.status()[0]!.state).not.toBe('up')
    pki.cleanup()
  })
})
