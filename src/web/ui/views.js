// The management views: clients (search, detail, kick), topics, users, config.
import {useEffect, useState} from 'preact/hooks'
import {api, formatAge, html, useLive} from './lib.js'

function useToast() {
  const [message, setMessage] = useState(null)
  const show = (text) => {
    setMessage(text)
    setTimeout(() => setMessage(null), 3000)
  }
  const node = message === null ? null : html`<div class="toast" role="status">${message}</div>`
  return [node, show]
}

export function ClientsView() {
  const {clientsVersion} = useLive()
  const [search, setSearch] = useState('')
  const [result, setResult] = useState(null)
  const [selected, setSelected] = useState(null)
  const [tick, setTick] = useState(0)
  const [toast, show] = useToast()
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 5000)
    return () => clearInterval(timer)
  }, [])
  useEffect(() => {
    api(`/clients?limit=1000&clientid=${encodeURIComponent(search)}`).then(setResult, (e) => show(e.message))
  }, [search, clientsVersion, tick])
  const kick = async (id, discard) => {
    try {
      await api(`/clients/${encodeURIComponent(id)}${discard ? '?session=true' : ''}`, {method: 'DELETE'})
      show(`${id} kicked${discard ? ', session discarded' : ''}`)
      setResult(await api(`/clients?limit=1000&clientid=${encodeURIComponent(search)}`))
    } catch (e) {
      show(e.message)
    }
  }
  const detail = result?.data.find((c) => c.id === selected)
  const now = Date.now()
  return html`
    <section>
      <div class="row">
        <label>Search client id <input type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} placeholder="part of a client id" aria-label="Search client id" /></label>
        <span class="muted">${result ? `${result.meta.count} client${result.meta.count === 1 ? '' : 's'}` : ''}</span>
      </div>
      <table>
        <thead><tr><th>Client id</th><th>User</th><th class="hide-narrow">Address</th><th>Protocol</th><th>State</th><th class="hide-narrow">Subscriptions</th><th class="hide-narrow">In / out</th><th></th></tr></thead>
        <tbody>
          ${result?.data.map(
            (c) => html`<tr class=${c.id === selected ? 'selected' : ''} data-client=${c.id}>
              <td><button class="link" onClick=${() => setSelected(c.id)} aria-label=${`details of ${c.id}`}>${c.id}</button></td>
              <td>${c.username ?? ''}</td>
              <td class="hide-narrow">${c.address} <span class="muted">${c.transport}</span></td>
              <td>${c.protocol}</td>
              <td>${c.connected ? html`<span class="badge on">connected ${formatAge(now - c.connectedSince)}</span>` : html`<span class="badge">offline</span>`}</td>
              <td class="hide-narrow">${c.subscriptions.map((s) => html`<div>${s.filter} <span class="muted">QoS ${s.qos}</span></div>`)}</td>
              <td class="hide-narrow">${c.messagesIn} / ${c.messagesOut}</td>
              <td>${c.connected ? html`<button class="danger" onClick=${() => kick(c.id, false)}>Kick</button>` : null}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${detail &&
    html`<section aria-label="client details">
      <h2>${detail.id}</h2>
      <table><tbody>
        <tr><th>User</th><td>${detail.username ?? '(anonymous)'}</td></tr>
        <tr><th>Address</th><td>${detail.address} (${detail.transport})</td></tr>
        <tr><th>Protocol</th><td>MQTT ${detail.protocol}, keepalive ${detail.keepalive} s</td></tr>
        <tr><th>Session</th><td>${detail.clean ? 'clean' : `persistent, expiry ${detail.sessionExpiry === null ? 'never' : `${detail.sessionExpiry} s`}`}</td></tr>
        <tr><th>Queues</th><td>${detail.inflight} in flight, ${detail.queued} queued, ${detail.dropped} dropped</td></tr>
        <tr><th>Messages</th><td>${detail.messagesIn} in, ${detail.messagesOut} out</td></tr>
        <tr><th>Subscriptions</th><td>${detail.subscriptions.length === 0 ? 'none' : detail.subscriptions.map((s) => html`<div>${s.filter} QoS ${s.qos}${s.noLocal ? ', no local' : ''}${s.subscriptionId ? `, id ${s.subscriptionId}` : ''}</div>`)}</td></tr>
      </tbody></table>
      <div class="row">
        ${detail.connected ? html`<button class="danger" onClick=${() => kick(detail.id, false)}>Kick</button>` : null}
        <button class="danger" onClick=${() => kick(detail.id, true)}>${detail.connected ? 'Kick and discard session' : 'Discard session'}</button>
      </div>
    </section>`}
    ${toast}`
}

export function TopicsView() {
  const {clientsVersion} = useLive()
  const [topics, setTopics] = useState(null)
  const [filter, setFilter] = useState('#')
  const [retained, setRetained] = useState(null)
  const [error, setError] = useState(null)
  const [toast, show] = useToast()
  const loadRetained = () => api(`/retained?limit=1000&filter=${encodeURIComponent(filter || '#')}`).then((r) => {
    setRetained(r)
    setError(null)
  }, setError)
  useEffect(() => {
    api('/topics').then(setTopics)
  }, [clientsVersion])
  useEffect(() => {
    loadRetained()
  }, [filter, clientsVersion])
  const remove = async (topic) => {
    try {
      await api(`/retained/${topic.split('/').map(encodeURIComponent).join('/')}`, {method: 'DELETE'})
      show(`retained message on ${topic} deleted`)
      loadRetained()
    } catch (err) {
      show(err.message)
    }
  }
  const now = Date.now()
  return html`
    <section>
      <h2>Subscriptions</h2>
      ${topics?.subscriptions.length === 0 ? html`<p class="muted">No subscriptions.</p>` : null}
      <table>
        <thead><tr><th>Filter</th><th>Subscribers</th></tr></thead>
        <tbody>
          ${topics?.subscriptions.map(
            (f) => html`<tr><td>${f.topicFilter}${f.shareGroup ? html` <span class="badge">shared: ${f.shareGroup}</span>` : null}</td>
              <td>${f.subscribers.map((s) => html`<div>${s.clientId} <span class="muted">QoS ${s.qos}${s.connected ? '' : ', offline'}</span></div>`)}</td></tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section aria-label="retained messages">
      <h2>Retained messages <span class="muted">${retained ? `${retained.meta.count} shown of ${retained.meta.total}` : ''}</span></h2>
      <div class="row"><label>Topic filter <input name="retainedFilter" value=${filter} onInput=${(e) => setFilter(e.target.value)} /></label></div>
      ${error && html`<p class="error" role="alert">${error.message}</p>`}
      <table>
        <thead><tr><th>Topic</th><th>Payload</th><th class="hide-narrow">Size</th><th class="hide-narrow">QoS</th><th class="hide-narrow">Age</th><th></th></tr></thead>
        <tbody>
          ${retained?.data.map(
            (m) => html`<tr data-retained=${m.topic}><td>${m.topic}</td><td>${m.encoding === 'base64' ? html`<span class="muted">base64</span> ` : ''}${m.payload.slice(0, 120)}${m.truncated || m.payload.length > 120 ? '…' : ''}</td>
              <td class="hide-narrow">${m.size} B</td><td class="hide-narrow">${m.qos}</td><td class="hide-narrow">${m.storedAt ? formatAge(now - m.storedAt) : ''}</td>
              <td><button class="danger" onClick=${() => remove(m.topic)} aria-label=${`delete retained message on ${m.topic}`}>Delete</button></td></tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${toast}`
}

export function UsersView() {
  const [users, setUsers] = useState(null)
  const [form, setForm] = useState({username: '', password: ''})
  const [error, setError] = useState(null)
  const [toast, show] = useToast()
  const load = () => api('/users').then(setUsers)
  useEffect(() => {
    load()
  }, [])
  const add = async (e) => {
    e.preventDefault()
    setError(null)
    try {
      await api('/users', {method: 'POST', json: form})
      show(`user ${form.username} added`)
      setForm({username: '', password: ''})
      load()
    } catch (err) {
      setError(err)
    }
  }
  const change = async (username) => {
    const password = prompt(`New password for ${username}`)
    if (!password) return
    try {
      await api(`/users/${encodeURIComponent(username)}`, {method: 'PUT', json: {password}})
      show(`password of ${username} changed`)
    } catch (err) {
      show(err.message)
    }
  }
  const remove = async (username) => {
    if (!confirm(`Delete user ${username}?`)) return
    await api(`/users/${encodeURIComponent(username)}`, {method: 'DELETE'}).catch((err) => show(err.message))
    load()
  }
  if (users && !users.passwordFile) return html`<section><h2>Users</h2><p>The broker has no password file: start it with <code>--password-file FILE</code> to manage users here.</p></section>`
  return html`
    <section>
      <h2>Add a user</h2>
      <form class="row" onSubmit=${add}>
        <label>User name <input name="username" value=${form.username} onInput=${(e) => setForm({...form, username: e.target.value})} required autocomplete="off" /></label>
        <label>Password <input name="password" type="password" value=${form.password} onInput=${(e) => setForm({...form, password: e.target.value})} required autocomplete="new-password" /></label>
        <button class="primary" type="submit">Add user</button>
      </form>
      ${error && html`<p class="error" role="alert">${error.message}</p>`}
    </section>
    <section>
      <h2>Users</h2>
      <table>
        <thead><tr><th>User name</th><th></th></tr></thead>
        <tbody>
          ${users?.data.map((u) => html`<tr><td>${u.username}</td><td><div class="row"><button onClick=${() => change(u.username)}>Change password</button><button class="danger" onClick=${() => remove(u.username)}>Delete</button></div></td></tr>`)}
        </tbody>
      </table>
    </section>
    ${toast}`
}

const FIELDS = [
  ['allowAnonymous', 'Allow anonymous clients', 'boolean'],
  ['maxConnections', 'Max connections', 'number'],
  ['maxKeepalive', 'Max keepalive (s)', 'number'],
  ['maxQueued', 'Max queued messages per session', 'number'],
  ['maxSubscriptions', 'Max subscriptions per session', 'number'],
  ['maxTopicLength', 'Max topic length (bytes)', 'number'],
  ['maxTopicLevels', 'Max topic levels', 'number'],
  ['maxClientIdLength', 'Max client id length', 'number'],
  ['maxOutputBuffer', 'Max output buffer (bytes)', 'number'],
  ['connectTimeout', 'Connect timeout (ms)', 'number'],
  ['maxPublishRate', 'Max PUBLISH per second per connection (0: unlimited)', 'number'],
  ['maxPublishBytesRate', 'Max payload bytes per second per connection (0: unlimited)', 'number'],
]

export function ConfigView() {
  const [config, setConfig] = useState(null)
  const [draft, setDraft] = useState({})
  const [error, setError] = useState(null)
  const [toast, show] = useToast()
  useEffect(() => {
    api('/config').then((c) => {
      setConfig(c)
      setDraft(c)
    })
  }, [])
  if (config === null) return html`<p class="muted">Loading…</p>`
  const save = async (e) => {
    e.preventDefault()
    setError(null)
    const patch = {}
    for (const [name, , type] of FIELDS) {
      const value = type === 'number' ? Number(draft[name]) : draft[name]
      if (value !== config[name]) patch[name] = value
    }
    try {
      const next = await api('/config', {method: 'POST', json: patch})
      setConfig(next)
      setDraft(next)
      show(Object.keys(patch).length === 0 ? 'nothing changed' : `saved: ${Object.keys(patch).join(', ')}`)
    } catch (err) {
      setError(err)
    }
  }
  return html`
    <form onSubmit=${save}>
      <section>
        <h2>Live settings</h2>
        <p class="muted">Changes apply to new connections, without a restart${config.configFile ? `, and are written to ${config.configFile}` : ''}.</p>
        <div class="grid-form">
          ${FIELDS.map(([name, label, type]) =>
            type === 'boolean'
              ? html`<label class="inline"><input type="checkbox" name=${name} checked=${draft[name]} onChange=${(e) => setDraft({...draft, [name]: e.target.checked})} /> ${label}</label>`
              : html`<label>${label}<input type="number" name=${name} value=${draft[name]} onInput=${(e) => setDraft({...draft, [name]: e.target.value})} aria-invalid=${error?.field === name} />
                  ${error?.field === name ? html`<span class="error" role="alert">${error.message}</span>` : null}</label>`,
          )}
        </div>
        ${error && !FIELDS.some(([n]) => n === error.field) ? html`<p class="error" role="alert">${error.message}</p>` : null}
        <div class="row" style="margin-top:.75rem"><button class="primary" type="submit">Save</button></div>
      </section>
    </form>
    <section>
      <h2>Listeners (read-only while running)</h2>
      <table><tbody>${config.listeners.map((l) => html`<tr><td>${l.type}</td><td>${l.host}:${l.port}</td></tr>`)}</tbody></table>
    </section>
    ${toast}`
}
