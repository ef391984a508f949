/**
 * JS heap per idle connection, in process: faster to iterate on than the RSS measure of bench/brokers.ts (which is
 * what the operating system sees and what docs/benchmarks.md reports). Starts a broker in this process, opens the
 * idle clients from a child process (bench/idle-clients.ts: MQTT 3.1.1, keepalive 600 s), and compares
 * `heapUsed` after forced full GCs before and after; also prints RSS and the V8 heap spaces' committed sizes.
 *
 *   node --expose-gc --import tsx bench/idle-heap.ts [--count 10000] [--snapshot file.heapsnapshot]
 */
import {fork} from 'node:child_process'
import {memoryUsage} from 'node:process'
import {parseArgs} from 'node:util'
import v8 from 'node:v8'
import {Broker} from '../src/broker/broker.js'
import {idle__open} from './idle-clients.js'

const {values} = parseArgs({options: {count: {type: 'string', default: '10000'}, child: {type: 'string'}, snapshot: {type: 'string'}}})

if (values.child !== undefined) {
  // The client side: opens the connections, reports, then holds them until the parent says stop.
  const conn = await idle__open({port: Number(values.child), count: Number(values.count), prefix: `h${Date.now() % 1e6}-`, concurrency: 500})
  process.send!({connected: conn.connected, failed: conn.failed})
  process.on('message', () => {
    conn.close()
    process.exit(0)
  })
} else {
  const gc = (globalThis as {gc?: () => void}).gc
  if (gc === undefined) throw new Error('run with node --expose-gc')
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 50))
      gc()
    }
  }
  const spaces = (): string =>
    v8
      .getHeapSpaceStatistics()
      .map((s) => `${s.space_name.replace('_space', '')} ${(s.space_size / 1048576).toFixed(1)}`)
      .join(', ')
  const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'error'})
  const [listener] = await broker.listen()
  await settle()
  const heap0 = memoryUsage().heapUsed
  const rss0 = memoryUsage.rss()
  const child = fork(import.meta.filename, ['--child', String(listener!.address.port), '--count', values.count!], {execArgv: ['--import', 'tsx']})
  const report = await new Promise<{connected: number; failed: number}>((resolve) => child.once('message', resolve as never))
  const rss1 = memoryUsage.rss()
  const spaces1 = spaces()
  await settle()
  const heap1 = memoryUsage().heapUsed
  const n = Math.max(1, report.connected)
  console.log(`${report.connected} connected, ${report.failed} failed`)
  console.log(`heap per connection: ${((heap1 - heap0) / n / 1024).toFixed(3)} KiB (heapUsed after forced GCs)`)
  console.log(`RSS per connection:  ${((rss1 - rss0) / n / 1024).toFixed(3)} KiB (before the forced GCs)`)
  console.log(`heap spaces committed MiB, connected: ${spaces1}`)
  console.log(`heap spaces committed MiB, after GCs: ${spaces()}`)
  if (values.snapshot) v8.writeHeapSnapshot(values.snapshot)
  child.send('stop')
  await new Promise((r) => child.once('exit', r))
  await broker.close()
}
