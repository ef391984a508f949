/**
 * MQTT over TLS with the reference C clients: mosquitto_pub and mosquitto_sub against certificates made by the
 * test (a CA, a server certificate for 127.0.0.1, client certificates), including mutual TLS.
 */
import {execFile, spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {promisify} from 'node:util'
import mqtt from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {Broker} from '../../src/broker/broker.js'
import type {ClientInfo} from '../../src/broker/hooks.js'
import {requireProgram} from '../helpers/system.js'
import {pki__make, type TestPki} from './certs.js'
import {broker__start, mqtt__closeAll, mqtt__connect, mqtt__next, portOf} from './harness.js'

const run = promisify(execFile)
const PUB = '/usr/bin/mosquitto_pub'
const SUB = '/usr/bin/mosquitto_sub'

let pki: TestPki
let broker: Broker
let tlsPort: number
let mutualPort: number
let tcpUrl: string
const clients: ClientInfo[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  pki = pki__make()
  broker = await broker__start([
    {type: 'tcp', host: '127.0.0.1', port: 0},
    {type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey},
    {
      type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca,
      requireCertificate: true, useCertificateCnAsUsername: true,
    },
  ], {
    hooks: {
      authorizePublish: (client) => {
        clients.push(client)
        return true
      },
    },
  })
  const [, plain, mutual] = broker.listeners
  tlsPort = plain!.address.port
  mutualPort = mutual!.address.port
  tcpUrl = `mqtt://127.0.0.1:${portOf(broker, 'tcp')}`
})

afterEach(async () => {
  for (const child of children.splice(0)) child.kill()
  await mqtt__closeAll()
})

afterAll(async () => {
  await broker?.close()
  pki?.cleanup()
})

const tlsArgs = (port: number) => ['-h', '127.0.0.1', '-p', String(port), '--cafile', pki.ca]

describe('MQTT over TLS with mosquitto clients', () => {
  it('mosquitto_sub over TLS receives what mosquitto_pub sends over TLS', async (ctx) => {
    if (!requireProgram(ctx, PUB, 'mosquitto-clients') || !requireProgram(ctx, SUB, 'mosquitto-clients')) return
    const sub = spawn(SUB, [...tlsArgs(tlsPort), '-t', 'tls/t', '-C', '1', '-W', '20', '-V', 'mqttv5'])
    children.push(sub)
    let out = ''
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => sub.on('exit', resolve))
    // mosquitto_sub prints nothing when subscribed: publish (retained-free) until it has received one.
    const deadline = Date.now() + 15_000
    while (out === '' && Date.now() < deadline) {
      await run(PUB, [...tlsArgs(tlsPort), '-t', 'tls/t', '-m', 'over tls', '-q', '1'])
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(await exited).toBe(0)
    expect(out.trim()).toBe('over tls')
  })

  it('mosquitto_pub fails against a server certificate from an unknown CA', async (ctx) => {
    if (!requireProgram(ctx, PUB, 'mosquitto-clients')) return
    const otherPki = pki__make()
    try {
      await expect(run(PUB, ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', otherPki.ca, '-t', 'x', '-m', 'x'])).rejects.toThrow()
    } finally {
      otherPki.cleanup()
    }
  })

  it('mutual TLS: refuses mosquitto_pub without a client certificate, accepts one signed by the CA', async (ctx) => {
    if (!requireProgram(ctx, PUB, 'mosquitto-clients')) return
    const watcher = await mqtt__connect(tcpUrl)
    await watcher.subscribeAsync('mtls/t', {qos: 1})
    await expect(run(PUB, [...tlsArgs(mutualPort), '-t', 'mtls/t', '-m', 'anonymous', '-q', '1'])).rejects.toThrow()
    const arrival = mqtt__next(watcher, 'mtls/t')
    const alice = pki.client('alice')
    await run(PUB, [...tlsArgs(mutualPort), '--cert', alice.cert, '--key', alice.key, '-t', 'mtls/t', '-m', 'from alice', '-q', '1'])
    expect((await arrival).payload.toString()).toBe('from alice')
    expect(clients.at(-1)?.certificate?.subject.CN).toBe('alice')
  })

  it("useCertificateCnAsUsername: the certificate's CN is the username, whatever CONNECT says", async (ctx) => {
    if (!requireProgram(ctx, PUB, 'mosquitto-clients')) return
    const bob = pki.client('bob')
    await run(PUB, [...tlsArgs(mutualPort), '--cert', bob.cert, '--key', bob.key, '-u', 'someone-else', '-t', 'mtls/u', '-m', 'x', '-q', '1'])
    expect(clients.at(-1)?.username).toBe('bob')
  })

  it('mutual TLS refuses a client certificate signed by another CA (mqtt.js)', async () => {
    const otherPki = pki__make()
    try {
      const eve = otherPki.client('eve')
      const client = mqtt.connect(`mqtts://127.0.0.1:${mutualPort}`, {
        ca: pki.caPem, cert: readFileSync(eve.cert), key: readFileSync(eve.key), reconnectPeriod: 0, connectTimeout: 5000,
      })
      // With TLS 1.3 the refusal arrives after the client's side of the handshake: an error or a close, never CONNACK.
      const outcome = await new Promise<string>((resolve) => {
        client.once('connect', () => resolve('connected'))
        client.once('error', (error) => resolve(`error: ${error.message}`))
        client.once('close', () => resolve('closed'))
      })
      client.end(true)
      expect(outcome).not.toBe('connected')
    } finally {
      otherPki.cleanup()
    }
  })
})
