/**
 * Mutual TLS with the certificate CN as user name, together with a password file and an ACL: the verified
 * certificate is the credential, and the ACL rules of the CN's user apply.
 */
import {readFileSync} from 'node:fs'
import type {IClientOptions, MqttClient} from 'mqtt'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Acl} from '../../src/broker/auth/acl.js'
import {auth__hooks} from '../../src/broker/auth/hooks.js'
import {PasswordFile} from '../../src/broker/auth/password-file.js'
import {Broker} from '../../src/broker/broker.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {pki__make, type TestPki} from '../transport/certs.js'

let pki: TestPki
let broker: Broker
let port: number

function connect(options: IClientOptions): Promise<MqttClient> {
  return mqttjs__connect(port, {protocol: 'mqtts', connectTimeout: 10_000, ca: pki.caPem, ...options})
}

beforeAll(async () => {
  pki = pki__make()
  const users = new PasswordFile()
  await users.set('alice', 'alice-pw', {N: 1024, r: 8, p: 1})
  const acl = Acl.parse('user sensor-17\ntopic readwrite sensors/17/#\nuser alice\ntopic readwrite alice/#\n')
  broker = new Broker({
    listeners: [{type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requireCertificate: true, useCertificateCnAsUsername: true}],
    hooks: auth__hooks({passwordFile: users, acl, allowAnonymous: false, failedLoginDelayMs: 50}),
    logLevel: 'silent',
  })
  await broker.listen()
  port = broker.listeners[0]!.address.port
}, 30_000)

afterAll(async () => {
  await mqttjs__cleanup()
  await broker?.close()
  pki?.cleanup()
})

describe('mutual TLS identity with users and ACLs', () => {
  it('a certificate with CN=sensor-17 logs in without a password and gets sensor-17 rules', async () => {
    const {cert, key} = pki.client('sensor-17')
    const sensor = await connect({protocolVersion: 5, cert: readFileSync(cert), key: readFileSync(key)})
    await sensor.publishAsync('sensors/17/temp', '21', {qos: 1})
    const denied = await sensor.publishAsync('sensors/18/temp', '21', {qos: 1}).then(
      () => 0,
      (e: Error & {code?: number}) => e.code,
    )
    expect(denied).toBe(0x87)
  })

  it('a certificate holder claiming its own CN in CONNECT needs that user’s password', async () => {
    const {cert, key} = pki.client('alice')
    await connect({protocolVersion: 5, cert: readFileSync(cert), key: readFileSync(key), username: 'alice', password: 'alice-pw'})
    const wrong = await connect({protocolVersion: 5, cert: readFileSync(cert), key: readFileSync(key), username: 'alice', password: 'nope'}).then(
      () => 0,
      (e: Error & {code?: number}) => e.code,
    )
    expect(wrong).toBe(0x86)
  })
})
