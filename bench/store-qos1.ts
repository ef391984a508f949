/**
 * What persistence costs: QoS 1 throughput of the real broker (the built CLI, in its own process, over TCP) with
 * the memory store and with the SQLite store, under the same load.
 *
 *   npm run build && npx tsx bench/store-qos1.ts [--count 50000] [--duration 30] [--publishers 4] [--subscribers 1]
 *                                                [--window 100] [--size 64] [--stores memory,sqlite] [--rounds 3]
 *
 * Load: `--subscribers` persistent sessions (MQTT 5, session expiry 1 h) subscribed to `bench/#` with QoS 1, and
 * `--publishers` MQTT 5 clients each keeping `--window` QoS 1 messages unacknowledged. Every message therefore goes
 * through the store twice (recorded inflight to the subscriber, deleted on its PUBACK) and every PUBACK to a
 * publisher waits for the group commit. The run stops after `--count` messages or `--duration` seconds.
 *
 * The stores take turns for `--rounds` rounds (a machine shared with other work drifts; alternating spreads the
 * drift over both) and the median round of each is reported: messages acknowledged per second, messages delivered
 * per second (all subscribers), broker CPU per message (from /proc, Linux) and the SQLite/memory ratio. Prints a
 * table, then one JSON line with every round.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {ports__free, ports__waitListening} from './ports.js'
import mqtt, {type MqttClient} from 'mqtt'

const {values} = parseArgs({
  options: {
    count: {type: 'string', default: '50000'},
    duration: {type: 'string', default: '30'},
    publishers: {type: 'string', default: '4'},
    subscribers: {type: 'string', default: '1'},
    window: {type: 'string', default: '100'},
    size: {type: 'string', default: '64'},
    stores: {type: 'string', default: 'memory,sqlite'},
    rounds: {type: 'string', default: '3'},
  },
})
const COUNT = Number(values.count)
const DURATION_MS = Number(values.duration) * 1000
const PUBLISHERS = Number(values.publishers)
const SUBSCRIBERS = Number(values.subscribers)
const WINDOW = Number(values.window)
const PAYLOAD = Buffer.alloc(Number(values.size), 'x')
const RUN = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const CLOCK_TICKS = 100 // USER_HZ on Linux
/** Extra node flags for the broker process, e.g. BENCH_NODE_ARGS=--cpu-prof to profile it. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)

/** CPU seconds the process has used (user + system), from /proc; undefined elsewhere. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

interface Result {
  store: string
  acked: number
  delivered: number
  elapsedSec: number
  ackedPerSec: number
  deliveredPerSec: number
  brokerCpuUsPerMsg?: number
}

async function runOne(storeSpec: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'mqttkit-bench-store-'))
  const store = storeSpec === 'sqlite' ? `sqlite:${join(dir, 'bench.db')}` : storeSpec
  const port = await ports__free()
  // A queue deep enough that no message is dropped: both stores must carry every message end to end.
  const broker = spawn(
    process.execPath,
    [...NODE_ARGS, RUN, 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--no-ws', '--no-web', '--store', store,
      '--max-queued', String(COUNT * 2 + 1000), '--log-level', 'warn'],
    {stdio: ['ignore', 'ignore', 'inherit']},
  )
  const url = `mqtt://127.0.0.1:${port}`
  const clients: MqttClient[] = []
  try {
    await ports__waitListening(port, 15_000)
    let delivered = 0
    for (let s = 0; s < SUBSCRIBERS; s++) {
      const sub = await mqtt.connectAsync(url, {
        clientId: `bench-store-sub-${s}`,
        protocolVersion: 5,
        clean: false,
        properties: {sessionExpiryInterval: 3600},
        reconnectPeriod: 0,
      })
      sub.on('message', () => delivered++)
      await sub.subscribeAsync('bench/#', {qos: 1})
      clients.push(sub)
    }

    const publishers = await Promise.all(
      Array.from({length: PUBLISHERS}, (_, p) =>
        mqtt.connectAsync(url, {clientId: `bench-store-pub-${p}`, protocolVersion: 5, reconnectPeriod: 0}),
      ),
    )
    clients.push(...publishers)

    const cpuStart = cpuSeconds(broker.pid!)
    const start = performance.now()
    let sent = 0
    let acked = 0
    await new Promise<void>((resolve) => {
      let finished = false
      const finish = () => {
        if (!finished && (acked >= COUNT || performance.now() - start >= DURATION_MS)) {
          finished = true
          resolve()
        }
      }

      for (const [p, client] of publishers.entries()) {
        const topic = `bench/${p}`
        const next = (): void => {
          if (finished || sent >= COUNT || performance.now() - start >= DURATION_MS) return finish()
          sent++
          client.publish(topic, PAYLOAD, {qos: 1}, onAck)
        }

        const onAck = (error?: Error): void => {
          if (error) throw error
          acked++
          next()
        }

        for (let w = 0; w < WINDOW; w++) next()
      }
    })
    const ackedAt = performance.now()
    // Let the subscribers catch up with what was acknowledged (bounded).
    const expected = acked * SUBSCRIBERS
    while (delivered < expected && performance.now() - ackedAt < 60_000) await new Promise((r) => setTimeout(r, 5))
    const elapsedSec = (performance.now() - start) / 1000
    const cpuEnd = cpuSeconds(broker.pid!)
    const ackSec = (ackedAt - start) / 1000
    return {
      store: storeSpec,
      acked,
      delivered,
      elapsedSec: Math.round(elapsedSec * 1000) / 1000,
      ackedPerSec: Math.round(acked / ackSec),
      deliveredPerSec: Math.round(delivered / elapsedSec),
      ...(cpuStart !== undefined && cpuEnd !== undefined
        ? {brokerCpuUsPerMsg: Math.round(((cpuEnd - cpuStart) / acked) * 1e7) / 10}
        : {}),
    }
  } finally {
    for (const client of clients) client.end(true)
    broker.kill('SIGTERM')
    await new Promise((resolve) => broker.once('exit', resolve))
    rmSync(dir, {recursive: true, force: true})
  }
}

const stores = values.stores!.split(',').map((store) => store.trim())
const rounds: Result[] = []
for (let round = 0; round < Number(values.rounds); round++) {
  for (const store of stores) rounds.push(await runOne(store))
}

function median(store: string): Result {
  const runs = rounds.filter((r) => r.store === store).sort((a, b) => a.ackedPerSec - b.ackedPerSec)
  return runs[Math.floor((runs.length - 1) / 2)]!
}

const results = stores.map(median)
console.log(
  `QoS 1, ${PUBLISHERS} publisher(s) x window ${WINDOW}, ${SUBSCRIBERS} persistent subscriber(s), ` +
    `${PAYLOAD.length}-byte payloads, median of ${values.rounds} round(s)`,
)
console.log('store    acked/s    delivered/s  broker CPU µs/msg  messages  (all rounds: acked/s)')
for (const r of results) {
  const all = rounds.filter((x) => x.store === r.store).map((x) => x.ackedPerSec)
  console.log(
    `${r.store.padEnd(8)} ${String(r.ackedPerSec).padStart(8)}  ${String(r.deliveredPerSec).padStart(12)}  ` +
      `${String(r.brokerCpuUsPerMsg ?? '-').padStart(17)}  ${String(r.acked).padStart(8)}  (${all.join(', ')})`,
  )
}

const memory = results.find((r) => r.store === 'memory')
const sqlite = results.find((r) => r.store === 'sqlite')
const ratio = memory && sqlite ? Math.round((sqlite.ackedPerSec / memory.ackedPerSec) * 1000) / 1000 : undefined
const cpuRatio =
  memory?.brokerCpuUsPerMsg && sqlite?.brokerCpuUsPerMsg
    ? Math.round((memory.brokerCpuUsPerMsg / sqlite.brokerCpuUsPerMsg) * 1000) / 1000
    : undefined
if (ratio !== undefined) console.log(`sqlite / memory: acked throughput ${ratio}, broker CPU per message (memory/sqlite) ${cpuRatio}`)
console.log(
  JSON.stringify({publishers: PUBLISHERS, subscribers: SUBSCRIBERS, window: WINDOW, size: PAYLOAD.length, results, rounds, sqliteToMemory: ratio, cpuRatio}),
)
