/**
 * How fast `mqttkit bench` drives messages from one process, against a plain mqtt.js publish loop
 * (bench/mqttjs-baseline.ts), both QoS 0, 32-byte payloads, one publishing connection, interleaved rounds:
 *   - against mosquitto (a real broker, which may itself be the limit), and
 *   - against bench/null-broker.ts (a sink that discards), which shows what each client can drive at most.
 * Prints medians of msg/s and of the client's CPU µs per message, and the ratios. Needs a built dist/ (npm run build).
 *
 *   npx tsx bench/load-generator.ts [--rounds 3] [--duration 5]
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ports__free, ports__waitListening} from './ports.js'
import {parseArgs, promisify} from 'node:util'

const run = promisify(execFile)
const {values} = parseArgs({options: {rounds: {type: 'string', default: '3'}, duration: {type: 'string', default: '5'}}})
const rounds = Number(values.rounds)
const duration = values.duration!
const root = join(import.meta.dirname, '..')

const children: ChildProcess[] = []
const dir = mkdtempSync(join(tmpdir(), 'mqttkit-loadgen-'))
const mosquittoPort = await ports__free()
writeFileSync(join(dir, 'm.conf'), `listener ${mosquittoPort} 127.0.0.1\nallow_anonymous true\n`)
children.push(spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'm.conf')], {stdio: 'ignore'}))
const nullPort = await ports__free()
children.push(spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/null-broker.ts'), '--port', String(nullPort)], {stdio: 'ignore'}))
await Promise.all([ports__waitListening(mosquittoPort, 10_000), ports__waitListening(nullPort, 10_000)])

interface Sample {
  msgPerSec: number
  cpuUsPerMsg: number
}

async function benchPub(port: number): Promise<Sample> {
  const {stdout} = await run(process.execPath, [join(root, 'bin/run.js'), 'bench', 'pub', '-h', '127.0.0.1', '-p', String(port), '-s', '32', '-d', duration, '-V', '3.1.1', '--json'], {maxBuffer: 1 << 24})
  const r = JSON.parse(stdout)
  return {msgPerSec: r.publishedPerSec, cpuUsPerMsg: (r.generator.cpuSec * 1e6) / r.published}
}

async function baseline(port: number): Promise<Sample> {
  const {stdout} = await run(process.execPath, ['--import', 'tsx', join(root, 'bench/mqttjs-baseline.ts'), '--url', `mqtt://127.0.0.1:${port}`, '--duration', duration, '--size', '32'])
  const r = JSON.parse(stdout)
  return {msgPerSec: r.msgPerSec, cpuUsPerMsg: r.cpuUsPerMsg}
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const samples: Record<string, Sample[]> = {}
try {
  for (let round = 1; round <= rounds; round++)
    for (const [sink, port] of [['mosquitto', mosquittoPort], ['null broker', nullPort]] as const)
      for (const [client, f] of [['mqttkit bench', benchPub], ['mqtt.js loop', baseline]] as const) {
        const s = await f(port)
        ;(samples[`${client} → ${sink}`] ??= []).push(s)
        console.error(`round ${round}: ${client} → ${sink}: ${s.msgPerSec} msg/s, ${s.cpuUsPerMsg.toFixed(3)} µs CPU/msg`)
      }
  console.log('| client → sink | msg/s (median) | client CPU µs/msg (median) |')
  console.log('|---|---|---|')
  const med: Record<string, {rate: number; cpu: number}> = {}
  for (const [key, ss] of Object.entries(samples)) {
    med[key] = {rate: median(ss.map((s) => s.msgPerSec)), cpu: median(ss.map((s) => s.cpuUsPerMsg))}
    console.log(`| ${key} | ${Math.round(med[key].rate).toLocaleString('en-US')} | ${med[key].cpu.toFixed(3)} |`)
  }
  for (const sink of ['mosquitto', 'null broker']) {
    const b = med[`mqttkit bench → ${sink}`]!
    const m = med[`mqtt.js loop → ${sink}`]!
    console.log(`ratio against ${sink}: ${(b.rate / m.rate).toFixed(2)}× the message rate, ${(m.cpu / b.cpu).toFixed(1)}× less CPU per message`)
  }
} finally {
  for (const c of children) c.kill()
  rmSync(dir, {recursive: true, force: true})
}
