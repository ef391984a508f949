/** The load engine over every transport the broker offers: TCP is covered elsewhere; here TLS, WebSocket, WSS. */
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Broker} from '../../src/index.js'
import {bench__run} from '../../src/bench/runner.js'
import type {BenchTarget} from '../../src/bench/types.js'
import {type TestPki, pki__make} from '../transport/certs.js'
import {spec, target} from './brokers.js'

let pki: TestPki
let broker: Broker
const ports: Record<string, number> = {}

beforeAll(async () => {
  pki = pki__make()
  const tls = {cert: pki.serverCert, key: pki.serverKey}
  broker = new Broker({
    listeners: [
      {type: 'tls', host: '127.0.0.1', port: 0, ...tls},
      {type: 'ws', host: '127.0.0.1', port: 0},
      {type: 'wss', host: '127.0.0.1', port: 0, ...tls},
    ],
    logLevel: 'silent',
  })
  for (const l of await broker.listen()) ports[l.spec.type] = l.address.port
})
afterAll(async () => {
  await broker?.close()
  pki?.cleanup()
})

describe('bench over TLS and WebSocket', () => {
  for (const protocol of ['mqtts', 'ws', 'wss'] as const) {
    it(`run over ${protocol}: every message delivered, latency measured`, async () => {
      const type = {mqtts: 'tls', ws: 'ws', wss: 'wss'}[protocol]
      const t: BenchTarget = {...target(ports[type]!), protocol, path: protocol.startsWith('ws') ? '/mqtt' : undefined}
      if (protocol !== 'ws') t.tls = {ca: readFileSync(pki.ca), rejectUnauthorized: true}
      const r = await bench__run(spec(ports[type]!, {target: t, publishers: 2, count: 150, qos: 1, subQos: 1}), protocol)
      expect(r.connections.failed).toBe(0)
      expect(r.delivered).toBe(300)
      expect([r.lost, r.duplicates]).toEqual([0, 0])
      expect(r.latency!.count).toBe(300)
    })
  }

  it('a TLS certificate the client does not trust is a connection failure with its reason', async () => {
    const t: BenchTarget = {...target(ports.tls!), protocol: 'mqtts'}
    const r = await bench__run(spec(ports.tls!, {target: t, scenario: 'conn', clients: 2, publishers: 0, subscribers: 0}), 'tls')
    expect(r.connections.connected).toBe(0)
    expect(Object.keys(r.connections.failures)).toEqual(['UNABLE_TO_VERIFY_LEAF_SIGNATURE'])
  })
})
