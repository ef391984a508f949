/**
 * Connection flags for TLS and WebSocket: --cafile, --cert/--key (mutual TLS), --insecure, mqtts:// and ws:// URLs,
 * and TLS failures reported with their real cause (exit 2).
 */
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {pki__make, type TestPki} from '../transport/certs.js'
import {cli__cleanup, cli__collect, cli__mqttjs, cli__run, cli__startMqttkit} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

let pki: TestPki
let stranger: TestPki
beforeAll(() => {
  pki = pki__make()
  stranger = pki__make()
})
afterAll(() => {
  pki.cleanup()
  stranger.cleanup()
})

async function tlsBroker() {
  const {Broker} = await import('../../src/index.js')
  const broker = new Broker({
    logLevel: 'silent',
    listeners: [
      {type: 'tcp', host: '127.0.0.1', port: 0},
      {type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey},
      {type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requireCertificate: true},
      {type: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt'},
    ],
  })
  const [tcp, tls, mutual, ws] = await broker.listen()
  afterEachClose.push(() => broker.close())
  return {tcp: tcp!.address.port, tls: tls!.address.port, mutual: mutual!.address.port, ws: ws!.address.port}
}
const afterEachClose: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.allSettled(afterEachClose.splice(0).map((f) => f()))
})

describe('TLS and WebSocket connections', () => {
  it('--cafile verifies the broker; -L mqtts:// with --cafile; --insecure skips checks; mutual TLS with --cert/--key', async () => {
    const ports = await tlsBroker()
    const peer = await cli__mqttjs(ports.tcp)
    const wait = await cli__collect(peer, 'tls/+', 4)
    const results = await Promise.all([
      cli__run(['pub', '-h', 'localhost', '-p', String(ports.tls), '--cafile', pki.ca, '-t', 'tls/cafile', '-m', 'a', '-q', '1']),
      cli__run(['pub', '-L', `mqtts://127.0.0.1:${ports.tls}/tls/url`, '--cafile', pki.ca, '-m', 'b', '-q', '1']),
      cli__run(['pub', '-h', '127.0.0.1', '-p', String(ports.tls), '--tls', '--insecure', '-t', 'tls/insecure', '-m', 'c', '-q', '1']),
      cli__run([
        'pub', '-h', '127.0.0.1', '-p', String(ports.mutual), '--cafile', pki.ca,
        '--cert', pki.client('device-1').cert, '--key', pki.client('device-1').key, '-t', 'tls/mutual', '-m', 'd', '-q', '1',
      ]),
    ])
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const got = Object.fromEntries((await wait()).map((m) => [m.topic, m.payload.toString()]))
    expect(got).toEqual({'tls/cafile': 'a', 'tls/url': 'b', 'tls/insecure': 'c', 'tls/mutual': 'd'})
  })

  it('TLS failures exit 2 with the cause: unknown CA, wrong CA, missing client certificate, unreadable --cafile', async () => {
    const ports = await tlsBroker()
    const [noCa, wrongCa, noClientCert, unreadable] = await Promise.all([
      cli__run(['pub', '-L', `mqtts://127.0.0.1:${ports.tls}`, '-t', 't', '-m', 'x', '--connect-timeout', '5']),
      cli__run(['pub', '-L', `mqtts://127.0.0.1:${ports.tls}`, '--cafile', stranger.ca, '-t', 't', '-m', 'x', '--connect-timeout', '5']),
      cli__run(['pub', '-L', `mqtts://127.0.0.1:${ports.mutual}`, '--cafile', pki.ca, '-t', 't', '-m', 'x', '-q', '1', '--connect-timeout', '5']),
      cli__run(['pub', '-L', `mqtts://127.0.0.1:${ports.tls}`, '--cafile', '/nonexistent/ca.pem', '-t', 't', '-m', 'x']),
    ])
    expect(noCa.code, noCa.stderr).toBe(2)
    expect(noCa.stderr).toMatch(
      /^Error: TLS handshake with mqtts:\/\/127\.0\.0\.1:\d+ failed: .* \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\): give the CA that signed it with --cafile\n$/,
    )
    expect(wrongCa.code, wrongCa.stderr).toBe(2)
    expect(wrongCa.stderr).toMatch(/TLS handshake .* failed: .*(unable to verify|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED)/)
    // Without a client certificate the server ends the handshake: a TLS alert or a reset, never a hang.
    expect(noClientCert.code, noClientCert.stderr).toBe(2)
    expect(noClientCert.stderr.trim().split('\n')).toHaveLength(1)
    expect(unreadable.code).toBe(1)
    expect(unreadable.stderr).toBe('Error: cannot read --cafile /nonexistent/ca.pem: ENOENT\n')
  })

  it('-L ws://host:port/path connects over WebSocket; --insecure without TLS is a usage error', async () => {
    const ports = await tlsBroker()
    const peer = await cli__mqttjs(ports.tcp)
    const wait = await cli__collect(peer, 'over/ws', 1)
    const [ws, insecure] = await Promise.all([
      cli__run(['pub', '-L', `ws://127.0.0.1:${ports.ws}/mqtt`, '-t', 'over/ws', '-m', 'websocket', '-q', '1']),
      cli__run(['pub', '-h', '127.0.0.1', '-p', String(ports.tcp), '--insecure', '-t', 't', '-m', 'x']),
    ])
    expect(ws.code, ws.stderr).toBe(0)
    expect((await wait())[0]!.payload.toString()).toBe('websocket')
    expect(insecure.code).toBe(1)
    expect(insecure.stderr).toMatch(/--insecure only applies to TLS connections/)
  })
})
