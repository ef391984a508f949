// A broker that speaks only MQTT 3.1.1 (a few lines over mqtt-packet, enough for CONNECT and SUBSCRIBE): doctor
// falls back from MQTT 5, says so, and names the broker "other" since it publishes no $SYS/broker/version.
import {createServer, type Server, type Socket} from 'node:net'
import mqttPacket from 'mqtt-packet'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {DoctorOptions, DoctorTarget} from '../../src/doctor/types.js'

let server: Server
let port: number
const sockets = new Set<Socket>()

function serve(socket: Socket): void {
  sockets.add(socket)
  socket.on('close', () => sockets.delete(socket))
  socket.on('error', () => {})
  const parser = mqttPacket.parser({protocolVersion: 4})
  const send = (packet: Record<string, unknown>) => socket.write(mqttPacket.generate(packet as never, {protocolVersion: 4}))
  parser.on('packet', (packet) => {
    if (packet.cmd === 'connect') {
      // [MQTT-3.1.2-2]: an unsupported protocol level gets return code 0x01 and the connection is closed.
      if (packet.protocolVersion !== 4) {
        send({cmd: 'connack', returnCode: 1, sessionPresent: false})
        socket.end()
        return
      }
      send({cmd: 'connack', returnCode: 0, sessionPresent: false})
    } else if (packet.cmd === 'subscribe') {
      send({cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos)})
    } else if (packet.cmd === 'pingreq') {
      send({cmd: 'pingresp'})
    } else if (packet.cmd === 'disconnect') {
      socket.end()
    }
  })
  // A v5 CONNECT has properties the v4 parser cannot read: answer by the protocol level byte alone.
  parser.on('error', () => {
    send({cmd: 'connack', returnCode: 1, sessionPresent: false})
    socket.end()
  })
  socket.on('data', (chunk) => parser.parse(chunk))
}

beforeAll(async () => {
  server = createServer(serve)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as {port: number}).port
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => server.close(resolve))
})

const options = (extra: Partial<DoctorOptions>): DoctorOptions => ({
  platform: 'linux',
  ports: [],
  extraPorts: [],
  expectedConnections: 1,
  timeoutMs: 1500,
  local: true,
  testTopic: 'mqttkit/doctor',
  ...extra,
})

describe('a broker that speaks only MQTT 3.1.1', () => {
  it.skipIf(process.platform !== 'linux')('is probed with 3.1.1 after the MQTT 5 refusal and named as another broker', async () => {
    const report = await doctor__run(checks__select(['ports']), options({ports: [port], extraPorts: [port]}))
    const r = report.checks.find((c) => c.id === `port.${port}`)!
    expect(r.data?.probe).toMatchObject({mqtt: true, protocolVersion: 4, broker: 'other'})
    expect(r.detail).toContain('an MQTT broker answers (MQTT 3.1.1) (it does not publish $SYS/broker/version)')
    expect(r.status).toBe('warn')
  })

  it('CONNECT falls back to 3.1.1 with a warning, and the MQTT 5 probe says what is missing', async () => {
    const target: DoctorTarget = {
      protocol: 'mqtt',
      host: '127.0.0.1',
      port,
      path: '',
      display: `mqtt://127.0.0.1:${port}`,
      clientOptions: {protocol: 'mqtt', host: '127.0.0.1', port, protocolVersion: 5, clientId: 'doctor-311'},
      protocolVersionGiven: false,
    }
    const report = await doctor__run(checks__select(['target.dns', 'target.tcp', 'target.connect', 'target.mqtt5']), options({local: false, target}))
    const connect = report.checks.find((c) => c.id === 'target.connect')!
    expect(connect.status).toBe('warn')
    expect(connect.detail).toContain('accepted (MQTT 3.1.1)')
    expect(connect.detail).toContain('the broker refused MQTT 5, so 3.1.1 was used')
    expect(connect.fix?.[0]).toContain('-V 3.1.1')
    const v5 = report.checks.find((c) => c.id === 'target.mqtt5')!
    expect(v5.status).toBe('warn')
    expect(v5.detail).toMatch(/^the broker does not accept MQTT 5 \(refused with code 1\)/)
  })
})
