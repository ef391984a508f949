/** `--output report.html`: one self-contained page (inline CSS and SVG, no scripts, no network). */
import type {CompareResult} from './compare.js'
import {PERCENTILE_TICKS, type Series, svg__lineChart, svg__percentileX} from './svg.js'
import type {BenchResult, LatencySummary} from './types.js'

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const num = (n: number | null | undefined): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US'))

function latencyRow(name: string, l: LatencySummary | null): string {
  if (!l) return ''
  return `<tr><th>${name}</th><td>${l.p50}</td><td>${l.p90}</td><td>${l.p99}</td><td>${l.p999}</td><td>${l.max}</td><td>${num(l.count)}</td></tr>`
}

function resultSection(r: BenchResult): string {
  const rows: Array<[string, string]> = [
    ['target', esc(r.target)],
    ['started', r.startedAt],
    ['measured', `${r.elapsedSec} s (stopped by ${r.stoppedBy})${r.partial ? ' · partial: interrupted before the drain, messages still in flight count as lost' : ''}`],
    ['connections', `${num(r.connections.connected)} of ${num(r.connections.attempted)} (${num(r.connections.failed)} failed)`],
    ['published', `${num(r.published)} (${num(r.publishedPerSec)} msg/s)`],
    ['delivered', `${num(r.delivered)} (${num(r.deliveredPerSec)} msg/s)`],
    ['lost / duplicates / out of order', `${num(r.lost)} / ${num(r.duplicates)} / ${num(r.outOfOrder)}`],
  ]
  if (Object.keys(r.connections.failures).length) rows.push(['connection failures', esc(JSON.stringify(r.connections.failures))])
  const throughput = report__throughput(r)
  return `
<h2>${esc(r.scenario)} · ${esc(r.target)}</h2>
<table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
<table><tr><th>latency (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>samples</th></tr>
${latencyRow('end to end', r.latency)}${latencyRow('publish → ack', r.ackLatency)}${latencyRow('connect', r.connections.latency)}</table>
${svg__lineChart(throughput, {title: 'Throughput over time', xLabel: 'second', yLabel: 'messages per second'})}
${latencyChart([[r.target, r]])}`
}

/** A partial last second shorter than this is left out of the chart: scaled up, a few ms of counts is noise. */
const SHORTEST_SCALED_SEC = 0.25

/**
 * Per-second counts as [end of the second, messages per second]. Every full second plots its count; the last one,
 * which covers only the part of a second the series lasted (`spanSec`), is scaled to a rate and plotted where it
 * ended, so a steady run looks steady instead of collapsing to zero in its last second.
 */
export function report__rates(counts: number[], spanSec: number): Array<[number, number]> {
  const full = Math.floor(spanSec)
  const points: Array<[number, number]> = []
  for (let i = 0; i < counts.length && i < full; i++) points.push([i + 1, counts[i]!])
  const rest = spanSec - full
  if (counts.length > full && rest > 0 && (rest >= SHORTEST_SCALED_SEC || points.length === 0)) points.push([spanSec, Math.round(counts[full]! / rest)])
  return points
}

/** The throughput chart's series for one result (series without any traffic left out). */
export function report__throughput(r: BenchResult): Series[] {
  return (<Series[]>[
    {name: 'published/s', color: COLORS[0]!, points: report__rates(r.timeline.published, r.timeline.publishedSec)},
    {name: 'delivered/s', color: COLORS[1]!, points: report__rates(r.timeline.delivered, r.timeline.deliveredSec)},
  ]).filter((s) => s.points.some((p) => p[1] > 0))
}

function latencyChart(results: Array<[string, BenchResult]>): string {
  const series: Series[] = results.map(([name, r], i) => ({
    name,
    color: COLORS[i % COLORS.length]!,
    points: r.latencyDistribution.map(([p, ms]) => [svg__percentileX(p), ms]),
  }))
  return svg__lineChart(series, {
    title: 'End-to-end latency distribution',
    xLabel: 'percentile',
    yLabel: 'ms',
    xTicks: PERCENTILE_TICKS,
  })
}

function compareSection(c: CompareResult): string {
  const head = `<tr><th>metric</th>${c.brokers.map((b, i) => `<th>${esc(b)}${i === 0 ? ' (base)' : ''}</th>`).join('')}</tr>`
  const body = c.metrics
    .map(
      (m) =>
        `<tr><th>${m.name} ${m.better === 'higher' ? '↑' : '↓'}</th>${m.values
          .map((v, i) => `<td>${num(v.median)}${i > 0 && v.ratio !== null ? ` <small>(${v.ratio}×)</small>` : ''}</td>`)
          .join('')}</tr>`,
    )
    .join('')
  const last = c.runs.map((rs, i) => [c.brokers[i]!, rs[rs.length - 1]!] as [string, BenchResult]).filter(([, r]) => r)
  const throughput: Series[] = last.map(([name, r], i) => ({
    name,
    color: COLORS[i % COLORS.length]!,
    points:
      r.scenario === 'pub' || r.scenario === 'conn'
        ? report__rates(r.timeline.published, r.timeline.publishedSec)
        : report__rates(r.timeline.delivered, r.timeline.deliveredSec),
  }))
  return `<h2>Comparison (medians of ${c.rounds} interleaved rounds)</h2><table>${head}${body}</table>
${svg__lineChart(throughput, {title: 'Throughput over time (last round)', xLabel: 'second', yLabel: 'messages per second'})}
${latencyChart(last)}`
}

export function report__html(results: BenchResult[], compare?: CompareResult): string {
  const first = results[0]
  const cfg = first ? esc(JSON.stringify(first.config)) : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mqttkit bench report</title>
<style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#111}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}
th{background:#f6f6f6}small{color:#555}svg{display:block;margin:1em 0}code{background:#f3f3f3;padding:2px 4px;word-break:break-all}
</style></head><body>
<h1>mqttkit bench</h1>
<p>Scenario <code>${first ? esc(first.scenario) : ''}</code> · configuration <code>${cfg}</code></p>
${compare ? compareSection(compare) : results.map(resultSection).join('\n')}
</body></html>
`
}
