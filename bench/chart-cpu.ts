/**
 * What `sub --chart` costs at a high message rate: the chart runs in tmux (120 × 40) against mosquitto while
 * `pub --simulate` sends 10 devices × 1,000 msg/s; the chart process's CPU time (/proc/<pid>/stat) is sampled over
 * the middle of the run, and the screen is captured to show the rate it displayed. Needs a built dist/, tmux and
 * mosquitto.
 *
 *   npx tsx bench/chart-cpu.ts [--devices 10] [--rate 1000] [--duration 30]
 */
import {execFile, spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'
import {ports__free, ports__waitListening} from './ports.js'

const run = promisify(execFile)
const {values} = parseArgs({options: {
  devices: {type: 'string', default: '10'},
  rate: {type: 'string', default: '1000'},
  duration: {type: 'string', default: '30'},
}})
const duration = Number(values.duration)
const root = join(import.meta.dirname, '..')
const socket = `mqttkit-chart-cpu-${process.pid}`
const tmux = (...args: string[]): string => spawnSync('/usr/bin/tmux', ['-L', socket, ...args], {encoding: 'utf8'}).stdout
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** User + system CPU seconds of `pid` so far (clock ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const dir = mkdtempSync(join(tmpdir(), 'mqttkit-chartcpu-'))
const port = await ports__free()
writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`)
const broker = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'm.conf')], {stdio: 'ignore'})
try {
  await ports__waitListening(port, 10_000)
  tmux('new-session', '-d', '-s', 'chart', '-x', '120', '-y', '40',
    `cd '${root}' && exec '${process.execPath}' bin/run.js sub -h 127.0.0.1 -p ${port} -t 'cpu/#' --chart`)
  const pid = Number(tmux('display-message', '-p', '-t', 'chart', '#{pane_pid}').trim())
  await sleep(2000)
  const idleStart = cpuSeconds(pid)
  await sleep(5000)
  const idle = (cpuSeconds(pid) - idleStart) / 5
  const pub = run(process.execPath, [join(root, 'bin/run.js'), 'pub', '-h', '127.0.0.1', '-p', String(port), '--simulate', 'sine',
    '-t', 'cpu/%i', '--clients', values.devices!, '--rate', values.rate!, '--duration', String(duration), '--json'], {maxBuffer: 1 << 24})
  // Sample the middle of the run: connections are open and the window is filling.
  const from = 5
  const to = duration - 5
  await sleep(from * 1000)
  const busyStart = cpuSeconds(pid)
  await sleep((to - from) * 1000)
  const busy = (cpuSeconds(pid) - busyStart) / (to - from)
  const screen = tmux('capture-pane', '-p', '-t', 'chart')
  const summary = JSON.parse((await pub).stdout)
  const shown = /· (\d+) msg\/s ·/.exec(screen)?.[1]
  console.log(JSON.stringify({
    publisher: {devices: summary.devices, rate: summary.rate, messages: summary.messages},
    chartShowedMsgPerSec: shown === undefined ? null : Number(shown),
    chartCpuPercent: {idle: Math.round(idle * 1000) / 10, busy: Math.round(busy * 1000) / 10},
  }, null, 2))
  console.log(screen)
} finally {
  tmux('kill-server')
  broker.kill()
}
