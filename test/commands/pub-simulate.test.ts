/**
 * `mqttkit pub --simulate` through the built binary against the mqttkit broker (whose events show the connections)
 * and a real mqtt.js subscriber: one connection per device or one shared, --count and --duration ends, templates
 * on the wire, a `sub --jsonl` recording replayed with its timing, Ctrl-C, and the errors a user can cause.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {brokers__cleanup, brokers__startMqttkit} from '../helpers/brokers.js'
import {cli__cleanup, cli__collect, cli__mqttjs, cli__run, cli__spawn, cli__subscribed, type Received} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(async () => {
  await cli__cleanup()
  await brokers__cleanup()
})

/** A broker plus the client ids of the simulator's connections. */
async function broker(): Promise<{port: string; clientIds: string[]}> {
  const b = await brokers__startMqttkit()
  const clientIds: string[] = []
  // The test's own mqtt.js peers are not the simulator's.
  b.mqttkit!.on('clientConnected', (client: {id: string}) => {
    if (!client.id.startsWith('mqttjs_')) clientIds.push(client.id)
  })
  return {port: String(b.port), clientIds}
}

function byTopic(messages: Received[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const m of messages) (out[m.topic] ??= []).push(m.payload.toString())
  return out
}

describe('pub --simulate', () => {
  it('--clients 3 --rate 20 --duration 1: three connections, 20 messages each, one topic per device, in 1 s [MQTT-3.3.2-1]', async () => {
    const {port, clientIds} = await broker()
    const peer = await cli__mqttjs(Number(port))
    const wait = await cli__collect(peer, 'sim/#', 60, {qos: 0})
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'sine', '-t', 'sim/%i', '--clients', '3', '--rate', '20', '--duration', '1', '-i', 'dev', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.toString())
    expect(summary).toMatchObject({simulate: 'sine', devices: 3, sharedConnection: false, messages: 60, completed: 60, stoppedBy: 'duration'})
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(1000)
    const got = byTopic(await wait())
    expect(Object.keys(got).sort()).toEqual(['sim/1', 'sim/2', 'sim/3'])
    for (const values of Object.values(got)) {
      expect(values).toHaveLength(20)
      for (const v of values) expect(Math.abs(Number(v))).toBeLessThanOrEqual(1)
    }
    // Phase spread: the three devices start a third of a period apart.
    expect(got['sim/1']![0]).toBe('0')
    expect(Number(got['sim/2']![0])).toBeCloseTo(0.866, 3)
    expect(Number(got['sim/3']![0])).toBeCloseTo(-0.866, 3)
    expect(clientIds.sort()).toEqual(['dev-1', 'dev-2', 'dev-3'])
  })

  it('--shared-connection: every device over one connection; --count ends each device after N exact values', async () => {
    const {port, clientIds} = await broker()
    const peer = await cli__mqttjs(Number(port))
    const wait = await cli__collect(peer, 'count/+', 8, {qos: 1})
    const template = '{"v": %v, "id": "%i", "n": %n, "topic": "%t", "ts": %ts}'
    const before = Date.now()
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'counter', '--offset', '10', '--step', '5', '-t', 'count/%i',
      '--clients', '2', '--shared-connection', '--rate', '50', '--count', '4', '-q', '1', '--template', template, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.toString())).toMatchObject({messages: 8, completed: 8, stoppedBy: 'count', sharedConnection: true, qos: 1})
    const got = await wait()
    for (const device of ['1', '2']) {
      const records = got.filter((m) => m.topic === `count/${device}`).map((m) => JSON.parse(m.payload.toString()))
      expect(records.map((x) => x.v)).toEqual([10, 15, 20, 25])
      expect(records.map((x) => x.n)).toEqual([1, 2, 3, 4])
      for (const x of records) {
        expect(x).toMatchObject({id: device, topic: `count/${device}`})
        expect(x.ts).toBeGreaterThanOrEqual(before)
        expect(x.ts).toBeLessThanOrEqual(Date.now())
      }
    }
    expect(clientIds).toHaveLength(1)
  })

  it('replays a sub --jsonl recording with its timing (--speed 2 halves the gaps) and its payloads', async () => {
    const {port} = await broker()
    // Record: sub --jsonl while a peer publishes four messages with known gaps, one of them binary.
    const recorder = await cli__subscribed(['-h', '127.0.0.1', '-p', port, '-t', 'rec/#', '-C', '4', '--jsonl'])
    const source = await cli__mqttjs(Number(port))
    const gaps = [0, 600, 1200, 600]
    const payloads = [Buffer.from('21.5'), Buffer.from([0, 1, 254, 255]), Buffer.from('{"temp":22}'), Buffer.from('x')]
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, gaps[i]))
      await source.publishAsync(`rec/${i}`, payloads[i]!, {qos: 1})
    }
    const recorded = await recorder.exited
    expect(recorded.code).toBe(0)
    const file = join(mkdtempSync(join(tmpdir(), 'mqttkit-replay-')), 'rec.jsonl')
    writeFileSync(file, recorded.stdout)
    const times = recorded.stdout.toString().trim().split('\n').map((l) => Date.parse(JSON.parse(l).time))
    const recordedOffsets = times.map((t) => t - times[0]!)

    const peer = await cli__mqttjs(Number(port))
    const arrivals: number[] = []
    peer.on('message', () => arrivals.push(performance.now()))
    const wait = await cli__collect(peer, 'rec/#', 4, {qos: 1})
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', `replay:${file}`, '--speed', '2', '-q', '1', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.toString())).toMatchObject({simulate: 'replay', messages: 4, stoppedBy: 'end'})
    const got = await wait()
    expect(got.map((m) => m.topic)).toEqual(['rec/0', 'rec/1', 'rec/2', 'rec/3'])
    got.forEach((m, i) => expect(m.payload).toEqual(payloads[i]))
    // Each message at half its recorded offset from the first, within 250 ms (timers and four processes on a
    // machine that may be very busy); the last one clearly nearer half its recorded offset than all of it.
    const replayedOffsets = arrivals.map((t) => t - arrivals[0]!)
    replayedOffsets.forEach((offset, i) =>
      expect(Math.abs(offset - recordedOffsets[i]! / 2), `message ${i}: at ${offset} ms, recorded ${recordedOffsets[i]} ms`).toBeLessThan(250))
    expect(replayedOffsets[3]!).toBeLessThan(recordedOffsets[3]! * 0.75)
  })

  it('Ctrl-C ends an endless simulation with exit 0 and its summary', async () => {
    const {port} = await broker()
    const peer = await cli__mqttjs(Number(port))
    const wait = await cli__collect(peer, 'walk/1', 5, {qos: 0})
    const p = cli__spawn(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'random-walk', '--min', '0', '--max', '1', '--offset', '0.5', '-t', 'walk/%i', '--rate', '50', '--json'])
    const got = await wait()
    for (const m of got) expect(Number(m.payload)).toBeGreaterThanOrEqual(0)
    p.child.kill('SIGINT')
    const r = await p.exited
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.toString())
    expect(summary.stoppedBy).toBe('interrupted')
    expect(summary.messages).toBeGreaterThanOrEqual(5)
  })

  it('a --rate beyond what can be sent still ends on time with its summary (catch-up in slices, no runaway)', async () => {
    const {port} = await broker()
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'counter', '-t', 'flood', '--rate', '1000000', '--duration', '1', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.toString())
    expect(summary.stoppedBy).toBe('duration')
    expect(summary.messages).toBeGreaterThan(0)
    // It could not keep a million a second: the summary says so instead of pretending.
    expect(summary.messages).toBeLessThan(1_000_000)
    expect(summary.maxLagMs).toBeGreaterThan(0)
    expect(summary.elapsedMs).toBeLessThan(5000)
  })

  it('a broker that goes away mid-run ends the simulation with exit 2 and the reason', async () => {
    const b = await brokers__startMqttkit()
    const peer = await cli__mqttjs(b.port)
    const wait = await cli__collect(peer, 'gone/+', 10, {qos: 0})
    const p = cli__spawn(['pub', '-h', '127.0.0.1', '-p', String(b.port), '--simulate', 'sine', '-t', 'gone/%i', '--clients', '2', '--rate', '20'])
    await wait()
    await b.stop()
    const r = await p.exited
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/^Error: connection to mqtt:\/\/127\.0\.0\.1:\d+ lost/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('user mistakes: one line and exit 1; an unreachable broker exits 2', async () => {
    const {port} = await broker()
    const run = (args: string[]) => cli__run(['pub', '-h', '127.0.0.1', '-p', port, ...args])
    const cases: Array<[string[], RegExp]> = [
      [['--simulate', 'cosine', '-t', 'x'], /unknown shape "cosine"/],
      [['--simulate', 'sine'], /missing topic/],
      [['--simulate', 'sine', '-t', 'x', '--template', '%q'], /unknown placeholder "%q"/],
      [['--simulate', 'sine', '-t', 'x', '-m', 'hello'], /cannot also be provided when using --simulate|--message=hello cannot also be provided/],
      [['--rate', '5', '-t', 'x', '-m', '1'], /--simulate/],
      [['--simulate', 'replay:/nonexistent.jsonl'], /cannot read replay file/],
      [['--simulate', 'sine', '-t', 'x', '--duration', 'forever'], /--duration needs a duration/],
      [['--simulate', 'sine', '-t', 'x', '--repeat', '3'], /--repeat cannot be combined with --simulate/],
    ]
    const results = await Promise.all(cases.map(([args]) => run(args)))
    for (const [i, [args, pattern]] of cases.entries()) {
      const r = results[i]!
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toMatch(pattern)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    const closed = await cli__run(['pub', '-h', '127.0.0.1', '-p', '1', '--simulate', 'sine', '-t', 'x', '--count', '1'])
    expect(closed.code).toBe(2)
    expect(closed.stderr).toMatch(/connection refused/)
  })
})
