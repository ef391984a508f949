// The admin page: a shell (navigation, live stream) and one view per route (#/clients, #/topics, ...).
// preact + htm: components without a build step, served from node_modules by the admin server.
import {render} from 'preact'
import {useEffect, useState} from 'preact/hooks'
import {Chart, api, formatAge, formatBytes, html, startLive, useLive} from './lib.js'
import {ClientsView, ConfigView, TopicsView, UsersView} from './views.js'
import {MqttView} from './mqtt-view.js'

function OverviewView() {
  const {history} = useLive()
  const [stats, setStats] = useState(null)
  const [config, setConfig] = useState(null)
  useEffect(() => {
    api('/config').then(setConfig)
  }, [])
  useEffect(() => {
    api('/stats').then(setStats)
  }, [history.length === 0 ? 0 : history[history.length - 1].t])
  const t = history.map((s) => s.t / 1000)
  const last = history[history.length - 1]
  const card = (label, value) => html`<div class="card"><span>${label}</span><b>${value}</b></div>`
  return html`
    <div class="cards">
      ${card('Connections', last?.connections ?? '–')} ${card('Sessions', last?.sessions ?? '–')} ${card('Subscriptions', last?.subscriptions ?? '–')}
      ${card('Retained', last?.retained ?? '–')} ${card('Queued', last?.queued ?? '–')} ${card('In flight', last?.inflight ?? '–')}
      ${card('Messages in/s', last?.messagesInRate ?? '–')} ${card('Messages out/s', last?.messagesOutRate ?? '–')}
    </div>
    <div class="charts">
      <section><${Chart} title="Connections" series=${['connections']} data=${[t, history.map((s) => s.connections)]} /></section>
      <section><${Chart} title="Messages per second" series=${['in', 'out']} data=${[t, history.map((s) => s.messagesInRate), history.map((s) => s.messagesOutRate)]} /></section>
      <section><${Chart} title="Bytes per second" series=${['in', 'out']} data=${[t, history.map((s) => s.bytesInRate), history.map((s) => s.bytesOutRate)]} /></section>
    </div>
    <section>
      <h2>Broker</h2>
      <table><tbody>
        <tr><th>Version</th><td>${stats?.version || '–'}</td></tr>
        <tr><th>Uptime</th><td>${stats ? formatAge(stats.uptimeSeconds * 1000) : '–'}</td></tr>
        <tr><th>Store</th><td>${stats?.store ?? '–'}</td></tr>
        <tr><th>Listeners</th><td>${config?.listeners.map((l) => html`<div>${l.type} ${l.host}:${l.port}</div>`)}</td></tr>
        <tr><th>Received / sent</th><td>${stats ? `${stats.counters.publishReceived} / ${stats.counters.publishSent} messages, ${formatBytes(stats.counters.bytesReceived)} / ${formatBytes(stats.counters.bytesSent)}` : '–'}</td></tr>
        <tr><th>Dropped / expired</th><td>${stats ? `${stats.counters.messagesDropped} / ${stats.counters.messagesExpired}` : '–'}</td></tr>
      </tbody></table>
    </section>`
}

const ROUTES = [
  ['overview', 'Overview', OverviewView],
  ['clients', 'Clients', ClientsView],
  ['topics', 'Topics', TopicsView],
  ['users', 'Users', UsersView],
  ['config', 'Config', ConfigView],
  ['mqtt', 'MQTT client', MqttView],
]

function currentRoute() {
  const name = location.hash.replace(/^#\/?/, '') || 'overview'
  return ROUTES.find((r) => r[0] === name) ?? ROUTES[0]
}

function App() {
  const [route, setRoute] = useState(currentRoute())
  useEffect(() => {
    const on = () => setRoute(currentRoute())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  useEffect(() => {
    document.title = `${route[1]} · mqttkit admin`
  }, [route])
  const View = route[2]
  return html`
    <header>
      <h1>mqttkit</h1>
      <nav aria-label="pages">
        ${ROUTES.map(([name, label]) => html`<a href=${`#/${name}`} aria-current=${route[0] === name ? 'page' : undefined}>${label}</a>`)}
      </nav>
    </header>
    <main id="main" data-page=${route[0]}><${View} /></main>`
}

startLive()
const root = document.getElementById('app')
root.textContent = ''
render(html`<${App} />`, root)
