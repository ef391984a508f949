// Doctor against real local servers started by the test: a plain TCP server holding a port, mosquitto (open
// and with a password file). Every port is a free one found at run time, passed as a `--port` extra.
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ALL_CHECKS, checks__select} from '../../src/doctor/checks/index.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {CheckResult, DoctorOptions, DoctorTarget} from '../../src/doctor/types.js'
import {requireProgram} from '../helpers/system.js'
import {freePort, holdPort, killChildren, MOSQUITTO, startMosquitto} from './helpers.js'

const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'

function options(ports: number[], extra: Partial<DoctorOptions> = {}): DoctorOptions {
  return {platform: 'linux', ports, extraPorts: ports, expectedConnections: 10, timeoutMs: 1500, local: true, testTopic: 'mqttkit/doctor', ...extra}
}

function target(port: number, extra: Partial<DoctorTarget['clientOptions']> = {}, protocolVersionGiven = false): DoctorTarget {
  return {
    protocol: 'mqtt',
    host: '127.0.0.1',
    port,
    path: '',
    display: `mqtt://127.0.0.1:${port}`,
    clientOptions: {protocol: 'mqtt', host: '127.0.0.1', port, protocolVersion: 5, clientId: 'doctor-test', reconnectPeriod: 0, ...extra},
    protocolVersionGiven,
  }
}

function needMosquitto(ctx: {skip(note?: string): void}): boolean {
  return requireProgram(ctx, MOSQUITTO, 'mosquitto') && requireProgram(ctx, MOSQUITTO_PASSWD, 'mosquitto')
}

function byId(checks: CheckResult[], id: string): CheckResult {
  const found = checks.find((c) => c.id === id)
  if (!found) throw new Error(`no result ${id} in ${checks.map((c) => c.id).join(', ')}`)
  return found
}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doctor-live-'))
  // mosquitto started as root drops to the `mosquitto` user, which must still read its files here.
  await chmod(dir, 0o755)
})
afterAll(async () => {
  await killChildren()
  await rm(dir, {recursive: true, force: true})
})

describe.skipIf(process.platform !== 'linux')('a port held by another program', () => {
  it('names the pid and command line of the process, and fails because it does not speak MQTT', async () => {
    const {port, child} = await holdPort()
    const report = await doctor__run(checks__select(['ports']), options([port]))
    const r = byId(report.checks, `port.${port}`)
    expect(r.status).toBe('fail')
    expect(r.data?.pid).toBe(child.pid)
    expect(String(r.data?.command)).toContain(`createServer().listen(0, '127.0.0.1'`)
    expect(r.detail).toContain(`pid ${child.pid} (${process.execPath} -e`)
    expect(r.detail).toContain('does not answer MQTT')
    expect(r.fix).toContain(`kill ${child.pid}   # stop the process holding the port`)
    expect(r.fix?.at(-1)).toMatch(/^mqttkit broker --mqtt-port \d+/)
  })

  it('reports a free port as free', async () => {
    const port = await freePort()
    const report = await doctor__run(checks__select(['ports']), options([port]))
    expect(byId(report.checks, `port.${port}`)).toMatchObject({status: 'ok', detail: 'free'})
  })
})

describe('a mosquitto started by the test', () => {
  let open: number
  let locked: number
  let openPid: number | undefined

  beforeAll(async () => {
    if (!existsSync(MOSQUITTO) || !existsSync(MOSQUITTO_PASSWD)) return
    const started = await startMosquitto(join(dir, 'open.conf'), 1, ([p]) => `listener ${p} 127.0.0.1\nallow_anonymous true\n`)
    open = started.ports[0]
    openPid = started.pid
    execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', join(dir, 'passwd'), 'alice', 's3cret'])
    // alice may only use allowed/#: the round trip on the default test topic must be denied.
    await writeFile(join(dir, 'acl'), 'user alice\ntopic readwrite allowed/#\n')
    const lockedUp = await startMosquitto(
      join(dir, 'locked.conf'),
      1,
      ([p]) => `listener ${p} 127.0.0.1\nallow_anonymous false\npassword_file ${join(dir, 'passwd')}\nacl_file ${join(dir, 'acl')}\n`,
    )
    locked = lockedUp.ports[0]
  })

  it.skipIf(process.platform !== 'linux')('is found holding its port and identified as mosquitto through $SYS/broker/version', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const report = await doctor__run(checks__select(['ports', 'mosquitto']), options([open]))
    const r = byId(report.checks, `port.${open}`)
    expect(r.status).toBe('warn')
    expect(r.data?.pid).toBe(openPid)
    expect(r.data?.probe).toMatchObject({mqtt: true, broker: 'mosquitto', protocolVersion: 5})
    expect(String((r.data?.probe as {version: string}).version)).toMatch(/^mosquitto version \d+\.\d+/)
    expect(r.detail).toContain('mosquitto answers (MQTT 5): "mosquitto version')
    expect(r.detail).toContain('loopback only')
    // The background-mosquitto check sees the same process in the process list.
    const m = byId(report.checks, 'mosquitto')
    expect(m.status).toBe('warn')
    expect((m.data?.processes as {pid: number}[]).map((p) => p.pid)).toContain(openPid)
  })

  it('identifies a mosquitto that refuses anonymous clients as an MQTT broker that wants credentials', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const report = await doctor__run(checks__select(['ports']), options([locked]))
    const r = byId(report.checks, `port.${locked}`)
    expect(r.data?.probe).toMatchObject({mqtt: true, reasonCode: 0x87})
    expect(r.detail).toContain('refuses anonymous clients')
  })

  it('passes every broker check with an open mosquitto: round trip at QoS 0/1/2, retained, MQTT 5 capabilities', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const report = await doctor__run(ALL_CHECKS, options([], {local: false, target: target(open)}))
    expect(report.checks.filter((c) => c.id.startsWith('target.')).map((c) => [c.id, c.status])).toEqual([
      ['target.dns', 'ok'],
      ['target.tcp', 'ok'],
      ['target.connect', 'ok'],
      ['target.roundtrip', 'ok'],
      ['target.retained', 'ok'],
      ['target.mqtt5', 'ok'],
      ['target.bridges', 'skip'],
    ])
    const latency = byId(report.checks, 'target.roundtrip').data?.latencyMs as Record<string, number>
    expect(Object.keys(latency)).toEqual(['qos0', 'qos1', 'qos2'])
    for (const v of Object.values(latency)) expect(v).toBeGreaterThan(0)
    expect(byId(report.checks, 'target.mqtt5').data).toMatchObject({maximumQoS: 2, sharedSubscribe: 'granted', wildcardSubscribe: 'granted'})
  })

  it('diagnoses a wrong password as rejected credentials, for MQTT 5 and 3.1.1', async (ctx) => {
    if (!needMosquitto(ctx)) return
    for (const protocolVersion of [5, 4] as const) {
      const report = await doctor__run(checks__select(['target']), options([], {local: false, target: target(locked, {username: 'alice', password: 'wrong', protocolVersion}, true)}))
      const r = byId(report.checks, 'target.connect')
      expect(r.status).toBe('fail')
      expect(r.data).toMatchObject({diagnosis: 'bad-credentials', reasonCode: protocolVersion === 5 ? 0x87 : 5})
      expect(r.detail).toContain('did not accept user "alice" with this password')
      expect(r.fix?.some((f) => f.includes('mosquitto_passwd'))).toBe(true)
      expect(byId(report.checks, 'target.roundtrip').status).toBe('skip')
    }
  })

  it('tells anonymous clients that the broker wants credentials, and accepts the right password', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const anon = await doctor__run(checks__select(['target']), options([], {local: false, target: target(locked)}))
    expect(byId(anon.checks, 'target.connect').data?.diagnosis).toBe('anonymous-refused')
    expect(byId(anon.checks, 'target.connect').fix?.[0]).toBe('pass a user name and password: -u USER -P PASSWORD')
    const good = await doctor__run(checks__select(['target.connect']), options([], {local: false, target: target(locked, {username: 'alice', password: 's3cret'})}))
    expect(byId(good.checks, 'target.connect').status).toBe('ok')
  })

  it('tells a WebSocket client pointed at a plain MQTT port to use mqtt://', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const t = target(open)
    const ws: DoctorTarget = {...t, protocol: 'ws', path: '/mqtt', display: `ws://127.0.0.1:${open}/mqtt`, clientOptions: {...t.clientOptions, protocol: 'ws', path: '/mqtt'}}
    const report = await doctor__run(checks__select(['target']), options([], {local: false, target: ws}))
    const r = byId(report.checks, 'target.connect')
    expect(r.status).toBe('fail')
    expect(r.detail).toBe(`port ${open} speaks plain MQTT over TCP, but the client used MQTT over WebSocket`)
    expect(r.fix).toEqual([`connect with --url mqtt://127.0.0.1:${open}`])
  })

  it('blames the ACL when the round trip is denied, and passes with an allowed --test-topic', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const alice = target(locked, {username: 'alice', password: 's3cret'})
    const denied = await doctor__run(checks__select(['target']), options([], {local: false, target: alice}))
    const r = byId(denied.checks, 'target.roundtrip')
    expect(r.status).toBe('fail')
    expect(r.detail).toMatch(/QoS 0: (subscribe refused \(not authorized\)|the message did not come back)/)
    expect(r.fix?.[0]).toContain('allow this user to publish and subscribe on mqttkit/doctor/#')
    const allowed = await doctor__run(checks__select(['target']), options([], {local: false, target: alice, testTopic: 'allowed/doctor'}))
    expect(allowed.checks.filter((c) => c.id !== 'target.mqtt5').map((c) => [c.id, c.status])).toEqual([
      ['target.dns', 'ok'],
      ['target.tcp', 'ok'],
      ['target.connect', 'ok'],
      ['target.roundtrip', 'ok'],
      ['target.retained', 'ok'],
      ['target.bridges', 'skip'],
    ])
  })

  it('says a port that accepts TCP but never answers is not an MQTT broker', async () => {
    const {port} = await holdPort()
    const report = await doctor__run(checks__select(['target']), options([], {local: false, target: target(port)}))
    const r = byId(report.checks, 'target.connect')
    expect(r.status).toBe('fail')
    expect(r.detail).toBe(`mqtt://127.0.0.1:${port} accepted TCP but sent no CONNACK (no answer): it is not an MQTT broker, or not on this protocol`)
  })

  it('fails DNS for a name that cannot exist, and skips every later step', async () => {
    const t = {...target(1883), host: 'no-such-broker.invalid', display: 'mqtt://no-such-broker.invalid:1883'}
    const report = await doctor__run(checks__select(['target']), options([], {local: false, target: t}))
    const dns = byId(report.checks, 'target.dns')
    expect(dns.status).toBe('fail')
    // ENOTFOUND with a working resolver; without network the resolver itself may fail (EAI_AGAIN).
    expect(dns.detail).toMatch(/"no-such-broker\.invalid" does not exist in DNS \(ENOTFOUND\)|resolving "no-such-broker\.invalid" failed/)
    expect(report.checks.filter((c) => c.id !== 'target.dns').every((c) => c.status === 'skip')).toBe(true)
  })

  it('explains "connection refused" on a port nobody listens on', async (ctx) => {
    if (!needMosquitto(ctx)) return
    const port = await freePort()
    const report = await doctor__run(checks__select(['target']), options([], {local: false, target: target(port)}))
    const r = byId(report.checks, 'target.tcp')
    expect(r.status).toBe('fail')
    expect(r.detail).toBe(`connection refused: nothing listens on 127.0.0.1:${port}`)
    expect(r.fix?.[0]).toContain(`mqttkit broker --mqtt-port ${port}`)
    expect(byId(report.checks, 'target.connect').status).toBe('skip')
  })
})
