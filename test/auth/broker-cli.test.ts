/**
 * The security flags of `mqttkit broker` through the built binary (`npm run build` first): --password-file,
 * --acl-file, --allow-anonymous false, the rate limits, SIGHUP re-reading the files, and clear start-up errors.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {IClientOptions, MqttClient} from 'mqtt'
import mqttPacket from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {requireProgram} from '../helpers/system.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')
const BASE = ['broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', '0', '--no-ws', '--no-web', '--store', 'memory']
let dir: string
let passwd: string
let acl: string
const children = new Set<ChildProcess>()

function run(file: string, args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(file, args, {timeout: 20_000, encoding: 'utf8', env: {...process.env, FORCE_COLOR: '0'}}, (error, stdout, stderr) =>
      resolve({code: error ? Number(error.code ?? -1) : 0, stdout, stderr}),
    )
  })
}

/** Starts the broker CLI; resolves with its port once the banner says it listens. */
function startBroker(args: string[]): Promise<{port: number; child: ChildProcess; output: () => string}> {
  const child = spawn('node', [BIN, ...BASE, ...args], {env: {...process.env, FORCE_COLOR: '0'}})
  children.add(child)
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${output}`)), 20_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({port: Number(match[1]), child, output: () => output})
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', () => reject(new Error(`broker exited: ${output}`)))
  })
}

function connect(port: number, options: IClientOptions): Promise<MqttClient> {
  return mqttjs__connect(port, {connectTimeout: 10_000, ...options})
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-broker-cli-'))
  passwd = join(dir, 'passwd')
  acl = join(dir, 'acl')
  expect((await run('node', [BIN, 'passwd', '-c', passwd, 'alice', '--password', 'alice-pw'])).code).toBe(0)
  await writeFile(acl, 'user alice\ntopic readwrite alice/#\nuser carol\ntopic readwrite carol/#\n')
})

afterEach(async () => {
  await mqttjs__cleanup()
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})

afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

// Each case starts the broker CLI: allow for a busy machine (about 10 s in all on an idle one).
describe('mqttkit broker security flags', {timeout: 60_000}, () => {
  it('--password-file, --acl-file and --allow-anonymous false: users in, strangers out; SIGHUP adds a user', async (ctx) => {
    const {port, child, output} = await startBroker(['--password-file', passwd, '--acl-file', acl, '--allow-anonymous', 'false'])
    while (!output().includes('ACL rules from')) await new Promise((r) => setTimeout(r, 20))
    expect(output()).toContain('1 user from')
    expect(output()).toContain('2 ACL rules from')
    if (requireProgram(ctx, '/usr/bin/mosquitto_pub', 'mosquitto-clients')) {
      const pub = (user: string, password: string, topic: string) =>
        run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-u', user, '-P', password, '-q', '1', '-t', topic, '-m', 'x'])
      expect((await pub('alice', 'alice-pw', 'alice/x')).code).toBe(0)
      expect((await pub('alice', 'wrong', 'alice/x')).code).not.toBe(0)
    }
    const v5 = await connect(port, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    const code = await v5.publishAsync('carol/x', 'not hers', {qos: 1}).then(
      () => 0,
      (e: Error & {code?: number}) => e.code,
    )
    expect(code).toBe(0x87)

    // A new user, then SIGHUP: the running broker lets carol in.
    await expect(connect(port, {protocolVersion: 5, username: 'carol', password: 'carol-pw'})).rejects.toMatchObject({code: 0x86})
    expect((await run('node', [BIN, 'passwd', passwd, 'carol', '--password', 'carol-pw'])).code).toBe(0)
    child.kill('SIGHUP')
    const deadline = Date.now() + 10_000
    while (!output().includes('reloaded 2 user(s)') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const carol = await connect(port, {protocolVersion: 5, username: 'carol', password: 'carol-pw'})
    await carol.publishAsync('carol/x', 'hers', {qos: 1})
  })

  it('--max-publish-rate disconnects a flooding MQTT 5 client with 0x96', async () => {
    const {port} = await startBroker(['--max-publish-rate', '5', '--allow-anonymous', 'false', '--password-file', passwd])
    const client = await connect(port, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    const reason = new Promise<number | undefined>((resolve) => client.on('disconnect', (packet) => resolve(packet.reasonCode)))
    for (let i = 0; i < 20; i++) client.publish('alice/flood', 'x', {qos: 0})
    expect(await reason).toBe(0x96)
  })

  it('--max-connection-rate closes connections over the rate before CONNECT', async () => {
    const {port} = await startBroker(['--max-connection-rate', '2', '--allow-anonymous', 'true', '--max-publish-bytes-rate', '100000'])
    const attempt = () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1')
        let connack = false
        socket.on('data', () => {
          connack = true
          socket.end()
        })
        socket.on('error', () => {})
        socket.on('close', () => resolve(connack))
        socket.write(mqttPacket.generate({cmd: 'connect', clientId: `rate-${Math.random()}`, protocolVersion: 4}))
      })
    const started = performance.now()
    const results = await Promise.all(Array.from({length: 8}, attempt))
    // Burst 2, plus 2 per second refilled while the attempts were under way (a slow machine).
    const accepted = results.filter(Boolean).length
    expect(accepted).toBeGreaterThanOrEqual(2)
    expect(accepted).toBeLessThanOrEqual(2 + Math.floor(((performance.now() - started) / 1000) * 2))
    expect(accepted).toBeLessThan(8)
  })

  it('takes the security settings from a --config file under the flag names', async () => {
    const config = join(dir, 'broker.yaml')
    await writeFile(config, `password-file: ${passwd}\nacl-file: ${acl}\nallow-anonymous: false\nmax-publish-rate: 5\n`)
    const {port, output} = await startBroker(['--config', config])
    while (!output().includes('ACL rules from')) await new Promise((r) => setTimeout(r, 20))
    expect(output()).toContain(`from ${passwd}`)
    await expect(connect(port, {protocolVersion: 5})).rejects.toMatchObject({code: 0x86})
    const client = await connect(port, {protocolVersion: 5, username: 'alice', password: 'alice-pw'})
    const reason = new Promise<number | undefined>((resolve) => client.on('disconnect', (packet) => resolve(packet.reasonCode)))
    for (let i = 0; i < 20; i++) client.publish('alice/flood', 'x', {qos: 0})
    expect(await reason).toBe(0x96)
  })

  it('refuses to start on a missing or malformed file, naming the file and line (exit 1)', async () => {
    const missing = await run('node', [BIN, ...BASE, '--password-file', join(dir, 'nope')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot read password file')
    const badAcl = join(dir, 'bad-acl')
    await writeFile(badAcl, 'user a\ntopic read a/#/b\n')
    const malformed = await run('node', [BIN, ...BASE, '--acl-file', badAcl])
    expect(malformed.code).toBe(1)
    // oclif wraps long errors over lines starting with "›".
    expect(malformed.stderr.replace(/\s*\n\s*›\s*/g, ' ')).toMatch(/bad-acl line 2: "#" must be a whole level/)
  })
})
