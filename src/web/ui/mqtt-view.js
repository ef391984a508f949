// The page's own MQTT client: mqtt.js's browser build over the broker's WebSocket listener. Subscribe, publish
// (QoS 0/1/2, retain, MQTT 5 properties), a live message log and a live chart of a topic's numeric payloads.
import {useEffect, useRef, useState} from 'preact/hooks'
import mqttModule from '/vendor/mqtt.js'
import {Chart, api, html} from './lib.js'

const mqtt = mqttModule.connect ? mqttModule : mqttModule.default
const LOG_MAX = 200
const POINTS_MAX = 300

export function MqttView() {
  const [settings, setSettings] = useState({url: '', clientId: `mqttkit-web-${Math.random().toString(16).slice(2, 8)}`, username: '', password: ''})
  const [state, setState] = useState('disconnected')
  const [error, setError] = useState(null)
  const [subs, setSubs] = useState([])
  const [sub, setSub] = useState({filter: '#', qos: 0})
  const [pub, setPub] = useState({topic: 'test', payload: '', qos: 0, retain: false, contentType: '', userProperty: '', expiry: ''})
  const [log, setLog] = useState([])
  const [chartTopic, setChartTopic] = useState('')
  const [points, setPoints] = useState([[], []])
  const client = useRef(null)
  const chartTopicRef = useRef('')
  chartTopicRef.current = chartTopic

  useEffect(() => {
    api('/config').then((c) => {
      const ws = c.listeners.find((l) => l.type === 'ws')
      if (ws) setSettings((s) => ({...s, url: `ws://${location.hostname}:${ws.port}/mqtt`}))
      else setError('The broker has no WebSocket listener (start it without --no-ws).')
    })
    return () => client.current?.end(true)
  }, [])

  const connect = (e) => {
    e.preventDefault()
    setError(null)
    client.current?.end(true)
    const c = mqtt.connect(settings.url, {clientId: settings.clientId, username: settings.username || undefined, password: settings.password || undefined, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000})
    client.current = c
    setState('connecting')
    c.on('connect', () => setState('connected'))
    c.on('close', () => setState('disconnected'))
    c.on('error', (err) => setError(err.message))
    c.on('message', (topic, payload, packet) => {
      const text = new TextDecoder().decode(payload)
      setLog((l) => [{t: Date.now(), topic, text, qos: packet.qos, retain: packet.retain}, ...l].slice(0, LOG_MAX))
      if (topic === chartTopicRef.current) {
        const value = Number.parseFloat(text)
        if (Number.isFinite(value)) setPoints(([ts, vs]) => [[...ts, Date.now() / 1000].slice(-POINTS_MAX), [...vs, value].slice(-POINTS_MAX)])
      }
    })
  }
  const disconnect = () => client.current?.end()
  const subscribe = (e) => {
    e.preventDefault()
    const qos = Number(sub.qos)
    client.current.subscribe(sub.filter, {qos}, (err, granted) => {
      if (err) return setError(err.message)
      const code = granted?.[0]?.qos
      if (code !== undefined && code >= 0x80) return setError(`subscription to ${sub.filter} refused (0x${code.toString(16)})`)
      setSubs((list) => [...list.filter((s) => s.filter !== sub.filter), {filter: sub.filter, qos}])
    })
  }
  const unsubscribe = (filter) => client.current.unsubscribe(filter, () => setSubs((list) => list.filter((s) => s.filter !== filter)))
  const publish = (e) => {
    e.preventDefault()
    const properties = {}
    if (pub.contentType) properties.contentType = pub.contentType
    if (pub.expiry) properties.messageExpiryInterval = Number(pub.expiry)
    if (pub.userProperty.includes('=')) {
      const [k, ...v] = pub.userProperty.split('=')
      properties.userProperties = {[k]: v.join('=')}
    }
    client.current.publish(pub.topic, pub.payload, {qos: Number(pub.qos), retain: pub.retain, properties}, (err) => err && setError(err.message))
  }
  const connected = state === 'connected'
  const field = (obj, set, name) => ({value: obj[name], onInput: (e) => set({...obj, [name]: e.target.value})})
  return html`
    <section>
      <h2>Connection <span class=${`badge ${connected ? 'on' : ''}`} data-state=${state}>${state}</span></h2>
      <form class="row" onSubmit=${connect}>
        <label>WebSocket URL <input name="url" size="28" ...${field(settings, setSettings, 'url')} /></label>
        <label>Client id <input name="clientId" ...${field(settings, setSettings, 'clientId')} /></label>
        <label>User name <input name="username" autocomplete="off" ...${field(settings, setSettings, 'username')} /></label>
        <label>Password <input name="password" type="password" autocomplete="off" ...${field(settings, setSettings, 'password')} /></label>
        <button class="primary" type="submit">${connected ? 'Reconnect' : 'Connect'}</button>
        ${connected ? html`<button type="button" onClick=${disconnect}>Disconnect</button>` : null}
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>
    <div class="charts">
      <section>
        <h2>Subscribe</h2>
        <form class="row" onSubmit=${subscribe}>
          <label>Topic filter <input name="filter" ...${field(sub, setSub, 'filter')} required /></label>
          <label>QoS <select name="subQos" ...${field(sub, setSub, 'qos')}><option>0</option><option>1</option><option>2</option></select></label>
          <button type="submit" disabled=${!connected}>Subscribe</button>
        </form>
        ${subs.map((s) => html`<div class="row"><span>${s.filter} <span class="muted">QoS ${s.qos}</span></span><button type="button" onClick=${() => unsubscribe(s.filter)}>Unsubscribe</button></div>`)}
      </section>
      <section>
        <h2>Publish</h2>
        <form onSubmit=${publish}>
          <div class="row">
            <label>Topic <input name="topic" ...${field(pub, setPub, 'topic')} required /></label>
            <label>QoS <select name="pubQos" ...${field(pub, setPub, 'qos')}><option>0</option><option>1</option><option>2</option></select></label>
            <label class="inline"><input type="checkbox" name="retain" checked=${pub.retain} onChange=${(e) => setPub({...pub, retain: e.target.checked})} /> retain</label>
          </div>
          <div class="row"><label style="flex:1">Payload <textarea name="payload" rows="2" ...${field(pub, setPub, 'payload')}></textarea></label></div>
          <div class="row">
            <label>Content type <input name="contentType" ...${field(pub, setPub, 'contentType')} /></label>
            <label>User property (k=v) <input name="userProperty" ...${field(pub, setPub, 'userProperty')} /></label>
            <label>Expiry (s) <input name="expiry" type="number" min="0" ...${field(pub, setPub, 'expiry')} /></label>
            <button class="primary" type="submit" disabled=${!connected}>Publish</button>
          </div>
        </form>
      </section>
    </div>
    <section>
      <div class="row"><label>Chart the numbers published to <input name="chartTopic" value=${chartTopic} onInput=${(e) => {
        setChartTopic(e.target.value)
        setPoints([[], []])
      }} placeholder="sensors/temperature" /></label></div>
      <${Chart} title=${chartTopic ? `Values of ${chartTopic}` : 'Values (choose a topic you subscribed to)'} series=${['value']} data=${points} />
    </section>
    <section>
      <h2>Messages <span class="muted">(newest first, last ${LOG_MAX})</span></h2>
      <div class="log" aria-live="polite" id="message-log">
        ${log.map((m) => html`<div><span class="muted">${new Date(m.t).toLocaleTimeString()} QoS ${m.qos}${m.retain ? ' retained' : ''}</span> <b>${m.topic}</b> ${m.text}</div>`)}
      </div>
    </section>`
}
