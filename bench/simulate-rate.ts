/**
 * Does `pub --simulate` hold its rate? 100 devices × 10 msg/s (each its own connection) for 60 s against mosquitto,
 * counted per second by an mqtt.js subscriber: prints the received rate per whole second (mean, min, max), the
 * total against the 60,000 expected, and pub's own summary (its largest lag behind schedule). Needs a built dist/.
 *
 *   npx tsx bench/simulate-rate.ts [--devices 100] [--rate 10] [--duration 60]
 */
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'
import mqtt from 'mqtt'
import {ports__free, ports__waitListening} from './ports.js'

const run = promisify(execFile)
const {values} = parseArgs({options: {
  devices: {type: 'string', default: '100'},
  rate: {type: 'string', default: '10'},
  duration: {type: 'string', default: '60'},
}})
const devices = Number(values.devices)
const rate = Number(values.rate)
const duration = Number(values.duration)
const root = join(import.meta.dirname, '..')

const dir = mkdtempSync(join(tmpdir(), 'mqttkit-simrate-'))
const port = await ports__free()
writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`)
const broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'm.conf')], {stdio: 'ignore'})
try {
  await ports__waitListening(port, 10_000)
  const sub = await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0})
  const perSecond = new Map<number, number>()
  let received = 0
  let first: number | undefined
  sub.on('message', () => {
    const now = performance.now()
    first ??= now
    received += 1
    const second = Math.floor((now - first) / 1000)
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1)
  })
  await sub.subscribeAsync('simrate/#', {qos: 0})
  const {stdout} = await run(process.execPath, [join(root, 'bin/run.js'), 'pub', '-h', '127.0.0.1', '-p', String(port),
    '--simulate', 'sine', '-t', 'simrate/%i', '--clients', String(devices), '--rate', String(rate), '--duration', String(duration), '--json'],
  {maxBuffer: 1 << 24})
  await new Promise((r) => setTimeout(r, 1000))
  await sub.endAsync()
  const summary = JSON.parse(stdout)
  // Whole seconds only: the first and last are partial (connections still opening, the run ending mid-second).
  const counts = [...perSecond.entries()].filter(([s]) => s >= 1 && s < duration - 1).map(([, n]) => n)
  const target = devices * rate
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length
  const pct = (x: number): string => `${(((x - target) / target) * 100).toFixed(2)}%`
  console.log(JSON.stringify({
    target, seconds: counts.length,
    mean: Math.round(mean * 10) / 10, min: Math.min(...counts), max: Math.max(...counts),
    meanOff: pct(mean), worstSecondOff: pct(Math.abs(Math.min(...counts) - target) > Math.abs(Math.max(...counts) - target) ? Math.min(...counts) : Math.max(...counts)),
    received, expected: devices * rate * duration,
    pub: {messages: summary.messages, elapsedMs: summary.elapsedMs, rate: summary.rate, maxLagMs: summary.maxLagMs},
  }, null, 2))
} finally {
  broker.kill()
}
