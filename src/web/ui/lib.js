// What every view shares: htm bound to preact, the API call, the live stream, formatting and the uPlot chart.
import {h} from 'preact'
import {useEffect, useState} from 'preact/hooks'
import htm from 'htm'

export const html = htm.bind(h)

/** Calls the admin API (the session cookie goes along); resolves with the JSON body, rejects with {status, code, message, field}. */
export async function api(path, options = {}) {
  const init = {method: options.method ?? 'GET', headers: {}}
  if (options.json !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(options.json)
  }
  const res = await fetch(path, init)
  if (res.status === 401) location.reload()
  const text = await res.text()
  const body = text ? JSON.parse(text) : null
  if (!res.ok) throw Object.assign(new Error(body?.message ?? res.statusText), {status: res.status, code: body?.code, field: body?.field})
  return body
}

/** The live stream (GET /events): history for the charts, a sample a second, and a nudge when clients change. */
const live = {history: [], listeners: new Set(), clientsVersion: 0}
export function startLive() {
  const source = new EventSource('/events')
  source.addEventListener('history', (e) => {
    live.history = JSON.parse(e.data)
    emit()
  })
  source.addEventListener('stats', (e) => {
    live.history.push(JSON.parse(e.data))
    if (live.history.length > 300) live.history.shift()
    emit()
  })
  source.addEventListener('clients', () => {
    live.clientsVersion++
    emit()
  })
}
function emit() {
  for (const fn of live.listeners) fn({history: live.history, clientsVersion: live.clientsVersion})
}
export function useLive() {
  const [state, setState] = useState({history: live.history, clientsVersion: live.clientsVersion})
  useEffect(() => {
    live.listeners.add(setState)
    return () => live.listeners.delete(setState)
  }, [])
  return state
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1048576).toFixed(1)} MiB`
}

export function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

/** A uPlot line chart of the given series over time; redrawn in place when data changes. */
export function Chart({title, series, data, height = 180}) {
  const [el, setEl] = useState(null)
  const [plot, setPlot] = useState(null)
  useEffect(() => {
    if (el === null) return
    const dark = matchMedia('(prefers-color-scheme: dark)').matches
    const axis = {stroke: dark ? '#9aa4b5' : '#5b6577', grid: {stroke: dark ? '#2e3542' : '#e3e7ee'}}
    const colours = ['#0b6bcb', '#e67e22', '#1e8e3e', '#8e44ad']
    const p = new uPlot(
      {
        width: Math.max(280, el.clientWidth - 8),
        height,
        series: [{}, ...series.map((label, i) => ({label, stroke: colours[i % colours.length], width: 2}))],
        axes: [axis, axis],
        legend: {live: false},
      },
      data,
      el,
    )
    setPlot(p)
    const resize = () => p.setSize({width: Math.max(280, el.clientWidth - 8), height})
    addEventListener('resize', resize)
    return () => {
      removeEventListener('resize', resize)
      p.destroy()
    }
  }, [el])
  useEffect(() => {
    if (plot !== null) plot.setData(data)
  }, [plot, data])
  return html`<div class="chart"><h2>${title}</h2><div ref=${setEl} role="img" aria-label=${title}></div></div>`
}

