/**
 * Cross-node throughput and latency of the cluster (docs/cluster.md): publishers on node 1, the subscriber on the
 * last node, with 1, 2 and 3 mqttkit nodes on one redis-server, against one node on SQLite under the same load.
 * Every broker is the built CLI in its own process on a loopback port; the load is mqtt.js in this process.
 *
 * aedes2 is the peer anchor: two aedes nodes with mqemitter-redis and aedes-persistence-redis on one redis-server.
 *
 *   npm run build && npx tsx bench/cluster.ts [--configs sqlite,redis1,redis2,redis3,aedes2] [--duration 5] [--publishers 4]
 *                                            [--window 50] [--size 64] [--rounds 1]
 *
 * Scenarios: fan-in QoS 0 (publishers send as fast as their sockets take it, QoS 0 subscriber: delivered msg/s)
 * and fan-in QoS 1 end to end (each publisher keeps --window messages unacknowledged, persistent QoS 1 subscriber:
 * acknowledged and delivered msg/s, latency from publish to delivery p50/p99). Prints a table, then one JSON line.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import mqtt, {type MqttClient} from 'mqtt'
import {ports__free, ports__waitListening} from './ports.js'

const {values} = parseArgs({
  options: {
    configs: {type: 'string', default: 'sqlite,redis1,redis2,redis3,aedes2'},
    duration: {type: 'string', default: '5'},
    publishers: {type: 'string', default: '4'},
    window: {type: 'string', default: '50'},
    size: {type: 'string', default: '64'},
    rounds: {type: 'string', default: '1'},
  },
})
const DURATION_MS = Number(values.duration) * 1000
const PUBLISHERS = Number(values.publishers)
const WINDOW = Number(values.window)
const SIZE = Math.max(16, Number(values.size))
const RUN = fileURLToPath(new URL('../bin/run.js', import.meta.url))

interface Result {
  config: string
  qos0DeliveredPerSec: number
  qos1AckedPerSec: number
  qos1DeliveredPerSec: number
  qos1P50Ms: number
  qos1P99Ms: number
}

async function startProcess(file: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(file, args, {stdio: ['ignore', 'ignore', 'inherit']})
  await ports__waitListening(port, 20_000)
  return child
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

/** The brokers of one configuration; returns the publishers' and the subscriber's URLs and a stop function. */
async function startConfig(config: string, round: number): Promise<{pubUrl: string; subUrl: string; stop: () => Promise<void>}> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bench-cluster-'))
  const children: ChildProcess[] = []
  const ports: number[] = []
  const common = ['--mqtt-host', '127.0.0.1', '--no-ws', '--no-web', '--max-queued', '10000000', '--log-level', 'warn']
  if (config === 'sqlite') {
    const port = await ports__free()
    children.push(await startProcess(process.execPath, [RUN, 'broker', ...common, '--mqtt-port', String(port), '--store', `sqlite:${join(dir, 'b.db')}`], port))
    ports.push(port)
  } else if (config === 'aedes2') {
    // The peer anchor: two aedes nodes with mqemitter-redis + aedes-persistence-redis on one redis-server.
    const redisPort = await ports__free()
    children.push(await startProcess('/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], redisPort))
    for (let n = 1; n <= 2; n++) {
      const port = await ports__free()
      const args = ['--import', 'tsx', fileURLToPath(new URL('./aedes-server.ts', import.meta.url)), '--port', String(port), '--redis', `redis://127.0.0.1:${redisPort}`]
      children.push(await startProcess(process.execPath, args, port))
      ports.push(port)
    }
  } else {
    const nodes = Number(config.replace('redis', ''))
    const redisPort = await ports__free()
    children.push(await startProcess('/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], redisPort))
    for (let n = 1; n <= nodes; n++) {
      const port = await ports__free()
      const store = ['--store', `redis://127.0.0.1:${redisPort}/0`, '--cluster-name', `bench${round}`, '--node-id', `n${n}`]
      children.push(await startProcess(process.execPath, [RUN, 'broker', ...common, '--mqtt-port', String(port), ...store], port))
      ports.push(port)
    }
  }
  return {
    pubUrl: `mqtt://127.0.0.1:${ports[0]}`,
    subUrl: `mqtt://127.0.0.1:${ports[ports.length - 1]}`,
    async stop() {
      for (const child of children.reverse()) await stop(child)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Waits until a probe published on pubUrl reaches the subscriber (the cluster's index has the filter). */
async function probe(pub: MqttClient, prefix: string, seen: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!seen()) {
    if (Date.now() > deadline) throw new Error('the subscriber never saw the probe')
    pub.publish(`${prefix}/probe`, 'probe', {qos: 0})
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function qos0(pubUrl: string, subUrl: string): Promise<number> {
  const sub = await mqtt.connectAsync(subUrl, {reconnectPeriod: 0})
  let delivered = 0
  let probed = false
  sub.on('message', (topic) => (topic === 'b0/probe' ? (probed = true) : delivered++))
  await sub.subscribeAsync('b0/#', {qos: 0})
  const pubs = await Promise.all(Array.from({length: PUBLISHERS}, () => mqtt.connectAsync(pubUrl, {reconnectPeriod: 0})))
  await probe(pubs[0]!, 'b0', () => probed)
  const payload = Buffer.alloc(SIZE, 'x')
  const start = performance.now()
  let running = true
  await Promise.all(
    pubs.map(async (pub, p) => {
      // Batches that wait for the socket: as fast as the broker reads, without an unbounded client buffer.
      while (running && performance.now() - start < DURATION_MS) {
        for (let i = 0; i < 100; i++) pub.publish(`b0/${p}`, payload, {qos: 0})
        await new Promise<void>((resolve) => pub.publish(`b0/${p}`, payload, {qos: 0}, () => resolve()))
      }
    }),
  )
  running = false
  const elapsed = (performance.now() - start) / 1000
  await new Promise((r) => setTimeout(r, 500))
  const rate = Math.round(delivered / (elapsed + 0.5))
  for (const c of [sub, ...pubs]) c.end(true)
  return rate
}

async function qos1(pubUrl: string, subUrl: string): Promise<{acked: number; delivered: number; p50: number; p99: number}> {
  const sub = await mqtt.connectAsync(subUrl, {clientId: `bench-sub-${process.pid}`, clean: false, reconnectPeriod: 0})
  let delivered = 0
  let probed = false
  const latencies: number[] = []
  sub.on('message', (topic, payload) => {
    if (topic === 'b1/probe') probed = true
    else {
      delivered++
      latencies.push(performance.timeOrigin + performance.now() - payload.readDoubleBE(0))
    }
  })
  await sub.subscribeAsync('b1/#', {qos: 1})
  const pubs = await Promise.all(Array.from({length: PUBLISHERS}, () => mqtt.connectAsync(pubUrl, {reconnectPeriod: 0})))
  await probe(pubs[0]!, 'b1', () => probed)
  let acked = 0
  const start = performance.now()
  await Promise.all(
    pubs.map(
      (pub, p) =>
        new Promise<void>((resolve) => {
          let open = 0
          const next = (): void => {
            if (performance.now() - start >= DURATION_MS) {
              if (open === 0) resolve()
              return
            }
            const payload = Buffer.alloc(SIZE, 'x')
            payload.writeDoubleBE(performance.timeOrigin + performance.now(), 0)
            open++
            pub.publish(`b1/${p}`, payload, {qos: 1}, () => {
              open--
              acked++
              next()
            })
          }
          for (let w = 0; w < WINDOW; w++) next()
        }),
    ),
  )
  const ackSec = (performance.now() - start) / 1000
  const ackedAt = performance.now()
  while (delivered < acked && performance.now() - ackedAt < 30_000) await new Promise((r) => setTimeout(r, 10))
  const deliveredSec = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  const pct = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN) * 10) / 10
  for (const c of [sub, ...pubs]) c.end(true)
  return {acked: Math.round(acked / ackSec), delivered: Math.round(delivered / deliveredSec), p50: pct(0.5), p99: pct(0.99)}
}

const configs = values.configs!.split(',').map((c) => c.trim())
const results: Result[] = []
for (let round = 0; round < Number(values.rounds); round++) {
  for (const config of configs) {
    const brokers = await startConfig(config, round)
    try {
      const q0 = await qos0(brokers.pubUrl, brokers.subUrl)
      const q1 = await qos1(brokers.pubUrl, brokers.subUrl)
      results.push({config, qos0DeliveredPerSec: q0, qos1AckedPerSec: q1.acked, qos1DeliveredPerSec: q1.delivered, qos1P50Ms: q1.p50, qos1P99Ms: q1.p99})
    } finally {
      await brokers.stop()
    }
  }
}

console.log(`${PUBLISHERS} publishers on the first node, 1 subscriber on the last; ${SIZE}-byte payloads; ${values.duration} s per scenario; QoS 1 window ${WINDOW}`)
console.log('config   QoS 0 delivered/s   QoS 1 acked/s   QoS 1 delivered/s   QoS 1 p50 ms   p99 ms')
for (const r of results) {
  console.log(
    `${r.config.padEnd(8)} ${String(r.qos0DeliveredPerSec).padStart(17)}   ${String(r.qos1AckedPerSec).padStart(13)}   ${String(r.qos1DeliveredPerSec).padStart(17)}   ${String(r.qos1P50Ms).padStart(12)}   ${String(r.qos1P99Ms).padStart(6)}`,
  )
}
console.log(JSON.stringify({publishers: PUBLISHERS, window: WINDOW, size: SIZE, durationSec: Number(values.duration), results}))
