// `mqttkit doctor` as a user runs it: the built binary, its --json document, human output and exit codes.
// Build first (npm test does): these run dist/ through bin/run.js.
import {execFile} from 'node:child_process'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {requireProgram} from '../helpers/system.js'
import {freePort, holdPort, killChildren, MOSQUITTO, startMosquitto} from './helpers.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')

function doctor(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'doctor', ...args], {timeout: 25_000, env: {...process.env, FORCE_COLOR: '0'}}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

const STATUSES = ['ok', 'warn', 'fail', 'skip']

/** The --json contract scripts rely on (docs/doctor.md, "JSON output"). */
function expectSchema(doc: Record<string, unknown>): void {
  expect(doc.schema).toBe('mqttkit.doctor/1')
  expect(['linux', 'darwin', 'win32', 'other']).toContain(doc.platform)
  expect(doc.node).toBe(process.versions.node)
  expect([0, 1, 2]).toContain(doc.exitCode)
  const checks = doc.checks as Record<string, unknown>[]
  expect(Array.isArray(checks)).toBe(true)
  const summary = doc.summary as Record<string, number>
  expect(Object.keys(summary).sort()).toEqual(['fail', 'ok', 'skip', 'warn'])
  for (const s of STATUSES) expect(summary[s]).toBe(checks.filter((c) => c.status === s).length)
  for (const c of checks) {
    expect(typeof c.id).toBe('string')
    expect(typeof c.title).toBe('string')
    expect(STATUSES).toContain(c.status)
    expect(typeof c.detail).toBe('string')
    if (c.fix !== undefined) {
      expect(Array.isArray(c.fix)).toBe(true)
      for (const f of c.fix as unknown[]) expect(typeof f).toBe('string')
    }
    if (c.data !== undefined) expect(typeof c.data).toBe('object')
  }
}

let heldPort: number
let mosquittoPort = 0
let lockedPort = 0
let dir: string

beforeAll(async () => {
  if (!existsSync(BIN.replace('bin/run.js', 'dist/commands/doctor.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  heldPort = (await holdPort()).port
  dir = await mkdtemp(join(tmpdir(), 'doctor-cli-'))
  await chmod(dir, 0o755)
  if (existsSync(MOSQUITTO)) {
    execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', join(dir, 'passwd'), 'alice', 's3cret'])
    const started = await startMosquitto(
      join(dir, 'm.conf'),
      2,
      ([open, locked]) =>
        `per_listener_settings true\nlistener ${open} 127.0.0.1\nallow_anonymous true\nlistener ${locked} 127.0.0.1\nallow_anonymous false\npassword_file ${join(dir, 'passwd')}\n`,
    )
    ;[mosquittoPort, lockedPort] = started.ports
  }
})
afterAll(async () => {
  await killChildren()
  if (dir) await rm(dir, {recursive: true, force: true})
})

// Concurrent: each test spawns its own CLI process and waits mostly on oclif's start-up.
describe.concurrent('mqttkit doctor (CLI)', () => {
  it.skipIf(process.platform !== 'linux')('--json: a held port gives the documented schema, pid and command line, and exit code 2', async () => {
    const {code, stdout, stderr} = await doctor(['--json', '--no-default-ports', '--port', String(heldPort), '--check', 'ports', '--check', 'node', '--timeout', '2'])
    expect(code, `stdout: ${stdout}\nstderr: ${stderr}`).toBe(2)
    // No spinner or other noise outside the JSON document.
    expect(stderr).toBe('')
    const doc = JSON.parse(stdout)
    expectSchema(doc)
    expect(doc.exitCode).toBe(2)
    const port = doc.checks.find((c: {id: string}) => c.id === `port.${heldPort}`)
    expect(port.status).toBe('fail')
    expect(typeof port.data.pid).toBe('number')
    expect(port.data.command).toContain(`createServer().listen(0, '127.0.0.1'`)
  })

  it('exit 0 when every check passes; human output with ✔ and a summary line', async () => {
    const free = await freePort()
    const {code, stdout, stderr} = await doctor(['--no-default-ports', '--port', String(free), '--check', 'ports', '--check', 'node'])
    expect(code).toBe(0)
    expect(stderr).toBe('')
    expect(stdout).toContain(`✔ port ${free} (extra port): free`)
    expect(stdout).toMatch(/✔ Node\.js version: Node\.js /)
    expect(stdout).toContain('✔ 2 ok, 0 warnings, 0 failures')
  })

  it('warnings exit 0, and 1 with --strict; fixes are printed under the warning', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const args = ['--no-default-ports', '--port', String(mosquittoPort), '--check', 'ports']
    const relaxed = await doctor(args)
    expect(relaxed.code).toBe(0)
    expect(relaxed.stdout).toContain(`⚠ port ${mosquittoPort} (extra port): in use by pid`)
    expect(relaxed.stdout).toMatch(/ {4}→ mqttkit broker --mqtt-port \d+/)
    const strict = await doctor([...args, '--strict', '--json'])
    expect(strict.code).toBe(1)
    const doc = JSON.parse(strict.stdout)
    expectSchema(doc)
    expect(doc.exitCode).toBe(1)
  })

  it('tests the broker named by -h/-p/-u/-P (the shared connection flags): a wrong password is diagnosed', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const {code, stdout} = await doctor(['--no-local', '-h', '127.0.0.1', '-p', String(lockedPort), '-u', 'alice', '-P', 'nope', '--json'])
    expect(code).toBe(2)
    const doc = JSON.parse(stdout)
    expectSchema(doc)
    expect(doc.target).toBe(`mqtt://127.0.0.1:${lockedPort}`)
    const connect = doc.checks.find((c: {id: string}) => c.id === 'target.connect')
    expect(connect).toMatchObject({status: 'fail', data: {diagnosis: 'bad-credentials'}})
  })

  it('--url with the right credentials passes every broker check', async (ctx) => {
    if (!requireProgram(ctx, MOSQUITTO, 'mosquitto')) return
    const {code, stdout} = await doctor(['--no-local', '--url', `mqtt://alice:s3cret@127.0.0.1:${lockedPort}`])
    expect(stdout).toContain('✔ MQTT CONNECT as user "alice": accepted (MQTT 5)')
    expect(stdout).toMatch(/✔ publish\/subscribe round trip \(QoS 0, 1, 2\): QoS 0: [\d.]+ ms, QoS 1: [\d.]+ ms, QoS 2: [\d.]+ ms/)
    expect(code).toBe(0)
  })

  it('a bad flag is a usage error (exit 1) with a one-line message', async () => {
    const {code, stderr} = await doctor(['--port', 'nine'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^Error: .*nine/)
  })
})
