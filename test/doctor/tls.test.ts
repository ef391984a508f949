// TLS diagnosis against servers with certificates made by the test: expired, wrong host, self-signed, a port
// that does not speak TLS, and a good chain through mosquitto end to end.
import {existsSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {createServer as createNetServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createServer as createTlsServer} from 'node:tls'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {CheckResult, DoctorOptions, DoctorTarget} from '../../src/doctor/types.js'
import {requireProgram} from '../helpers/system.js'
import {pki__create, type TestPki} from './certs.js'
import {killChildren, MOSQUITTO, startMosquitto} from './helpers.js'


let dir: string
let pki: TestPki
const servers: Server[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doctor-tls-'))
  await chmod(dir, 0o755)
  pki = pki__create(dir)
})
afterAll(async () => {
  for (const s of servers) s.close()
  await killChildren()
  await rm(dir, {recursive: true, force: true})
})

async function tlsServer(name: string): Promise<number> {
  const server = createTlsServer({...pki.pem(name)}, (socket) => socket.on('error', () => {}))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

function target(port: number, opts: {ca?: Buffer; insecure?: boolean; host?: string; protocol?: 'mqtts' | 'mqtt'} = {}): DoctorTarget {
  const host = opts.host ?? 'localhost'
  const protocol = opts.protocol ?? 'mqtts'
  const tls = protocol === 'mqtts' ? {ca: opts.ca, rejectUnauthorized: !opts.insecure, servername: /^[\d.]+$/.test(host) ? undefined : host} : undefined
  return {
    protocol,
    host,
    port,
    path: '',
    display: `${protocol}://${host}:${port}`,
    tls,
    clientOptions: {protocol, host, port, protocolVersion: 5, ca: opts.ca, rejectUnauthorized: !opts.insecure, servername: tls?.servername, reconnectPeriod: 0},
    protocolVersionGiven: false,
  }
}

const options = (t: DoctorTarget): DoctorOptions => ({platform: 'linux', ports: [], extraPorts: [], expectedConnections: 1, timeoutMs: 2000, local: false, testTopic: 'mqttkit/doctor', target: t})

async function tlsResult(t: DoctorTarget): Promise<CheckResult> {
  const report = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.tls']), options(t))
  return report.checks.find((c) => c.id === 'target.tls')!
}

describe('TLS handshake and certificate', () => {
  it('diagnoses an expired certificate, with its end date and a renewal fix', async () => {
    const r = await tlsResult(target(await tlsServer('expired'), {ca: pki.ca}))
    expect(r.status).toBe('fail')
    expect(r.detail).toContain('the certificate expired on 2021-01-01 00:00:00 UTC')
    expect(r.data).toMatchObject({validTo: '2021-01-01T00:00:00.000Z', verifyError: 'CERT_HAS_EXPIRED', selfSigned: false})
    expect(r.fix?.[0]).toContain('renew the broker certificate')
  })

  it('diagnoses a certificate that is not valid yet, and warns about one that expires within 14 days', async () => {
    const future = await tlsResult(target(await tlsServer('future'), {ca: pki.ca}))
    expect(future.status).toBe('fail')
    expect(future.detail).toContain('the certificate is valid only from 2099-01-01 00:00:00 UTC')
    expect(future.fix?.[0]).toContain('check the clock')
    const soon = await tlsResult(target(await tlsServer('soon'), {ca: pki.ca}))
    expect(soon.status).toBe('warn')
    expect(soon.detail).toMatch(/^the certificate expires soon \(\d{4}-/)
  })

  it('diagnoses a certificate issued for another host name, naming the names it does list', async () => {
    const r = await tlsResult(target(await tlsServer('wronghost'), {ca: pki.ca}))
    expect(r.status).toBe('fail')
    expect(r.detail).toContain('it does not name "localhost" (it names DNS:broker.example.com)')
    expect(String(r.data?.hostMismatch)).toContain("Host: localhost. is not in the cert's altnames: DNS:broker.example.com")
    expect(r.fix?.[0]).toContain('subjectAltName=DNS:localhost')
  })

  it('diagnoses a self-signed certificate (fail), and only warns when --insecure is given', async () => {
    const port = await tlsServer('selfsigned')
    const strict = await tlsResult(target(port))
    expect(strict.status).toBe('fail')
    expect(strict.detail).toContain('the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)')
    expect(strict.fix).toContain('trust it explicitly: --cafile broker.crt')
    const insecure = await tlsResult(target(port, {insecure: true}))
    expect(insecure.status).toBe('warn')
    expect(insecure.detail).toContain('ignored because of --insecure')
  })

  it('reports an unknown CA when the chain is not trusted (no --cafile)', async () => {
    const r = await tlsResult(target(await tlsServer('good')))
    expect(r.status).toBe('fail')
    expect(r.data?.verifyError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    expect(r.fix?.some((f) => f.includes('--cafile'))).toBe(true)
  })

  it('accepts a good chain and describes it', async () => {
    const r = await tlsResult(target(await tlsServer('good'), {ca: pki.ca}))
    expect(r.status).toBe('ok')
    expect(r.detail).toMatch(/^TLSv1\.3, certificate "CN=localhost" issued by "CN=mqttkit doctor test CA", valid until /)
  })

  it('says so when the port does not speak TLS at all', async () => {
    // A plain-text server answering the ClientHello with text, like an HTTP or line-protocol server.
    const server = createNetServer((s) => {
      s.on('error', () => {})
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n')
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const r = await tlsResult(target((server.address() as {port: number}).port))
    expect(r.status).toBe('fail')
    expect(r.detail).toContain('does not speak TLS')
    expect(r.fix?.[0]).toContain('mqtt:// instead of mqtts://')
  })
})

describe('TLS through mosquitto', () => {
  let tlsPort = 0
  let plainPort = 0
  beforeAll(async () => {
    if (!existsSync(MOSQUITTO)) return
    const good = pki.files('good')
    const started = await startMosquitto(
      join(dir, 'tls.conf'),
      2,
      ([tls, plain]) =>
        `listener ${tls} 127.0.0.1\ncertfile ${good.cert}\nkeyfile ${good.key}\nallow_anonymous true\nlistener ${plain} 127.0.0.1\nallow_anonymous true\n`,
    )
    ;[tlsPort, plainPort] = started.ports
  })

  it('passes TLS, CONNECT and the round trip with the right CA', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const report = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.tls', 'target.connect', 'target.roundtrip']), options(target(tlsPort, {ca: pki.ca})))
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['target.dns', 'ok'],
      ['target.tcp', 'ok'],
      ['target.tls', 'ok'],
      ['target.connect', 'ok'],
      ['target.roundtrip', 'ok'],
    ])
  })

  it('tells a client speaking plain MQTT to a TLS port to use mqtts://', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const report = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.connect']), options(target(tlsPort, {protocol: 'mqtt'})))
    const r = report.checks.find((c) => c.id === 'target.connect')!
    expect(r.status).toBe('fail')
    expect(r.detail).toBe(`port ${tlsPort} speaks MQTT over TLS, but the client used plain MQTT over TCP`)
    expect(r.data?.speaks).toBe('mqtts')
    expect(r.fix?.[0]).toContain(`--url mqtts://localhost:${tlsPort}`)
  })

  it('explains a TLS client talking to a plain MQTT port', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const r = await tlsResult(target(plainPort, {ca: pki.ca}))
    expect(r.status).toBe('fail')
    expect(r.detail).toBe(`port ${plainPort} speaks plain MQTT, not TLS: the broker hung up on the TLS handshake`)
    expect(r.fix?.[0]).toContain(`mqtt://localhost:${plainPort}`)
  })
})

describe('TLS through mqttkit', () => {
  it('passes over secure WebSocket, and diagnoses a listener that requires a client certificate', async () => {
    const {Broker} = await import('../../src/index.js')
    const good = pki.files('good')
    const broker = new Broker({
      listeners: [
        {type: 'wss', host: '127.0.0.1', port: 0, cert: good.cert, key: good.key},
        {type: 'tls', host: '127.0.0.1', port: 0, cert: good.cert, key: good.key, ca: pki.caFile, requireCertificate: true},
      ],
      logLevel: 'silent',
    })
    try {
      const [wss, mtls] = await broker.listen()
      const base = target(wss.address.port, {ca: pki.ca})
      const overWss: DoctorTarget = {...base, protocol: 'wss', path: '/mqtt', display: `wss://localhost:${wss.address.port}/mqtt`, clientOptions: {...base.clientOptions, protocol: 'wss', path: '/mqtt'}}
      const ok = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.tls', 'target.connect', 'target.roundtrip']), options(overWss))
      expect(ok.checks.map((c) => [c.id, c.status])).toEqual([
        ['target.dns', 'ok'],
        ['target.tcp', 'ok'],
        ['target.tls', 'ok'],
        ['target.connect', 'ok'],
        ['target.roundtrip', 'ok'],
      ])
      const needsCert = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.tls', 'target.connect']), options(target(mtls.address.port, {ca: pki.ca})))
      const failed = needsCert.checks.find((c) => c.status === 'fail')!
      expect(failed.id).toBe('target.tls')
      expect(failed.detail).toBe('the broker ended the handshake (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED): it wants a client certificate it trusts')
      expect(failed.fix?.[0]).toContain('--cert client.crt --key client.key')
    } finally {
      await broker.close()
    }
  })
})
