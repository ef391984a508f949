/**
 * `mqttkit bench …` as users run it (the built binary): --json schema, the human summary, exit codes, the HTML
 * report, the local broker when none is named, --compare against mqttkit and mosquitto, Ctrl-C.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {MOSQUITTO, type Running, freePort, startMosquitto, startMqttkit} from './brokers.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')
let broker: Running
let mosquitto: Running | null = null
const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bench-cli-'))

beforeAll(async () => {
  broker = await startMqttkit()
})
afterAll(async () => {
  await broker?.stop()
  await mosquitto?.stop()
  rmSync(dir, {recursive: true, force: true})
})

function mqttkit(args: string[], opts: {sigintWhen?: Promise<unknown>} = {}): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {env: {...process.env, FORCE_COLOR: '0'}})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000)
    void opts.sigintWhen?.then(() => child.kill('SIGINT'))
    child.on('close', (code) => {
      clearTimeout(killer)
      resolve({code, stdout, stderr})
    })
  })
}

const latencyKeys = ['count', 'min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max']

describe('mqttkit bench (CLI)', () => {
  it('bench run --json: the documented schema, figures consistent with each other', async () => {
    const {code, stdout} = await mqttkit(['bench', 'run', '-h', '127.0.0.1', '-p', String(broker.port), '--publishers', '3', '-n', '200', '--json'])
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    for (const key of ['scenario', 'target', 'startedAt', 'elapsedSec', 'stoppedBy', 'workers', 'config', 'connections', 'published',
      'publishedPerSec', 'acked', 'received', 'delivered', 'deliveredPerSec', 'expected', 'lost', 'duplicates', 'outOfOrder',
      'foreign', 'latency', 'ackLatency', 'timeline', 'latencyDistribution', 'publishersLosing'])
      expect(r).toHaveProperty(key)
    expect(Object.keys(r.latency).sort()).toEqual([...latencyKeys].sort())
    for (const k of latencyKeys) expect(typeof r.latency[k]).toBe('number')
    expect(r).toMatchObject({scenario: 'run', stoppedBy: 'count', published: 600, delivered: 600, expected: 600, lost: 0, duplicates: 0, outOfOrder: 0})
    expect(r.deliveredPerSec).toBeGreaterThan(0)
    expect(r.connections).toMatchObject({attempted: 4, connected: 4, failed: 0, failures: {}})
  })

  it('bench pub: human summary on stdout, no progress noise when not a terminal', async () => {
    const {code, stdout, stderr} = await mqttkit(['bench', 'pub', '-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-n', '300'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/bench pub/)
    expect(stdout).toMatch(/published\s+300/)
    expect(stdout).toMatch(/PUBACK after\s+p50/)
    // No status line when stderr is not a terminal (other output there, such as Node warnings, is not ours).
    expect(stderr).not.toMatch(/connecting…|running|\r/)
  })

  it('with no broker named it starts an mqttkit broker of its own, and --output writes the HTML report', async () => {
    const out = join(dir, 'report.html')
    const {code, stdout} = await mqttkit(['bench', 'run', '-n', '100', '--json', '-o', out])
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    expect(r.target).toMatch(/^mqttkit \(mqtt:\/\/127\.0\.0\.1:\d+\)$/)
    expect(r.delivered).toBe(100)
    const html = readFileSync(out, 'utf8')
    expect(html).toContain('<svg')
    expect(html).not.toMatch(/<script/i)
  })

  it('--compare mqttkit and mosquitto: each metric with its ratio to the first broker', async (ctx) => {
    requireProgram(ctx, MOSQUITTO, 'mosquitto')
    mosquitto ??= await startMosquitto()
    const {code, stdout} = await mqttkit([
      'bench', 'run', '-n', '200', '--publishers', '2', '--rounds', '2', '--json',
      '--compare', `mqtt://127.0.0.1:${broker.port}`, `mqtt://127.0.0.1:${mosquitto.port}`,
    ])
    expect(code).toBe(0)
    const {compare} = JSON.parse(stdout)
    expect(compare.brokers).toHaveLength(2)
    expect(compare.rounds).toBe(2)
    expect(compare.runs.map((rs: unknown[]) => rs.length)).toEqual([2, 2])
    for (const rs of compare.runs) for (const r of rs) expect(r.delivered).toBe(400)
    const delivered = compare.metrics.find((m: {name: string}) => m.name === 'deliveredPerSec')
    expect(delivered.values[0].ratio).toBe(1)
    expect(delivered.values[1].ratio).toBeGreaterThan(0)
    const text = await mqttkit(['bench', 'pub', '-n', '50', '--rounds', '1', '--compare', 'mqttkit', `mqtt://127.0.0.1:${mosquitto.port}`])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/publishedPerSec.*\d+\.\d\d×/)
  })

  it('without -V, a broker that refuses MQTT 5 is tried again with 3.1.1 (as pub and sub do)', async () => {
    // A gate in front of the broker answering MQTT 5 CONNECTs with 0x84 (unsupported protocol version).
    const gate = net.createServer((client) => {
      client.once('data', (first: Buffer) => {
        let i = 1
        while (first[i]! & 0x80) i++
        if (first[i + 7] === 5) return client.end(Buffer.from([0x20, 3, 0, 0x84, 0]))
        const upstream = net.connect(broker.port, '127.0.0.1', () => upstream.write(first))
        client.pipe(upstream).pipe(client)
        client.on('error', () => upstream.destroy())
        upstream.on('error', () => client.destroy())
      })
    })
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r))
    try {
      const port = (gate.address() as net.AddressInfo).port
      const {code, stdout} = await mqttkit(['bench', 'pub', '-h', '127.0.0.1', '-p', String(port), '-n', '20', '--json'])
      expect(code).toBe(0)
      expect(JSON.parse(stdout)).toMatchObject({published: 20, connections: {connected: 1, failed: 0}})
      const pinned = await mqttkit(['bench', 'pub', '-h', '127.0.0.1', '-p', String(port), '-n', '20', '-V', '5'])
      expect(pinned.code).toBe(3)
      expect(pinned.stdout).toMatch(/CONNACK unsupported protocol version \(0x84\) ×1/)
    } finally {
      gate.close()
    }
  })

  it('bench conn against nothing: failures by reason and exit code 2', async () => {
    const port = await freePort()
    const {code, stdout} = await mqttkit(['bench', 'conn', '-h', '127.0.0.1', '-p', String(port), '-C', '4'])
    expect(code).toBe(2)
    expect(stdout).toMatch(/failures\s+ECONNREFUSED ×4/)
  })

  it('bad input: a clear one-line error and exit code 1', async () => {
    const small = await mqttkit(['bench', 'run', '-h', '127.0.0.1', '-p', String(broker.port), '--size', '8'])
    expect({code: small.code, stderr: small.stderr}).toMatchObject({code: 1, stderr: expect.stringMatching(/--size >= 24/)})
    const rate = await mqttkit(['bench', 'pub', '-h', '127.0.0.1', '-p', String(broker.port), '--rate', 'fast'])
    expect({code: rate.code, stderr: rate.stderr}).toMatchObject({code: 1, stderr: expect.stringMatching(/--rate must be a number/)})
  })

  it('Ctrl-C prints the partial summary and exits 130', async () => {
    // Interrupt once the run is under way: its clients are connected to the test's broker, plus a second of traffic.
    const connected = new Promise((resolve) => broker.broker!.once('clientConnected', resolve)).then(() => new Promise((r) => setTimeout(r, 1000)))
    const {code, stdout} = await mqttkit(['bench', 'run', '-h', '127.0.0.1', '-p', String(broker.port), '-d', '20', '-r', '100'], {sigintWhen: connected})
    expect(code).toBe(130)
    expect(stdout).toMatch(/\(interrupt\)/)
    expect(stdout).toMatch(/delivered\s+\d+/)
  })
})
