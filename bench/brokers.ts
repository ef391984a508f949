/**
 * mosquitto, aedes and mqttkit side by side (issue 10's scenarios): each broker is started as its own process on a
 * loopback port, then every scenario runs against each broker in turn, round after round (interleaved, so a machine
 * growing busier hurts all alike), and the medians are printed with their ratio to mosquitto. The load comes from
 * the bench engine (src/bench) in this process; the broker's own CPU and memory are read from /proc.
 *
 *   npx tsx bench/brokers.ts [--rounds 3] [--duration 5] [--idle 19500] [--idle-settle 30] [--queue 1000] [--only fanin-qos0,latency]
 *                            [--mqttkit-node-args=--max-semi-space-size=4] [--brokers mqttkit] [--json out.json]
 *
 * idle-memory reads the broker's RSS twice: 1 s after the last idle client connected ('KiB per connection') and
 * again --idle-settle seconds after (default 30; 'KiB per connection, settled'), once a garbage-collected broker
 * has had the time to give back what the connection burst left committed (V8's memory reducer checks every 8 s
 * and shrinks the young generation once allocation has stayed low: ~24 s after the burst for mqttkit here,
 * docs/benchmarks.md). The healthy client's latency run sits between.
 *
 * --brokers runs only the named brokers (comma-separated, of mosquitto, aedes, mqttkit), e.g. to iterate on one
 * broker's change faster; the ratio columns then show – for a broker left out.
 * --queue sets mosquitto's max_queued_messages and mqttkit's --max-queued (aedes has no limit); the default 1000
 * is both brokers' own default, so QoS 1 end to end also shows each broker's policy when one subscriber is slower
 * than ten publishers (mqttkit's queue budget, docs/broker.md *Queues*). --idle 19500 stays under the 20,000 open
 * files one process may have here (the idle clients come from several 127.0.0.x source addresses,
 * bench/idle-clients.ts). Beyond issue 10's table, 'overload' (publishers in open loop, peak RSS) and 'stalled'
 * (a healthy pair beside a subscriber that stops reading) check its overload paragraph.
 *
 * Needs /usr/sbin/mosquitto and a built dist/ (mqttkit runs as `node bin/run.js broker`).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {connect as tcpConnect, type Socket} from 'node:net'
import mqttPacket from 'mqtt-packet'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {ports__free, ports__waitListening} from './ports.js'
import {parseArgs} from 'node:util'
import {type BenchFlags, bench__spec, bench__target} from '../src/bench/cli.js'
import {compare__median} from '../src/bench/compare.js'
import {bench__run} from '../src/bench/runner.js'
import type {BenchResult, Scenario} from '../src/bench/types.js'
import {idle__open} from './idle-clients.js'

const {values} = parseArgs({
  options: {
    rounds: {type: 'string', default: '3'},
    duration: {type: 'string', default: '5'},
    idle: {type: 'string', default: '19500'},
    'idle-settle': {type: 'string', default: '30'},
    queue: {type: 'string', default: '1000'},
    'mqttkit-node-args': {type: 'string', default: ''},
    only: {type: 'string'},
    brokers: {type: 'string'},
    json: {type: 'string'},
  },
})
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const idle = Number(values.idle)
/** Seconds after the idle clients connected at which RSS is read a second time ('settled'; 0: not read). */
const idleSettle = Number(values['idle-settle'])
const queue = Number(values.queue)
/** Node flags for the mqttkit process, e.g. `--mqttkit-node-args=--max-semi-space-size=4` (docs/benchmarks.md). */
const mqttkitNodeArgs = values['mqttkit-node-args']!.split(' ').filter(Boolean)
const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'mqttkit-brokers-'))

// ---- brokers

interface BrokerProcess {
  name: string
  port: number
  child: ChildProcess
  crashes: number
}

const commands: Record<string, (port: number) => [string, string[]]> = {
  mosquitto: (port) => {
    writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages ${queue}\n`)
    return ['/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')]]
  },
  aedes: (port) => [process.execPath, ['--import', 'tsx', join(root, 'bench/aedes-server.ts'), '--port', String(port)]],
  mqttkit: (port) => [process.execPath, [...mqttkitNodeArgs, join(root, 'bin/run.js'), 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--log-level', 'error', '--max-queued', String(queue), '--data-dir', join(dir, 'mqttkit'), '--no-web']],
}

async function start(name: string, crashes = 0): Promise<BrokerProcess> {
  const port = await ports__free()
  const [cmd, args] = commands[name]!(port)
  // mosquitto logs every connection on stderr; the others report only failures there.
  const child = spawn(cmd, args, {stdio: ['ignore', 'ignore', name === 'mosquitto' ? 'ignore' : 'inherit']})
  try {
    await ports__waitListening(port, 15000)
  } catch (error) {
    child.kill()
    throw error
  }
  return {name, port, child, crashes}
}

/** A broker that died (aedes has, under overload) is counted and restarted for the next run. */
async function alive(b: BrokerProcess): Promise<BrokerProcess> {
  if (b.child.exitCode === null && b.child.signalCode === null) return b
  console.error(`!! ${b.name} exited (${b.child.exitCode ?? b.child.signalCode}); restarting`)
  return start(b.name, b.crashes + 1)
}

async function restart(b: BrokerProcess): Promise<BrokerProcess> {
  if (b.child.exitCode === null && b.child.signalCode === null) {
    const exited = new Promise((r) => b.child.once('exit', r))
    b.child.kill()
    await exited
  }
  const fresh = await start(b.name, b.crashes)
  await new Promise((r) => setTimeout(r, 1000)) // let a Node broker finish starting up (JIT, first GC)
  return fresh
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
}

// ---- scenarios

type Metrics = Record<string, number>
interface ScenarioDef {
  id: string
  title: string
  /** Run against a freshly started broker (memory baselines must not carry what earlier scenarios left). */
  fresh?: boolean
  run(b: BrokerProcess): Promise<Metrics>
}

const flags = (over: Partial<BenchFlags>): BenchFlags =>
  ({workers: 1, 'connect-rate': 0, 'connect-concurrency': 200, rounds: 1, duration, drain: 3000, size: 32, ...over}) as BenchFlags

async function measure(b: BrokerProcess, scenario: Scenario, f: BenchFlags): Promise<{r: BenchResult; cpu: number}> {
  const target = bench__target({host: '127.0.0.1', port: b.port, 'protocol-version': 4, 'id-prefix': `${b.name[0]}${Date.now() % 1e6}-`})
  const cpu0 = cpuSeconds(b.child.pid!)
  const r = await bench__run(bench__spec(scenario, f, target), b.name)
  return {r, cpu: cpuSeconds(b.child.pid!) - cpu0}
}

/** A QoS 1 subscriber that subscribes, then never reads or acknowledges again: it stalls on purpose. */
async function stalledSubscriber(port: number, filter: string): Promise<Socket> {
  const socket = tcpConnect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `stalled-${Date.now() % 1e6}`, clean: true, keepalive: 0}))
  socket.write(mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos: 1}]}))
  // CONNACK (4 bytes) and SUBACK (5 bytes) are all it reads.
  let got = 0
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      got += d.length
      if (got >= 9) {
        socket.off('data', onData)
        socket.pause()
        resolve()
      }
    }
    socket.on('data', onData)
  })
  return socket
}

const perMsg = (cpu: number, n: number): number => (n > 0 ? Math.round((cpu * 1e7) / n) / 10 : Number.NaN)

const SCENARIOS: ScenarioDef[] = [
  {
    id: 'fanin-qos0',
    title: 'fan-in QoS 0: 10 publishers → bench/<i>, 1 subscriber on bench/#',
    async run(b) {
      const {r, cpu} = await measure(b, 'run', flags({publishers: 10, subscribers: 1, topic: 'bench/%i', filter: 'bench/#', qos: 0}))
      return {'delivered msg/s': r.deliveredPerSec, lost: r.lost, 'broker CPU µs/msg': perMsg(cpu, r.delivered), 'bench CPU %': r.generator.cpuPercentPerWorker}
    },
  },
  {
    id: 'fanin-qos1',
    title: 'fan-in QoS 1 publishers (window 64), QoS 0 subscriber',
    async run(b) {
      const {r, cpu} = await measure(b, 'run', flags({publishers: 10, subscribers: 1, topic: 'bench/%i', filter: 'bench/#', qos: 1, inflight: 64, 'sub-qos': 0}))
      return {'delivered msg/s': r.deliveredPerSec, 'published msg/s': r.publishedPerSec, lost: r.lost, 'broker CPU µs/msg': perMsg(cpu, r.published)}
    },
  },
  {
    id: 'fanin-qos1-e2e',
    title: 'fan-in QoS 1 end to end (QoS 1 subscriber)',
    async run(b) {
      const {r} = await measure(b, 'run', flags({publishers: 10, subscribers: 1, topic: 'bench/%i', filter: 'bench/#', qos: 1, inflight: 64, 'sub-qos': 1}))
      return {'delivered msg/s': r.deliveredPerSec, lost: r.lost, duplicates: r.duplicates}
    },
  },
  {
    // Not one of issue 10's reference rows: its overload paragraph ("memory stays bounded and the process never
    // crashes"). Publishers are not held back by the subscriber here, only by what each broker does about it.
    id: 'overload',
    title: 'overload: 10 QoS 1 publishers in open loop (--backlog 0) → 1 QoS 1 subscriber',
    fresh: true,
    async run(b) {
      const pid = b.child.pid!
      let peak = rssKiB(pid)
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, rssKiB(pid))
        } catch {
          // The broker died; alive() counts and restarts it.
        }
      }, 100)
      try {
        const {r} = await measure(b, 'run', flags({publishers: 10, subscribers: 1, topic: 'bench/%i', filter: 'bench/#', qos: 1, inflight: 64, 'sub-qos': 1, backlog: 0}))
        return {'delivered msg/s': r.deliveredPerSec, 'published msg/s': r.publishedPerSec, lost: r.lost, 'peak RSS MiB': Math.round(peak / 102.4) / 10}
      } finally {
        clearInterval(sampler)
      }
    },
  },
  {
    // Not a reference row either: issue 10's "one stalled subscriber may not freeze anyone else". A fixed rate, so
    // the healthy subscriber's latency compares across brokers; 1 KiB payloads fill the stalled socket in a second.
    id: 'stalled',
    title: 'a stalled subscriber: QoS 1 at 5,000 msg/s of 1 KiB, 1 → 1 healthy subscriber, 1 more on bench/# that stops reading',
    fresh: true,
    async run(b) {
      const stalled = await stalledSubscriber(b.port, 'bench/#')
      try {
        const {r} = await measure(b, 'run', flags({publishers: 1, subscribers: 1, topic: 'bench/0', filter: 'bench/#', qos: 1, 'sub-qos': 1, rate: '5000', size: 1024}))
        const l = r.latency
        return {'delivered msg/s': r.deliveredPerSec, lost: r.lost, 'p50 ms': l?.p50 ?? Number.NaN, 'p99 ms': l?.p99 ?? Number.NaN, 'max ms': l?.max ?? Number.NaN}
      } finally {
        stalled.destroy()
      }
    },
  },
  {
    id: 'fanout',
    title: 'fan-out: 1 publisher → 100 subscribers',
    async run(b) {
      const {r, cpu} = await measure(b, 'run', flags({publishers: 1, subscribers: 100, topic: 'bench/0', filter: 'bench/#', qos: 0}))
      return {'deliveries/s': r.deliveredPerSec, lost: r.lost, 'broker CPU µs/delivery': perMsg(cpu, r.delivered), 'bench CPU %': r.generator.cpuPercentPerWorker}
    },
  },
  {
    id: 'latency',
    title: 'latency at 5,000 msg/s, 1 → 1 (QoS 0)',
    async run(b) {
      const {r} = await measure(b, 'run', flags({publishers: 1, subscribers: 1, topic: 'bench/0', filter: 'bench/#', qos: 0, rate: '5000'}))
      return {'p50 ms': r.latency?.p50 ?? Number.NaN, 'p99 ms': r.latency?.p99 ?? Number.NaN, lost: r.lost}
    },
  },
  {
    id: 'idle-memory',
    title: `memory per idle connection (${idle.toLocaleString('en-US')} idle clients) and a healthy client's latency meanwhile`,
    fresh: true,
    async run(b) {
      const pid = b.child.pid!
      const before = rssKiB(pid)
      const conn = await idle__open({port: b.port, count: idle, prefix: `i${Date.now() % 1e6}-`, concurrency: 500})
      const connectedAt = Date.now()
      try {
        await new Promise((r) => setTimeout(r, 1000))
        const held = rssKiB(pid)
        const healthy = await measure(b, 'run', flags({publishers: 1, subscribers: 1, topic: 'healthy/0', filter: 'healthy/#', qos: 0, rate: '1000', duration: 3}))
        if (conn.failed) process.stderr.write(`(failures: ${JSON.stringify(conn.failures)}) `)
        const perConnection = (rss: number): number => Math.round(((rss - before) / Math.max(1, conn.connected)) * 100) / 100
        let settled = Number.NaN
        if (idleSettle > 0) {
          await new Promise((r) => setTimeout(r, Math.max(0, connectedAt + idleSettle * 1000 - Date.now())))
          settled = perConnection(rssKiB(pid))
        }
        return {
          'KiB per connection': perConnection(held),
          'KiB per connection, settled': settled,
          connected: conn.connected,
          failed: conn.failed,
          'healthy p50 ms': healthy.r.latency?.p50 ?? Number.NaN,
          'healthy p99 ms': healthy.r.latency?.p99 ?? Number.NaN,
        }
      } finally {
        conn.close()
      }
    },
  },
]

// ---- main

const chosen = values.only ? SCENARIOS.filter((s) => values.only!.split(',').includes(s.id)) : SCENARIOS
const ALL = ['mosquitto', 'aedes', 'mqttkit']
const names = values.brokers ? ALL.filter((n) => values.brokers!.split(',').includes(n)) : ALL
let brokers = await Promise.all(names.map((n) => start(n)))
const results: Record<string, Record<string, Metrics[]>> = {}
try {
  for (let round = 1; round <= rounds; round++)
    for (const s of chosen)
      for (let i = 0; i < brokers.length; i++) {
        try {
          brokers[i] = await alive(brokers[i]!)
          if (s.fresh) brokers[i] = await restart(brokers[i]!)
        } catch (error) {
          // A broker that cannot start (e.g. a broken build) loses this run; the others go on.
          console.error(`!! ${brokers[i]!.name} did not start: ${(error as Error).message}`)
          ;((results[s.id] ??= {})[brokers[i]!.name] ??= []).push({error: 1})
          continue
        }
        const b = brokers[i]!
        process.stderr.write(`round ${round}/${rounds} · ${s.id} · ${b.name} … `)
        let m: Metrics
        try {
          m = await s.run(b)
        } catch (error) {
          m = {error: 1}
          process.stderr.write(`failed: ${(error as Error).message} `)
        }
        if (b.child.exitCode !== null || b.child.signalCode !== null) m.crashed = 1
        process.stderr.write(`${JSON.stringify(m)}\n`)
        ;((results[s.id] ??= {})[b.name] ??= []).push(m)
        // Let the broker settle (sessions closed, queues freed) before the next one.
        await new Promise((r) => setTimeout(r, 500))
      }
} finally {
  for (const b of brokers) b.child.kill()
  rmSync(dir, {recursive: true, force: true})
}

const fmt = (v: number): string => (Number.isNaN(v) ? '–' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(v))
console.log(`\nmedians of ${rounds} interleaved rounds, ${duration} s per run, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
for (const s of chosen) {
  console.log(`### ${s.title}\n`)
  console.log(`| metric | ${names.join(' | ')} | mqttkit / mosquitto | mqttkit / aedes |`)
  console.log(`|---|${names.map(() => '---').join('|')}|---|---|`)
  const keys = [...new Set(names.flatMap((n) => (results[s.id]?.[n] ?? []).flatMap((m) => Object.keys(m))))]
  for (const k of keys) {
    const med = ALL.map((n) => {
      const vs = (results[s.id]?.[n] ?? []).map((m) => m[k]).filter((v): v is number => v !== undefined && !Number.isNaN(v))
      return vs.length ? compare__median(vs) : Number.NaN
    })
    const ratio = (a: number, b: number): string => (b > 0 && !Number.isNaN(a) ? `${(a / b).toFixed(2)}×` : '–')
    console.log(`| ${k} | ${names.map((n) => fmt(med[ALL.indexOf(n)]!)).join(' | ')} | ${ratio(med[2]!, med[0]!)} | ${ratio(med[2]!, med[1]!)} |`)
  }
  console.log('')
}
const crashes = brokers.filter((b) => b.crashes > 0).map((b) => `${b.name} ×${b.crashes}`)
if (crashes.length) console.log(`crashed and restarted: ${crashes.join(', ')}`)
if (values.json) writeFileSync(values.json, JSON.stringify({rounds, duration, idle, results}, null, 2))
