/**
 * Users and ACLs end to end: a Broker in this process with a password file (made by `mqttkit passwd` on top of a
 * mosquitto_passwd file) and a mosquitto-format ACL file, driven by mosquitto_pub/sub, Python paho and mqtt.js at
 * MQTT 3.1.1 and 5. Needs `npm run build` (the passwd command runs from dist/).
 */
import {execFile, execFileSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {IClientOptions, MqttClient} from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {auth__load} from '../../src/broker/auth/hooks.js'
import {Broker} from '../../src/broker/broker.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {requireProgram, requirePythonModule} from '../helpers/system.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')
const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub'
const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub'
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'
const PYTHON = '/usr/bin/python3'
const DELAY_MS = 300

const ACL = `# mosquitto acl_file syntax
# no anonymous rules: anonymous clients are refused at CONNECT anyway

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read public/#

user bob
topic read #
topic deny secret/#

user admin
topic readwrite #

user legacy
topic readwrite legacy/#

pattern readwrite clients/%c/#
`

let dir: string
let broker: Broker
let port: number

function run(file: string, args: string[], timeout = 15_000): Promise<{code: number; stdout: string; stderr: string}> {
  // Asynchronous on purpose: the broker runs in this process and must keep serving while the client runs.
  return new Promise((resolve) => {
    execFile(file, args, {timeout, encoding: 'utf8'}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

function connect(options: IClientOptions): Promise<MqttClient> {
  return mqttjs__connect(port, {connectTimeout: 10_000, ...options})
}

/** Resolves with the refusal error (code = CONNACK reason/return code) and how long the refusal took. */
async function refused(options: IClientOptions): Promise<{code: number; ms: number}> {
  const start = performance.now()
  const error = await connect(options).then(
    () => {
      throw new Error('connection was accepted')
    },
    (e: Error & {code?: number}) => e,
  )
  return {code: error.code ?? -1, ms: performance.now() - start}
}

function collect(client: MqttClient): Array<{topic: string; payload: string; retain: boolean}> {
  const got: Array<{topic: string; payload: string; retain: boolean}> = []
  client.on('message', (topic, payload, packet) => got.push({topic, payload: payload.toString(), retain: packet.retain}))
  return got
}

async function until(what: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-auth-'))
  const passwords = join(dir, 'passwd')
  // A mosquitto_passwd file ($7$ hashes) when mosquitto is installed, extended with scrypt users by `mqttkit passwd`.
  let legacy = false
  try {
    execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', passwords, 'legacy', 'legacy-pw'])
    legacy = true
  } catch {
    await writeFile(passwords, '', {mode: 0o600})
  }
  for (const [user, password] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['admin', 'admin-pw']]) {
    execFileSync('node', [BIN, 'passwd', passwords, user!, '--password', password!])
  }
  const acl = join(dir, 'acl')
  await writeFile(acl, ACL)
  const hooks = await auth__load({passwordFile: passwords, aclFile: acl, allowAnonymous: false, failedLoginDelayMs: DELAY_MS})
  broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], hooks, logLevel: 'silent'})
  await broker.listen()
  port = broker.listeners[0]!.address.port
  if (!legacy) console.warn('mosquitto_passwd missing: the $7$ user is not in the file')
}, 60_000)

afterEach(async () => {
  await mqttjs__cleanup()
})

afterAll(async () => {
  await broker?.close()
  await rm(dir, {recursive: true, force: true})
})

describe('authentication', () => {
  it('mosquitto_pub: good credentials publish, bad and unknown ones are refused alike (3.1.1 and 5)', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO_PUB, 'mosquitto-clients')) return
    const bob = await connect({clientId: 'bob-watch', username: 'bob', password: 'bob-pw', protocolVersion: 5})
    const got = collect(bob)
    await bob.subscribeAsync('alice/#', {qos: 1})
    for (const version of ['mqttv311', 'mqttv5']) {
      const ok = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-u', 'alice', '-P', 'alice-pw', '-q', '1', '-t', 'alice/hello', '-m', version])
      expect(ok.code, ok.stderr).toBe(0)
      const wrong = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-u', 'alice', '-P', 'nope', '-t', 'alice/hello', '-m', 'x'])
      const unknown = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-u', 'mallory', '-P', 'nope', '-t', 'alice/hello', '-m', 'x'])
      const anonymous = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-t', 'alice/hello', '-m', 'x'])
      for (const r of [wrong, unknown, anonymous]) expect(r.code).not.toBe(0)
      // Same words whether the user exists or not.
      expect(wrong.stderr).toBe(unknown.stderr)
      expect(wrong.stderr).toMatch(version === 'mqttv5' ? /bad user ?name or password/i : /not authori[sz]ed/i)
    }
    await until(() => got.length === 2)
    expect(got.map((m) => m.payload)).toEqual(['mqttv311', 'mqttv5'])
  })

  it('paho: good credentials connect, bad ones get 0x86 (MQTT 5) and return code 5 (3.1.1)', async (ctx) => {
    if (!requireProgram(ctx, PYTHON, 'python3') || !requirePythonModule(ctx, 'paho.mqtt.client', 'python3-paho-mqtt')) return
    const script = `
import sys, threading
import paho.mqtt.client as mqtt
port = int(sys.argv[1])
for version in (mqtt.MQTTv311, mqtt.MQTTv5):
    for user, password in (("bob", "bob-pw"), ("bob", "wrong"), ("nobody", "bob-pw")):
        done = threading.Event()
        result = {}
        c = mqtt.Client(client_id="paho-%s-%s" % (user, version), protocol=version)
        c.username_pw_set(user, password)
        def on_connect(client, userdata, flags, rc, properties=None):
            result["rc"] = getattr(rc, "value", rc)
            done.set()
        c.on_connect = on_connect
        c.connect("127.0.0.1", port, 30)
        c.loop_start()
        done.wait(10)
        c.loop_stop()
        c.disconnect()
        print("%s %s %s" % (version, user, result.get("rc")))
`
    const r = await run(PYTHON, ['-c', script, String(port)], 30_000)
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toEqual(['4 bob 0', '4 bob 5', '4 nobody 5', '5 bob 0', '5 bob 134', '5 nobody 134'])
  })

  it(`mqtt.js: a refused login is answered only after the failed-login delay (${DELAY_MS} ms)`, async () => {
    const v5 = await refused({protocolVersion: 5, username: 'alice', password: 'wrong'})
    expect(v5.code).toBe(0x86)
    expect(v5.ms).toBeGreaterThanOrEqual(DELAY_MS - 5)
    const v4 = await refused({protocolVersion: 4, username: 'nobody', password: 'x'})
    expect(v4.code).toBe(5)
    expect(v4.ms).toBeGreaterThanOrEqual(DELAY_MS - 5)
    const anonymous = await refused({protocolVersion: 5})
    expect(anonymous.code).toBe(0x86)
    await connect({protocolVersion: 5, username: 'alice', password: 'alice-pw'})
  })

  it('accepts a user hashed by mosquitto_passwd ($7$) next to scrypt users', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO_PASSWD, 'mosquitto')) return
    await connect({protocolVersion: 4, username: 'legacy', password: 'legacy-pw'})
    expect((await refused({protocolVersion: 4, username: 'legacy', password: 'alice-pw'})).code).toBe(5)
  })
})

describe('ACL', () => {
  it('MQTT 5: a denied PUBLISH gets PUBACK 0x87 and reaches nobody', async () => {
    const bob = await connect({protocolVersion: 5, clientId: 'bob-acl5', username: 'bob', password: 'bob-pw'})
    const got = collect(bob)
    await bob.subscribeAsync('#', {qos: 1})
    const alice = await connect({protocolVersion: 5, clientId: 'alice-acl5', username: 'alice', password: 'alice-pw'})
    const denied = await alice.publishAsync('bob/inbox', 'denied', {qos: 1}).then(
      () => null,
      (e: Error & {code?: number}) => e.code,
    )
    expect(denied).toBe(0x87)
    const secret = await alice.publishAsync('alice/secret/diary', 'denied too', {qos: 1}).then(
      () => null,
      (e: Error & {code?: number}) => e.code,
    )
    expect(secret).toBe(0x87)
    await alice.publishAsync('alice/ok', 'allowed', {qos: 1})
    // Messages from one publisher arrive in order [MQTT-4.6.0-6]: once "allowed" is in, the denied ones never come.
    await until(() => got.length >= 1)
    expect(got.map((m) => m.payload)).toEqual(['allowed'])
  })

  it('MQTT 3.1.1: a denied PUBLISH is acknowledged and dropped silently [MQTT-3.3.5-2]', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO_PUB, 'mosquitto-clients')) return
    const bob = await connect({protocolVersion: 4, clientId: 'bob-acl4', username: 'bob', password: 'bob-pw'})
    const got = collect(bob)
    await bob.subscribeAsync('#', {qos: 1})
    const alice = await connect({protocolVersion: 4, clientId: 'alice-acl4', username: 'alice', password: 'alice-pw'})
    await alice.publishAsync('bob/inbox', 'denied', {qos: 1})
    await alice.publishAsync('alice/ok', 'allowed', {qos: 1})
    // mosquitto_pub too: QoS 1 to a denied topic still exits 0 at 3.1.1.
    const r = await run(MOSQUITTO_PUB, ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', 'alice', '-P', 'alice-pw', '-q', '1', '-t', 'bob/x', '-m', 'denied-mosq'])
    expect(r.code).toBe(0)
    await alice.publishAsync('alice/ok', 'allowed again', {qos: 1})
    await until(() => got.length >= 2)
    expect(got.map((m) => m.payload)).toEqual(['allowed', 'allowed again'])
  })

  it('mosquitto_sub is told its subscription was denied, at 3.1.1 and 5', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO_SUB, 'mosquitto-clients')) return
    for (const version of ['mqttv311', 'mqttv5']) {
      const sub = await run(MOSQUITTO_SUB, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-u', 'alice', '-P', 'alice-pw', '-t', 'bob/#', '-W', '5'])
      expect(sub.stderr).toContain('All subscription requests were denied')
    }
  })

  it('refuses subscriptions outside the read rules: SUBACK 0x87 (MQTT 5) and 0x80 (3.1.1)', async () => {
    for (const protocolVersion of [5, 4] as const) {
      const alice = await connect({protocolVersion, clientId: `alice-sub${protocolVersion}`, username: 'alice', password: 'alice-pw'})
      // The SUBACK itself: mqtt.js turns a refusal into an error and hides the codes.
      const suback = new Promise<number[]>((resolve) => {
        alice.on('packetreceive', (packet) => {
          if (packet.cmd === 'suback') resolve(packet.granted as number[])
        })
      })
      alice.subscribe({'alice/#': {qos: 1}, 'bob/#': {qos: 1}, 'public/#': {qos: 0}, 'alice/secret/#': {qos: 0}, '#': {qos: 0}}, () => {})
      const no = protocolVersion === 5 ? 0x87 : 0x80
      expect(await suback).toEqual([1, no, 0, no, no])
    }
  })

  it('filters retained messages and live deliveries by read permission', async (ctx) => {
    const admin = await connect({protocolVersion: 5, clientId: 'admin', username: 'admin', password: 'admin-pw'})
    await admin.publishAsync('public/news', 'news', {qos: 1, retain: true})
    await admin.publishAsync('secret/plans', 'plans', {qos: 1, retain: true})
    // bob may subscribe to # (read #) but never sees secret/ (deny secret/#), retained or live.
    const bob = await connect({protocolVersion: 4, clientId: 'bob-retained', username: 'bob', password: 'bob-pw'})
    const got = collect(bob)
    await bob.subscribeAsync('#', {qos: 1})
    await admin.publishAsync('secret/live', 'live secret', {qos: 1})
    await admin.publishAsync('public/live', 'live news', {qos: 1})
    await until(() => got.some((m) => m.payload === 'live news'))
    expect(got.map((m) => [m.topic, m.retain])).toEqual([
      ['public/news', true],
      ['public/live', false],
    ])
    if (!requireProgram(ctx, MOSQUITTO_SUB, 'mosquitto-clients')) return
    const sub = await run(MOSQUITTO_SUB, ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-u', 'bob', '-P', 'bob-pw', '-t', '#', '-v', '--retained-only', '-W', '2'])
    expect(sub.stdout).toContain('public/news news')
    expect(sub.stdout).not.toContain('plans')
    await admin.publishAsync('public/news', '', {qos: 1, retain: true})
    await admin.publishAsync('secret/plans', '', {qos: 1, retain: true})
  })

  it('checks the will topic at CONNECT like a PUBLISH: refused 0x87 (MQTT 5) / 5 (3.1.1), and never published', async () => {
    const bob = await connect({protocolVersion: 5, clientId: 'bob-wills', username: 'bob', password: 'bob-pw'})
    const got = collect(bob)
    await bob.subscribeAsync('#', {qos: 1})
    const will = {topic: 'bob/inbox', payload: Buffer.from('forged will'), qos: 1 as const, retain: false}
    expect((await refused({protocolVersion: 5, clientId: 'alice-will5', username: 'alice', password: 'alice-pw', will})).code).toBe(0x87)
    expect((await refused({protocolVersion: 4, clientId: 'alice-will4', username: 'alice', password: 'alice-pw', will})).code).toBe(5)
    // An allowed will is accepted and published when the connection is lost.
    const alice = await connect({
      protocolVersion: 4,
      clientId: 'alice-will-ok',
      username: 'alice',
      password: 'alice-pw',
      will: {topic: 'alice/status', payload: Buffer.from('alice gone'), qos: 1, retain: false},
    })
    alice.stream.destroy()
    await until(() => got.length >= 1)
    expect(got.map((m) => m.payload)).toEqual(['alice gone'])
  })

  it('substitutes the client id in patterns (%c)', async () => {
    const device = await connect({protocolVersion: 5, clientId: 'dev-1', username: 'bob', password: 'bob-pw'})
    await device.publishAsync('clients/dev-1/status', 'up', {qos: 1})
    const other = await device.publishAsync('clients/dev-2/status', 'spoofed', {qos: 1}).then(
      () => null,
      (e: Error & {code?: number}) => e.code,
    )
    expect(other).toBe(0x87)
  })
})
