// Doctor against mqttkit's own broker, started in-process on a free port: found holding the port, named
// mqttkit (by $SYS/broker/version when published, else by the shape of the client id it assigns), and every
// broker check passes.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Broker} from '../../src/index.js'
import {ALL_CHECKS, checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {DoctorOptions} from '../../src/doctor/types.js'
import {doctor__target} from './helpers.js'

let broker: Broker
let port: number
let wsPort: number

beforeAll(async () => {
  broker = new Broker({
    listeners: [
      {type: 'tcp', host: '127.0.0.1', port: 0},
      {type: 'ws', host: '127.0.0.1', port: 0},
    ],
    logLevel: 'silent',
  })
  const [tcp, ws] = await broker.listen()
  port = tcp.address.port
  wsPort = ws.address.port
})
afterAll(async () => {
  await broker?.close()
})

const options = (extra: Partial<DoctorOptions>): DoctorOptions => ({
  platform: 'linux',
  ports: [],
  extraPorts: [],
  expectedConnections: 1,
  timeoutMs: 2000,
  local: true,
  testTopic: 'mqttkit/doctor',
  ...extra,
})

describe('an mqttkit broker', () => {
  it.skipIf(process.platform !== 'linux')('is found holding its port (this process) and identified as mqttkit: ok, not a conflict', async () => {
    const report = await doctor__run(checks__select(['ports']), options({ports: [port], extraPorts: [port]}))
    const r = report.checks.find((c) => c.id === `port.${port}`)!
    expect(r.data?.pid).toBe(process.pid)
    expect(r.data?.probe).toMatchObject({mqtt: true, broker: 'mqttkit', protocolVersion: 5, identifiedBy: '$SYS'})
    expect(String((r.data?.probe as {version: string}).version)).toMatch(/^mqttkit version \d+\.\d+\.\d+/)
    expect(r.status).toBe('ok')
    expect(r.detail).toContain('an mqttkit broker answers (MQTT 5)')
  })

  it.skipIf(process.platform !== 'linux')('finds MQTT over WebSocket on an unusual port and offers it to browsers', async () => {
    const report = await doctor__run(checks__select(['ports', 'websocket']), options({ports: [wsPort], extraPorts: [wsPort]}))
    const r = report.checks.find((c) => c.id === `port.${wsPort}`)!
    expect(r.data?.probe).toMatchObject({mqtt: true, broker: 'mqttkit', scheme: 'ws', identifiedBy: '$SYS'})
    expect(r.detail).toContain('an mqttkit broker answers (MQTT 5 over WebSocket)')
    const ws = report.checks.find((c) => c.id === 'websocket')!
    expect(ws.status).toBe('ok')
    expect(ws.data?.urls).toEqual([`ws://localhost:${wsPort}/mqtt`])
  })

  it.skipIf(process.platform !== 'linux')('is still named mqttkit with $SYS turned off, by the client id it assigns', async () => {
    const quiet = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent', sysInterval: 0})
    try {
      const [l] = await quiet.listen()
      const p = l.address.port
      const report = await doctor__run(checks__select(['ports']), options({ports: [p], extraPorts: [p], timeoutMs: 1000}))
      const r = report.checks.find((c) => c.id === `port.${p}`)!
      expect(r.data?.probe).toMatchObject({mqtt: true, broker: 'mqttkit', identifiedBy: 'assigned-client-id'})
      expect(r.detail).toContain('named by the client id it assigns')
    } finally {
      await quiet.close()
    }
  })

  it('passes every broker check', async () => {
    const target = doctor__target(port)
    const report = await doctor__run(ALL_CHECKS, options({local: false, target}))
    const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
    expect(statuses).toMatchObject({
      'target.dns': 'ok',
      'target.tcp': 'ok',
      'target.connect': 'ok',
      'target.roundtrip': 'ok',
      'target.retained': 'ok',
      'target.mqtt5': 'ok',
    })
  })
})
