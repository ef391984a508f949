/** Small dependency-free SVG line charts for the self-contained HTML report. */

export interface Series {
  name: string
  color: string
  points: Array<[number, number]>
}

export interface ChartOptions {
  title: string
  xLabel: string
  yLabel: string
  /** Tick labels for x (value → text); default: the number. */
  xTicks?: Array<[number, string]>
  width?: number
  height?: number
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function niceStep(span: number, ticks: number): number {
  const raw = span / ticks
  const mag = 10 ** Math.floor(Math.log10(raw || 1))
  const norm = raw / mag
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag
}

const label = (v: number): string =>
  Math.abs(v) >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(3)}`

export function svg__lineChart(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 720
  const H = o.height ?? 300
  const m = {l: 64, r: 16, t: 48, b: 44}
  const all = series.flatMap((s) => s.points)
  if (all.length === 0) return `<svg width="${W}" height="60" xmlns="http://www.w3.org/2000/svg"><text x="8" y="30">${esc(o.title)}: no data</text></svg>`
  const xs = all.map((p) => p[0])
  const xMin = Math.min(...xs)
  const xMax = Math.max(...xs, xMin + 1)
  const yMax = Math.max(...all.map((p) => p[1]), 0) || 1
  const yStep = niceStep(yMax, 5)
  const yTop = Math.ceil(yMax / yStep) * yStep
  const px = (x: number): number => m.l + ((x - xMin) / (xMax - xMin)) * (W - m.l - m.r)
  const py = (y: number): number => H - m.b - (y / yTop) * (H - m.t - m.b)
  const parts: string[] = [
    `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">`,
    `<text x="${m.l}" y="18" font-size="13" font-weight="bold">${esc(o.title)}</text>`,
  ]
  for (let y = 0; y <= yTop + 1e-9; y += yStep) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${m.l - 6}" y="${py(y) + 4}" text-anchor="end" fill="#555">${label(y)}</text>`)
  }
  const xTicks = o.xTicks ?? (() => {
    const step = niceStep(xMax - xMin, 8)
    const t: Array<[number, string]> = []
    for (let x = Math.ceil(xMin / step) * step; x <= xMax + 1e-9; x += step) t.push([x, label(x)])
    return t
  })()
  for (const [x, text] of xTicks) {
    parts.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${m.t}" y2="${H - m.b}" stroke="#f0f0f0"/>`)
    parts.push(`<text x="${px(x)}" y="${H - m.b + 16}" text-anchor="middle" fill="#555">${esc(text)}</text>`)
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#999"/>`)
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(o.xLabel)}</text>`)
  parts.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`)
  series.forEach((s, i) => {
    if (s.points.length === 0) return
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('')
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    if (s.points.length === 1) parts.push(`<circle cx="${px(s.points[0]![0])}" cy="${py(s.points[0]![1])}" r="3" fill="${s.color}"/>`)
    // Legend in a row under the title, outside the plot, so it never hides a line.
    const lx = m.l + i * 190
    parts.push(`<rect x="${lx}" y="26" width="10" height="10" fill="${s.color}"/>`)
    parts.push(`<text x="${lx + 14}" y="35">${esc(s.name.length > 28 ? `${s.name.slice(0, 27)}…` : s.name)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('')
}

/** HdrHistogram-style percentile axis: x = log10(1 / (1 - p)), so 90, 99, 99.9… are evenly spaced. */
export function svg__percentileX(p: number): number {
  return Math.log10(1 / Math.max(1e-6, 1 - p / 100))
}

export const PERCENTILE_TICKS: Array<[number, string]> = [0, 90, 99, 99.9, 99.99, 99.999, 100].map((p) => [
  svg__percentileX(p),
  p === 100 ? 'max' : `${p}%`,
])
