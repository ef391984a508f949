/**
 * How fast the CLI starts, as the ratios issue 20 sets, measured side by side with a bare `node -e 1`:
 *   - `mqttkit pub -t x -m 1 -q 1` to a local broker (an `mqttkit broker` child on a free port) ≤ 3×,
 *   - `mqttkit --version` and `mqttkit --help` ≤ 2×,
 *   - `mqttkit broker` accepting TCP connections within 0.5 s of being spawned,
 *   - `import {Broker} from 'mqttkit'` (the library entry, resolved through the package's own exports).
 * Every round runs each case once, in an order rotated per round, so load from other work on the machine hits all
 * cases alike; the ratios of the medians are the figures, absolute times vary with the machine's load. One warm-up
 * round is not counted (it fills the OS file cache and, on Node >= 22.1, the module compile cache).
 * Needs a built dist/ (npm run build).
 *
 * --compare DIR adds the same CLI cases for another checkout's bin/run.js (built), e.g. main before a change.
 *
 *   npx tsx bench/startup.ts [--rounds 15] [--json] [--compare /path/to/other/checkout]
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {ports__free, ports__waitListening} from './ports.js'

const {values} = parseArgs({
  options: {rounds: {type: 'string', default: '15'}, json: {type: 'boolean', default: false}, compare: {type: 'string'}},
})
const rounds = Number(values.rounds)
const root = join(import.meta.dirname, '..')
const runJs = join(root, 'bin/run.js')

// Preloaded into every measured process (the baseline too): at exit it writes the process's CPU time (user + system,
// all threads) to fd 3. CPU time is less sensitive than wall time to other work on the machine, so both are shown.
const cpuReport = `data:text/javascript,${encodeURIComponent("import {writeSync} from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeSync(3, String((u.userCPUTime + u.systemCPUTime) / 1000)) })")}`

interface Sample {
  wallMs: number
  cpuMs: number
}

/** Runs `node args` to its end: wall time and CPU time in ms; a non-zero exit fails the benchmark. */
function timed(args: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, ['--import', cpuReport, ...args], {cwd: root, stdio: ['ignore', 'ignore', 'pipe', 'pipe']})
    let stderr = ''
    let cpu = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    child.stdio[3]!.on('data', (chunk: Buffer) => (cpu += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve({wallMs, cpuMs: Number(cpu)})
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`))
    })
  })
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

/** Spawns `mqttkit broker` on a free port, resolves with the ms until it accepts a TCP connection, then stops it. */
/** Whether the checkout at `dir` has `mqttkit broker --web-port` (older builds have no web admin). */
function hasWebAdmin(dir: string): boolean {
  const manifest = JSON.parse(readFileSync(join(dir, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
  return 'web-port' in manifest.commands.broker!.flags
}

async function brokerListening(bin = runJs, web = true): Promise<Sample> {
  const port = await ports__free()
  // As a user starts it (SQLite store, WebSocket listener, web admin), in a fresh data directory and on free ports.
  const dataDir = mkdtempSync(join(tmpdir(), 'mqttkit-startup-'))
  const args = ['broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--ws-port', '0', ...(web ? ['--web-port', '0'] : []), '--data-dir', dataDir, '--log-level', 'error']
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, [bin, ...args], {cwd: root, stdio: 'ignore'})
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  try {
    const deadline = Date.now() + 10_000
    while (!(await connects(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mqttkit broker did not listen on ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return {wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: Number.NaN}
  } finally {
    child.kill('SIGTERM')
    await exited
    rmSync(dataDir, {recursive: true, force: true})
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const brokerPort = await ports__free()
const broker: ChildProcess = spawn(process.execPath, [runJs, 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(brokerPort), '--no-ws', '--no-web', '--store', 'memory', '--log-level', 'error'], {cwd: root, stdio: 'ignore'})
await ports__waitListening(brokerPort, 10_000)

const cases: Array<[name: string, run: () => Promise<Sample>, target?: number]> = [
  ['node -e 1', () => timed(['-e', '1'])],
  ['mqttkit --version', () => timed([runJs, '--version']), 2],
  ['mqttkit --help', () => timed([runJs, '--help']), 2],
  ['mqttkit pub -t x -m 1 -q 1', () => timed([runJs, 'pub', '-h', '127.0.0.1', '-p', String(brokerPort), '-t', 'x', '-m', '1', '-q', '1']), 3],
  ["import {Broker} from 'mqttkit'", () => timed(['--input-type=module', '-e', "import {Broker} from 'mqttkit'; if (typeof Broker !== 'function') process.exit(1)"])],
  ['mqttkit broker: listening', () => brokerListening()],
]
if (values.compare !== undefined) {
  const other = join(values.compare, 'bin/run.js')
  const pubArgs = ['pub', '-h', '127.0.0.1', '-p', String(brokerPort), '-t', 'x', '-m', '1', '-q', '1']
  cases.splice(
    -1,
    0,
    [`mqttkit --version (${values.compare})`, () => timed([other, '--version']), 2],
    [`mqttkit --help (${values.compare})`, () => timed([other, '--help']), 2],
    [`mqttkit pub -t x -m 1 -q 1 (${values.compare})`, () => timed([other, ...pubArgs]), 3],
    [`mqttkit broker: listening (${values.compare})`, () => brokerListening(other, hasWebAdmin(values.compare!))],
  )
}

const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]))
try {
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const [name, run] = cases[(i + round) % cases.length]!
      const sample = await run()
      if (round > 0) samples.get(name)!.push(sample)
    }
  }
} finally {
  broker.kill('SIGTERM')
}

const round1 = (x: number): number => Math.round(x * 10) / 10
const round2 = (x: number): number => Math.round(x * 100) / 100
const baseWall = median(samples.get('node -e 1')!.map((s) => s.wallMs))
const baseCpu = median(samples.get('node -e 1')!.map((s) => s.cpuMs))
const rows = cases.map(([name, , target]) => {
  const wall = median(samples.get(name)!.map((s) => s.wallMs))
  const cpu = median(samples.get(name)!.map((s) => s.cpuMs))
  return {name, medianMs: round1(wall), ratio: round2(wall / baseWall), cpuMs: round1(cpu), cpuRatio: round2(cpu / baseCpu), target: target ?? null}
})
const isListening = (name: string): boolean => name.startsWith('mqttkit broker: listening')

if (values.json) {
  console.log(JSON.stringify({node: process.version, rounds, rows}, null, 2))
} else {
  console.log(`Node ${process.version}, ${rounds} interleaved rounds (medians); ratios are to \`node -e 1\` measured in the same rounds.`)
  console.log('| command | wall ms | × node -e 1 | CPU ms | CPU × node -e 1 | target (wall) |')
  console.log('|---|---|---|---|---|---|')
  for (const row of rows) {
    let target = row.target === null ? '' : `≤ ${row.target}× ${row.ratio <= row.target ? 'met' : 'MISSED'}`
    if (isListening(row.name)) target = `≤ 500 ms ${row.medianMs <= 500 ? 'met' : 'MISSED'}`
    const cpu = Number.isNaN(row.cpuMs) ? '| |' : `| ${row.cpuMs} | ${row.cpuRatio} |`
    console.log(`| \`${row.name}\` | ${row.medianMs} | ${row.ratio} ${cpu} ${target} |`)
  }
}
