/** What people read: the live progress text, the summary after a run, the comparison table. */
import chalk from 'chalk'
import type {CompareResult} from './compare.js'
import type {Progress} from './engine.js'
import type {BenchResult, LatencySummary} from './types.js'

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(n >= 1 ? 2 : 3))

export function format__progress(p: Progress, last: Progress | null): string {
  const dt = last ? (p.elapsedMs - last.elapsedMs) / 1000 : 0
  const rate = (now: number, before: number | undefined): string => (dt > 0 && before !== undefined ? int((now - before) / dt) : '–')
  const conns = `${int(p.connected)} connected${p.failed ? chalk.red(`, ${int(p.failed)} failed`) : ''}`
  if (p.phase === 'connecting') return `connecting… ${conns}`
  return (
    `${(p.elapsedMs / 1000).toFixed(0)}s ${p.phase}  ${conns}  ` +
    `published ${int(p.published)} (${rate(p.published, last?.published)}/s)  ` +
    `received ${int(p.received)} (${rate(p.received, last?.received)}/s)`
  )
}

function latencyLine(l: LatencySummary | null): string {
  if (!l) return chalk.dim('–')
  return `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}  ${chalk.dim('ms')}`
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ×${int(v)}`)
    .join(', ')
}

export function format__summary(r: BenchResult): string {
  const c = r.config
  const who =
    r.scenario === 'conn'
      ? `${int(c.clients)} clients`
      : r.scenario === 'pub'
        ? `${int(c.publishers)} publisher${c.publishers === 1 ? '' : 's'}`
        : r.scenario === 'sub'
          ? `${int(c.subscribers)} subscriber${c.subscribers === 1 ? '' : 's'}`
          : `${int(c.publishers)} → ${int(c.subscribers)}`
  const lines: string[] = []
  const row = (label: string, value: string): void => {
    lines.push(`  ${chalk.bold(label.padEnd(14))}${value}`)
  }
  lines.push(
    chalk.cyan(`bench ${r.scenario}`) +
      chalk.dim(` · ${r.target} · ${who}${r.scenario === 'conn' ? '' : ` · QoS ${c.qos} · ${c.size} B`} · ${r.elapsedSec.toFixed(1)} s (${r.stoppedBy})`) +
      (r.workers > 1 ? chalk.dim(` · ${r.workers} workers`) : ''),
  )
  if (r.partial) lines.push(chalk.yellow('  partial: interrupted before the drain, so messages still in flight count as lost'))
  const conn = r.connections
  row(
    'connections',
    `${int(conn.connected)} of ${int(conn.attempted)}` +
      (conn.failed ? chalk.red(` · ${int(conn.failed)} failed`) : '') +
      (conn.perSec !== null ? ` · ${int(conn.perSec)}/s` : '') +
      (conn.latency ? chalk.dim(`  connect p50 ${ms(conn.latency.p50)} p99 ${ms(conn.latency.p99)} ms`) : ''),
  )
  if (conn.failed) row('failures', chalk.red(counts(conn.failures)))
  if (Object.keys(conn.disconnects).length > 0) row('disconnects', chalk.yellow(counts(conn.disconnects)))
  if (r.scenario === 'pub' || r.scenario === 'run') {
    row('published', `${int(r.published)}  ${chalk.green(`${int(r.publishedPerSec)} msg/s`)}`)
    if (c.qos > 0) row('acked', `${int(r.acked)}`)
  }
  if (r.scenario === 'sub' || r.scenario === 'run') {
    row('delivered', `${int(r.delivered)}  ${chalk.green(`${int(r.deliveredPerSec)} msg/s`)}`)
    const bad = (n: number): string => (n > 0 ? chalk.red(int(n)) : chalk.green('0'))
    row('lost', bad(r.lost) + (r.expected !== null ? chalk.dim(` of ${int(r.expected)} expected`) : ''))
    row('duplicates', bad(r.duplicates))
    row('out of order', bad(r.outOfOrder))
    if (r.foreign) row('other traffic', `${int(r.foreign)} ${chalk.dim('messages without this run’s header')}`)
    row('latency', latencyLine(r.latency))
  }
  if (r.ackLatency) row(c.qos === 2 ? 'PUBCOMP after' : 'PUBACK after', latencyLine(r.ackLatency))
  const busy = r.generator.cpuPercentPerWorker
  row('bench CPU', `${busy}% of a core${r.workers > 1 ? ' per worker' : ''}` + (busy >= 90 ? chalk.yellow('  (bench itself may be the limit: try --workers)') : ''))
  return lines.join('\n')
}

export function format__compare(c: CompareResult): string {
  const header = ['metric', ...c.brokers.map((b, i) => (i === 0 ? `${b} (base)` : b))]
  const rows = c.metrics.map((m) => [
    m.name + chalk.dim(m.better === 'higher' ? ' ↑' : ' ↓'),
    ...m.values.map((v, i) => {
      if (Number.isNaN(v.median)) return '–'
      const value = Number.isInteger(v.median) ? int(v.median) : ms(v.median)
      if (i === 0 || v.ratio === null) return value
      const good = m.better === 'higher' ? v.ratio >= 1 : v.ratio <= 1
      return `${value} ${(good ? chalk.green : chalk.red)(`${v.ratio.toFixed(2)}×`)}`
    }),
  ])
  const strip = (s: string): number => s.replace(/\u001B\[[0-9;]*m/g, '').length
  const widths = header.map((h, i) => Math.max(strip(h), ...rows.map((r) => strip(r[i]!))))
  const pad = (s: string, i: number): string => s + ' '.repeat(widths[i]! - strip(s))
  return [
    chalk.cyan(`compare · medians of ${c.rounds} interleaved round${c.rounds === 1 ? '' : 's'}`),
    '  ' + header.map((h, i) => chalk.bold(pad(h, i))).join('  '),
    ...rows.map((r) => '  ' + r.map(pad).join('  ')),
  ].join('\n')
}
