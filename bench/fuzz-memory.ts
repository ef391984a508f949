/**
 * The broker's memory under garbage (issue 18 item 14): `mqttkit broker` (the built CLI, in its own process) gets
 * `--connections` fuzz connections sending random and mutated packets (test/fuzz's driver and corpus, in another
 * process) for `--duration` seconds, then rests for `--rest` seconds. Its RSS is read from /proc every 200 ms; the
 * script prints the idle figure, the peak under load and the figure at the end of the rest, and exits 1 when the
 * peak is over `--max-peak` MB or the end figure is more than `--max-above-idle` MB over idle.
 *
 *   npm run bench:fuzz-memory -- [--duration 70] [--connections 50] [--rest 30] [--seed N] [--store sqlite|memory] [--json]
 *   npm run bench:fuzz-memory -- --snapshot   # also writes heap snapshots (idle, peak-ish, after) to ./heap-*.heapsnapshot
 */
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {ports__free, ports__waitListening} from './ports.js'

const {values} = parseArgs({
  options: {
    duration: {type: 'string', default: '70'},
    connections: {type: 'string', default: '50'},
    rest: {type: 'string', default: '30'},
    seed: {type: 'string', default: '20261204'},
    'max-peak': {type: 'string', default: '100'},
    'max-above-idle': {type: 'string', default: '15'},
    store: {type: 'string', default: 'sqlite'},
    'log-level': {type: 'string', default: 'error'},
    snapshot: {type: 'boolean', default: false},
    json: {type: 'boolean', default: false},
  },
})
const DURATION_MS = Number(values.duration) * 1000
const REST_MS = Number(values.rest) * 1000
const root = join(import.meta.dirname, '..')

const rssMb = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return Math.round(kb / 102.4) / 10
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const port = await ports__free()
// A fresh data directory: sessions left by an earlier run would be read back at start and counted as idle.
const dataDir = mkdtempSync(join(tmpdir(), 'mqttkit-fuzz-memory-'))
const nodeArgs = (process.env.BROKER_NODE_ARGS ?? '').split(' ').filter(Boolean)
const broker = spawn(process.execPath, [...nodeArgs, join(root, 'bin/run.js'), 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--log-level', values['log-level']!, '--data-dir', dataDir, '--store', values.store!], {
  stdio: ['ignore', values['log-level'] === 'error' ? 'ignore' : 'inherit', 'inherit'],
  env: {...process.env, NODE_OPTIONS: [values.snapshot ? '--heapsnapshot-signal=SIGUSR2' : '', process.env.BROKER_NODE_OPTIONS ?? ''].join(' ').trim()},
  cwd: values.snapshot ? process.cwd() : root,
})
const pid = broker.pid!
const samples: Array<[number, number]> = []
const started = Date.now()
try {
  await ports__waitListening(port, 20_000)
  await sleep(2000)
  const idle = rssMb(pid)
  if (values.snapshot) broker.kill('SIGUSR2')
  await sleep(values.snapshot ? 3000 : 0)

  const sampler = setInterval(() => samples.push([Date.now() - started, rssMb(pid)]), 200)
  const options = {port, seed: Number(values.seed), cases: 10_000_000, deadline: Date.now() + DURATION_MS, concurrency: Number(values.connections), answerTimeoutMs: 5000}
  const loadStart = Date.now()
  if (values.snapshot) setTimeout(() => broker.kill('SIGUSR2'), DURATION_MS * 0.8).unref()
  const stats = await new Promise<Record<string, unknown>>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'test/fuzz/driver-main.ts'), JSON.stringify(options)], {maxBuffer: 1 << 20, cwd: root}, (error, stdout, stderr) =>
      error ? reject(new Error(`fuzz driver failed: ${stderr || error.message}`)) : resolve(JSON.parse(stdout) as Record<string, unknown>),
    )
  })
  const loadMs = Date.now() - loadStart
  const loadEnd = Date.now() - started
  await sleep(REST_MS)
  clearInterval(sampler)
  const after = rssMb(pid)
  if (values.snapshot) {
    broker.kill('SIGUSR2')
    await sleep(5000)
  }
  const peak = Math.max(...samples.map((s) => s[1]))
  const peakUnderLoad = Math.max(...samples.filter((s) => s[0] <= loadEnd).map((s) => s[1]))
  const result = {
    connections: options.concurrency,
    loadSec: Math.round(loadMs / 100) / 10,
    cases: stats.cases as number,
    casesPerSec: Math.round(((stats.cases as number) * 1000) / loadMs),
    rssMb: {idle, peak, peakUnderLoad, afterRest: after, restSec: REST_MS / 1000},
    fuzz: stats,
  }
  if (values.json) console.log(JSON.stringify(result, null, 2))
  else {
    console.log(`${result.cases} fuzz cases over ${result.connections} connections in ${result.loadSec} s (${result.casesPerSec}/s), seed ${values.seed}`)
    console.log(`  broker RSS: idle ${idle} MB · peak ${peak} MB · ${REST_MS / 1000} s after the load ${after} MB`)
  }
  const ok = peak <= Number(values['max-peak']) && after - idle <= Number(values['max-above-idle'])
  process.exitCode = ok ? 0 : 1
} finally {
  broker.kill('SIGTERM')
  await new Promise((r) => broker.once('exit', r))
  rmSync(dataDir, {recursive: true, force: true})
}
