/**
 * What the web admin costs the broker (issue 15): fan-in QoS 0 throughput (10 publishers -> 1 subscriber, the
 * bench engine in this process) against three `mqttkit broker` processes, round after round (interleaved, so a
 * machine growing busier hurts all alike): `--no-web`; the admin on with nobody watching; the admin on with the
 * Overview page open in headless Chromium, streaming its SSE charts, for the whole run. Also the page's transferred
 * size (every response of loading the page, uncompressed, with and without mqtt.js's browser build).
 *
 *   npm run bench:web -- [--rounds 5] [--duration 5]
 *
 * Needs a built dist/ and /usr/bin/chromium. Chromium runs on the same machine as the broker and the load, so the
 * "page open" rows include what the browser itself takes from the CPU, as on a laptop with the dashboard open.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {chromium} from 'playwright-core'
import {type BenchFlags, bench__spec, bench__target} from '../src/bench/cli.js'
import {bench__run} from '../src/bench/runner.js'
import {ports__free, ports__waitListening} from './ports.js'

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s
}

/** CPU seconds of the Chromium processes this script started (its descendants named chrom*: browser, renderer, GPU...). */
function browserCpuSeconds(): number {
  const root = process.pid
  const parent = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')
      parent.set(Number(entry), Number(fields[1]))
    } catch {
      // gone meanwhile
    }
  }
  let total = 0
  for (const pid of parent.keys()) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        try {
          if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('chrom')) break
          total += cpuSeconds(pid)
        } catch {
          // gone meanwhile
        }
        break
      }
    }
  }
  return total
}

const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}, duration: {type: 'string', default: '5'}}})
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const root = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'mqttkit-web-cost-'))
const TOKEN = 'bench-web-cost-token-0123456789'

interface Mode {
  name: string
  web: boolean
  page: boolean
  port: number
  webPort: number
  child?: ChildProcess
  rates: number[]
  /** Chromium's CPU seconds per second of this mode's rounds. */
  browserCpu: number[]
}

async function start(mode: Mode): Promise<void> {
  mode.port = await ports__free()
  mode.webPort = await ports__free()
  const web = mode.web ? ['--web-port', String(mode.webPort), '--web-token', TOKEN] : ['--no-web']
  mode.child = spawn(process.execPath, [join(root, 'bin/run.js'), 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(mode.port), '--no-ws', '--store', 'memory', '--log-level', 'error', '--data-dir', join(dir, mode.name.replace(/\W/g, '')), ...web], {stdio: 'ignore'})
  await ports__waitListening(mode.port, 30_000)
  if (mode.web) await ports__waitListening(mode.webPort, 30_000)
}

const modes: Mode[] = [
  {name: 'admin off (--no-web)', web: false, page: false, port: 0, webPort: 0, rates: [], browserCpu: []},
  {name: 'admin on, no page open', web: true, page: false, port: 0, webPort: 0, rates: [], browserCpu: []},
  {name: 'admin on, Overview open (SSE live)', web: true, page: true, port: 0, webPort: 0, rates: [], browserCpu: []},
]
for (const mode of modes) await start(mode)

const browser = await chromium.launch({executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run']})
const watched = modes.find((m) => m.page)!
const context = await browser.newContext({viewport: {width: 1280, height: 800}})
const page = await context.newPage()
const sizes: Array<{url: string; bytes: number}> = []
page.on('response', async (response) => {
  const body = await response.body().catch(() => Buffer.alloc(0))
  sizes.push({url: response.url(), bytes: body.length})
})
await page.goto(`http://127.0.0.1:${watched.webPort}/?token=${TOKEN}`)
await page.waitForLoadState('networkidle')
await page.waitForTimeout(1500)
const files = sizes.filter((s) => !s.url.includes('/events'))
const total = files.reduce((n, s) => n + s.bytes, 0)
const mqttJs = files.filter((s) => s.url.endsWith('/vendor/mqtt.js')).reduce((n, s) => n + s.bytes, 0)

const flags = (): BenchFlags => ({workers: 1, 'connect-rate': 0, 'connect-concurrency': 200, rounds: 1, duration, drain: 3000, size: 32, publishers: 10, subscribers: 1, topic: 'bench/%i', filter: 'bench/#', qos: 0}) as unknown as BenchFlags

for (let round = 1; round <= rounds; round++) {
  for (const mode of modes) {
    const target = bench__target({host: '127.0.0.1', port: mode.port, 'protocol-version': 4, 'id-prefix': `w${round}${Date.now() % 1e6}-`})
    const b0 = browserCpuSeconds()
    const t0 = Date.now()
    const r = await bench__run(bench__spec('run', flags(), target), mode.name)
    mode.browserCpu.push((browserCpuSeconds() - b0) / ((Date.now() - t0) / 1000))
    mode.rates.push(r.deliveredPerSec)
    console.error(`round ${round} ${mode.name}: ${Math.round(r.deliveredPerSec)} msg/s (load ${loadavg()[0]!.toFixed(1)})`)
  }
}

// The admin's own work, which throughput on a busy machine cannot show: each broker's CPU over the same idle
// seconds (no MQTT traffic), the Overview page still open and streaming on its broker.
const IDLE_S = 20
const cpu0 = modes.map((m) => cpuSeconds(m.child!.pid!))
await new Promise((r) => setTimeout(r, IDLE_S * 1000))
const idleCpu = modes.map((m, i) => ((cpuSeconds(m.child!.pid!) - cpu0[i]!) * 1000) / IDLE_S)

await browser.close()
for (const mode of modes) mode.child?.kill('SIGTERM')
rmSync(dir, {recursive: true, force: true})

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const base = median(modes[0]!.rates)
console.log(`\nfan-in QoS 0, 10 publishers -> 1 subscriber, 32-byte payloads, ${rounds} rounds x ${duration} s, medians:\n`)
console.log('| broker | delivered msg/s | vs admin off | rounds | Chromium CPU (cores) |')
console.log('|---|---|---|---|---|')
for (const mode of modes) {
  const m = median(mode.rates)
  console.log(`| ${mode.name} | ${Math.round(m).toLocaleString('en')} | ${((m / base - 1) * 100).toFixed(1)}% | ${mode.rates.map((r) => Math.round(r)).join(', ')} | ${median(mode.browserCpu).toFixed(2)} |`)
}
console.log(`\nbroker CPU while idle (no MQTT traffic), ${IDLE_S} s, ms of CPU per second:`)
modes.forEach((m, i) => console.log(`  ${m.name}: ${idleCpu[i]!.toFixed(1)}`))
console.log(`\npage transferred (uncompressed, ${files.length} responses): ${(total / 1024).toFixed(1)} KiB; without mqtt.js (${(mqttJs / 1024).toFixed(1)} KiB): ${((total - mqttJs) / 1024).toFixed(1)} KiB`)
for (const f of files) console.log(`  ${new URL(f.url).pathname} ${f.bytes}`)
