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
import {mkdtempSync, rmSync} from 'node:fs'
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

/** Runs `node args` to its end and resolves with the wall time in ms; a non-zero exit fails the benchmark. */
function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, args, {cwd: root, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve(ms)
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
async function brokerListening(bin = runJs): Promise<number> {
  const port = await ports__free()
  // As a user starts it (SQLite store, WebSocket listener), in a fresh data directory and on free ports.
  const dataDir = mkdtempSync(join(tmpdir(), 'mqttkit-startup-'))
  const args = ['broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--ws-port', '0', '--data-dir', dataDir, '--log-level', 'error']
  const started = process.hrtime.bigint()
  const child = spawn(process.execPath, [bin, ...args], {cwd: root, stdio: 'ignore'})
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
  try {
    const deadline = Date.now() + 10_000
    while (!(await connects(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mqttkit broker did not listen on ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    return Number(process.hrtime.bigint() - started) / 1e6
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
const broker: ChildProcess = spawn(process.execPath, [runJs, 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(brokerPort), '--no-ws', '--store', 'memory', '--log-level', 'error'], {cwd: root, stdio: 'ignore'})
await ports__waitListening(brokerPort, 10_000)

const cases: Array<[name: string, run: () => Promise<number>, target?: number]> = [
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
    [`mqttkit broker: listening (${values.compare})`, () => brokerListening(other)],
  )
}

const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]))
try {
  for (let round = 0; round <= rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const [name, run] = cases[(i + round) % cases.length]!
      const ms = await run()
      if (round > 0) samples.get(name)!.push(ms)
    }
  }
} finally {
  broker.kill('SIGTERM')
}

const base = median(samples.get('node -e 1')!)
const rows = cases.map(([name, , target]) => {
  const ms = median(samples.get(name)!)
  return {name, medianMs: Math.round(ms * 10) / 10, ratio: Math.round((ms / base) * 100) / 100, target: target ?? null}
})
const isListening = (name: string): boolean => name.startsWith('mqttkit broker: listening')

if (values.json) {
  console.log(JSON.stringify({node: process.version, rounds, rows}, null, 2))
} else {
  console.log(`Node ${process.version}, ${rounds} interleaved rounds (medians); ratios are to \`node -e 1\` measured in the same rounds.`)
  console.log('| command | median ms | × node -e 1 | target |')
  console.log('|---|---|---|---|')
  for (const row of rows) {
    let target = row.target === null ? '' : `≤ ${row.target}× ${row.ratio <= row.target ? 'met' : 'MISSED'}`
    if (isListening(row.name)) target = `≤ 500 ms ${row.medianMs <= 500 ? 'met' : 'MISSED'}`
    console.log(`| \`${row.name}\` | ${row.medianMs} | ${row.ratio} | ${target} |`)
  }
}
