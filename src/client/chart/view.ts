/**
 * One frame of `sub --chart` as lines of text, for a terminal of `columns` × `rows`: a header, the chart of the
 * window (simple-ascii-chart draws it; docs/cli.md says why that library), a side panel with non-numeric and
 * hidden topics, a legend with last/min/max/mean per series, and the messages-per-second line. Pure: the screen
 * module decides when to draw, this only decides what.
 */
import {plot, type Color} from 'simple-ascii-chart'
import type {ChartStore, Series} from './store.js'

export interface FrameOptions {
  columns: number
  rows: number
  nowMs: number
  /** What is charted, for the header ("sim/#", "sim/# · field data.temp"). */
  title: string
  color: boolean
  /** Reconnection notes and the like, newest last. */
  notes: string[]
}

/**
 * The library knows the 8 basic ANSI colours only; black would vanish on a dark terminal, so the eighth series is
 * drawn "black" and turned into bright black (grey) afterwards: eight series, eight colours.
 */
const palette: Color[] = ['ansiCyan', 'ansiYellow', 'ansiGreen', 'ansiMagenta', 'ansiBlue', 'ansiRed', 'ansiWhite', 'ansiBlack']
const codes = ['36', '33', '32', '35', '34', '31', '37', '90']
const symbols = {chart: {we: '─', wns: '╮', ns: '│', nse: '╰', wsn: '╯', sne: '╭'}}
const panelWidth = 30
const ansi = /\u001b\[[0-9;]*m/g

function paint(text: string, slot: number, on: boolean): string {
  return on ? `\u001b[${codes[slot % codes.length]}m${text}\u001b[0m` : text
}

function dim(text: string, on: boolean): string {
  return on ? `\u001b[2m${text}\u001b[0m` : text
}

/** Short, stable number text: 21.5, -0.866, 12345, 1.23e+9. */
export function chart__formatNumber(value: number): string {
  const abs = Math.abs(value)
  if (abs !== 0 && (abs >= 1e7 || abs < 1e-3)) return value.toPrecision(3)
  return String(Number(value.toFixed(abs >= 1000 ? 1 : 3)))
}

function visibleLength(line: string): number {
  return line.replace(ansi, '').length
}

/** `line` cut or padded to exactly `width` visible characters, colour codes kept whole. */
function fit(line: string, width: number): string {
  let out = ''
  let shown = 0
  let i = 0
  while (i < line.length && shown < width) {
    if (line[i] === '\u001b') {
      const end = line.indexOf('m', i)
      out += line.slice(i, end + 1)
      i = end + 1
      continue
    }
    out += line[i]
    shown += 1
    i += 1
  }
  if (i < line.length && line.includes('\u001b', i)) out += '\u001b[0m'
  return out + ' '.repeat(Math.max(0, width - shown))
}

/** Evenly spaced "nice" ticks (1, 2, 5 × 10^n) covering [min, max]. */
function niceTicks(min: number, max: number, count: number): number[] {
  const span = max - min
  if (span <= 0) return [min]
  const raw = span / Math.max(1, count)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw
  const ticks: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

/**
 * A series folded into one point per column: the mean of the buckets each column covers, x = seconds ago. The
 * columns cover `spanMs` up to now: the whole window once it is full, less while it fills, so the first seconds
 * are drawn in detail instead of squeezed into the right edge.
 */
function columnPoints(series: Series, store: ChartStore, nowMs: number, spanMs: number, columns: number): Array<[number, number]> {
  const perColumn = spanMs / columns
  const sums = new Map<number, {sum: number; count: number}>()
  for (const b of series.buckets) {
    const column = Math.floor((b.index * store.bucketMs - (nowMs - spanMs)) / perColumn)
    if (column < 0) continue
    const cell = sums.get(column) ?? {sum: 0, count: 0}
    cell.sum += b.sum
    cell.count += b.count
    sums.set(column, cell)
  }
  return [...sums.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([column, {sum, count}]) => [((column + 0.5) * perColumn - spanMs) / 1000, sum / count])
}

function seconds(value: number): string {
  return `${Number(value.toFixed(Math.abs(value) < 10 ? 1 : 0))}s`
}

function mainChart(store: ChartStore, o: FrameOptions, width: number, height: number): string[] {
  let oldest = o.nowMs
  for (const s of store.series) if (s.buckets.length > 0) oldest = Math.min(oldest, s.buckets[0]!.index * store.bucketMs)
  const spanMs = Math.min(store.windowMs, Math.max(1000, o.nowMs - oldest))
  const lines = store.series.map((s) => columnPoints(s, store, o.nowMs, spanMs, Math.max(10, width - 10)))
  const drawn = lines.map((points, slot) => ({points, slot})).filter((l) => l.points.length > 0)
  if (drawn.length === 0 || height < 3) {
    const waiting = store.series.length === 0 ? 'waiting for numeric messages…' : 'no values in the window'
    return [dim(waiting, o.color)]
  }
  let min = Infinity
  let max = -Infinity
  for (const {points} of drawn) for (const [, y] of points) {
    if (y < min) min = y
    if (y > max) max = y
  }
  if (min === max) {
    min -= 1
    max += 1
  }
  const yTicks = niceTicks(min, max, Math.max(2, Math.floor(height / 3)))
  const labelWidth = Math.max(...yTicks.map((t) => chart__formatNumber(t).length)) + 2
  // A single point is no line: the library needs two, so a lone value is drawn as a short flat segment.
  const coordinates = drawn.map(({points}) => (points.length === 1 ? [points[0]!, [points[0]![0] + 0.01, points[0]![1]] as [number, number]] : points))
  const xs = coordinates.flat().map(([x]) => x)
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), Math.max(2, Math.floor(width / 12)))
  const text = plot(coordinates, {
    width: Math.max(10, width - labelWidth - 2),
    height,
    yRange: [min, max],
    customYAxisTicks: yTicks,
    customXAxisTicks: xTicks,
    color: o.color ? drawn.map(({slot}) => palette[slot % palette.length]!) : undefined,
    symbols,
    formatter: (value, helpers) => (helpers.axis === 'x' ? seconds(value) : chart__formatNumber(value)),
  })
  const out = text.split('\n').filter((line, i, all) => !(i === 0 && line.trim() === '') && !(i === all.length - 1 && line.trim() === ''))
  return o.color ? out.map((line) => line.replaceAll('\u001b[30m', '\u001b[90m')) : out
}

function rateChart(store: ChartStore, o: FrameOptions, width: number, height: number): string[] {
  const history = store.rateHistory(o.nowMs)
  const peak = Math.max(1, ...history.map(([, n]) => n))
  const text = plot(history, {
    width: Math.max(10, width - String(peak).length - 4),
    height,
    yRange: [0, peak],
    customYAxisTicks: [0, peak],
    hideXAxisTicks: true,
    symbols,
    formatter: (value, helpers) => (helpers.axis === 'x' ? '' : String(Math.round(value))),
  })
  return text.split('\n').filter((line) => line.trim() !== '' && !/^\s*▲\s*$/.test(line))
}

function legend(store: ChartStore, o: FrameOptions): string[] {
  const width = Math.max(...store.series.map((s) => s.topic.length), 5)
  return store.series.map((s) => {
    const stats = store.stats(s)
    const name = paint(`━━ ${s.topic.padEnd(width)}`, s.slot, o.color)
    if (stats === undefined) return `${name}  ${dim(`last ${chart__formatNumber(s.last)}  (nothing in the window)`, o.color)}`
    const f = (label: string, v: number): string => `${dim(label, o.color)} ${chart__formatNumber(v).padStart(8)}`
    // A mean that is zero but for rounding (a sine's) reads as 0, not 8.3e-19.
    const scale = Math.max(Math.abs(stats.min), Math.abs(stats.max))
    const mean = Math.abs(stats.mean) < scale * 1e-9 ? 0 : stats.mean
    return `${name}  ${f('last', stats.last)}  ${f('min', stats.min)}  ${f('max', stats.max)}  ${f('mean', mean)}`
  })
}

/** Greedy word wrap (a word longer than the width is cut). */
function wrap(text: string, width: number): string[] {
  const out: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    for (let w = word; w.length > 0; w = w.slice(width)) {
      const piece = w.slice(0, width)
      if (line === '') line = piece
      else if (line.length + 1 + piece.length <= width) line += ` ${piece}`
      else {
        out.push(line)
        line = piece
      }
    }
  }
  if (line !== '') out.push(line)
  return out
}

function panel(store: ChartStore, o: FrameOptions, height: number): string[] {
  const lines: string[] = [`non-numeric: ${store.nonNumericTotal}`]
  const byCount = [...store.nonNumeric.entries()].sort((a, b) => b[1] - a[1])
  for (const [topic, n] of byCount.slice(0, 5)) lines.push(` ${String(n).padStart(6)} ${topic}`)
  if (byCount.length > 5) lines.push(dim(`  … ${byCount.length - 5} more topics`, o.color))
  if (store.hidden.size > 0) {
    lines.push('', `hidden (--series-max ${store.seriesMax}): ${store.hidden.size}`)
    const hidden = [...store.hidden.keys()]
    for (const topic of hidden.slice(0, 6)) lines.push(`  ${topic}`)
    if (hidden.length > 6) lines.push(dim(`  … ${hidden.length - 6} more`, o.color))
  }
  if (o.notes.length > 0) lines.push('', ...o.notes.slice(-3).flatMap((n) => wrap(n, panelWidth - 1)).map((n) => dim(n, o.color)))
  return lines.slice(0, height)
}

export function chart__frame(store: ChartStore, o: FrameOptions): string[] {
  store.prune(o.nowMs)
  const {columns, rows} = o
  const rate = store.ratePerSecond(o.nowMs)
  const header = `mqttkit sub --chart · ${o.title} · window ${Math.round(store.windowMs / 1000)}s · ${rate} msg/s · ${store.received} received · q quits`
  const withPanel = columns >= 100
  const legendLines = legend(store, o)
  if (!withPanel && (store.nonNumericTotal > 0 || store.hidden.size > 0)) {
    legendLines.push(dim(`non-numeric: ${store.nonNumericTotal} · hidden series: ${[...store.hidden.keys()].join(', ') || 'none'}`, o.color))
  }
  if (!withPanel && o.notes.length > 0) legendLines.push(dim(o.notes[o.notes.length - 1]!, o.color))
  const rateHeight = rows >= 30 ? 4 : rows >= 22 ? 2 : 0
  const rateLines = rateHeight > 0 ? ['messages per second', ...rateChart(store, o, columns, rateHeight)] : []
  const chartRows = Math.max(3, rows - 1 - legendLines.length - rateLines.length - 1)
  const chartWidth = withPanel ? columns - panelWidth - 1 : columns
  // The library adds an arrow row above and two axis rows below the plot itself.
  const chartLines = mainChart(store, o, chartWidth, Math.max(1, chartRows - 3)).slice(0, chartRows)
  const sideLines = withPanel ? panel(store, o, chartRows) : []
  const body: string[] = []
  for (let i = 0; i < chartRows; i++) {
    const left = fit(chartLines[i] ?? '', chartWidth)
    body.push(withPanel ? `${left}${dim('│', o.color)}${fit(sideLines[i] ?? '', panelWidth)}` : left)
  }
  const frame = [fit(o.color ? `\u001b[1m${header}\u001b[0m` : header, columns), ...body, ...legendLines, ...rateLines]
  return frame.slice(0, rows).map((line) => (visibleLength(line) > columns ? fit(line, columns) : line))
}
