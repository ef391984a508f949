/**
 * The admin REST API over real HTTP (fetch against the AdminServer on a free port), with real MQTT clients
 * (mqtt.js) on the broker it manages.
 */
import http from 'node:http'
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import type {IDisconnectPacket} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {AuthFiles} from '../../src/broker/auth/hooks.js'
import {webToken__reset} from '../../src/web/token.js'
import {cleanup, connect, connectRefusal as refusedConnect, nextMessages} from '../broker/helpers.js'
import {TOKEN, web__cleanup, web__start, web__tempDir} from './helpers.js'

afterEach(async () => {
  await web__cleanup()
  await cleanup()
})

/** A raw request, for headers fetch will not let us set (Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    http
      .get(url, {headers}, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({status: res.statusCode!, body}))
      })
      .on('error', reject)
  })
}

describe('access', () => {
  it('answers 401 and no data without a token or with a wrong one, on every API route and the page', async () => {
    const {api} = await web__start()
    for (const path of ['/config', '/users', '/clients', '/topics', '/retained', '/stats', '/openapi.json', '/events', '/app.js', '/vendor/mqtt.js']) {
      const res = await api(path, {token: null})
      expect(res.status, path).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
      expect(await res.json()).toMatchObject({code: 'unauthorized'})
    }
    const post = await api('/publish', {method: 'POST', json: {topic: 'x'}, token: null})
    expect(post.status).toBe(401)
    const page = await api('/', {token: null})
    expect(page.status).toBe(401)
    const html = await page.text()
    expect(html).toContain('Admin token')
    expect(html).not.toContain('app.js')
    expect((await api('/clients', {token: 'wrong-token-wrong-token'})).status).toBe(401)
  })

  it('throttles failed logins: the 6th attempt within a minute gets 429 with Retry-After, even with the right token', async () => {
    const {api} = await web__start()
    for (let i = 0; i < 5; i++) expect((await api('/stats', {token: `bad-${i}`})).status).toBe(401)
    const throttled = await api('/stats', {token: 'bad-6'})
    expect(throttled.status).toBe(429)
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(50)
    expect(await throttled.json()).toMatchObject({code: 'too_many_failures'})
    expect((await api('/stats')).status).toBe(429)
  })

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin with 403', async () => {
    const {url} = await web__start()
    const auth = {authorization: `Bearer ${TOKEN}`}
    const evil = await rawGet(`${url}/clients`, {...auth, host: 'evil.example:8000'})
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body)).toMatchObject({code: 'forbidden_host'})
    expect(evil.body).not.toContain('data')
    const origin = await rawGet(`${url}/clients`, {...auth, origin: 'http://evil.example'})
    expect(origin.status).toBe(403)
    expect((await rawGet(`${url}/clients`, {...auth, host: new URL(url).host.replace('127.0.0.1', 'localhost')})).status).toBe(200)
  })

  it('/metrics is open on a loopback bind, and needs the token with metricsAuth', async () => {
    const open = await web__start()
    const metrics = await open.api('/metrics', {token: null})
    expect(metrics.status).toBe(200)
    const text = await metrics.text()
    for (const name of ['mqttkit_connections ', 'mqttkit_messages_received_total', 'mqttkit_bytes_sent_total', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) expect(text).toContain(name)
    const closed = await web__start({}, {metricsAuth: true})
    expect((await closed.api('/metrics', {token: null})).status).toBe(401)
    expect((await closed.api('/metrics')).status).toBe(200)
  })

  it('makes a token at the first start, keeps only its hash (mode 0600), logs in once by URL into a cookie session', async () => {
    const dataDir = await web__tempDir()
    const {admin, url} = await web__start({}, {dataDir})
    const loginUrl = admin.address!.loginUrl!
    const token = new URL(loginUrl).searchParams.get('token')!
    expect(token.length).toBeGreaterThanOrEqual(40)
    const file = join(dataDir, 'web-token')
    const stored = await readFile(file, 'utf8')
    expect(stored).toMatch(/^sha256:[0-9a-f]{64}\n$/)
    expect(stored).not.toContain(token)
    expect((await stat(file)).mode & 0o777).toBe(0o600)

    const login = await fetch(loginUrl, {redirect: 'manual'})
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/')
    const cookie = login.headers.get('set-cookie')!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const session = cookie.split(';')[0]!
    expect((await fetch(`${url}/clients`, {headers: {cookie: session}})).status).toBe(200)
    const page = await fetch(`${url}/`, {headers: {cookie: session}})
    expect(page.status).toBe(200)
    // A cookie alone does not make a change: the browser would send it for any site's form.
    const noOrigin = await fetch(`${url}/config`, {method: 'POST', headers: {cookie: session, 'content-type': 'application/json'}, body: '{"maxConnections": 10}'})
    expect(noOrigin.status).toBe(403)
    const sameOrigin = await fetch(`${url}/config`, {method: 'POST', headers: {cookie: session, origin: url, 'content-type': 'application/json'}, body: '{"maxConnections": 10}'})
    expect(sameOrigin.status).toBe(200)

    // A second start with the same data directory prints no login URL: the token is not known any more.
    await admin.close()
    const again = await web__start({}, {dataDir})
    expect(again.admin.address!.loginUrl).toBeUndefined()
    expect((await again.api('/stats', {token})).status).toBe(200)
    // `mqttkit web-token --reset` (the same function) ends the old token, in the running server too.
    const fresh = await webToken__reset(dataDir)
    await new Promise((r) => setTimeout(r, 1100))
    expect((await again.api('/stats', {token})).status).toBe(401)
    expect((await again.api('/stats', {token: fresh})).status).toBe(200)
  })
})

describe('routes', () => {
  it('GET /clients lists connected clients with paging and filters; DELETE kicks with DISCONNECT 0x98', async () => {
    const {api, mqttPort} = await web__start()
    const c = await connect(mqttPort, {clientId: 'web-api-1', username: 'ann', protocolVersion: 5, keepalive: 20})
    await c.subscribeAsync('x/#', {qos: 1})
    await connect(mqttPort, {clientId: 'web-api-2', protocolVersion: 4})
    await connect(mqttPort, {clientId: 'other', protocolVersion: 4})
    const all = (await (await api('/clients')).json()) as {data: Array<Record<string, unknown>>; meta: Record<string, number>}
    expect(all.meta).toEqual({page: 1, limit: 100, count: 3})
    const one = all.data.find((d) => d.id === 'web-api-1')!
    expect(one).toMatchObject({username: 'ann', transport: 'tcp', protocol: '5.0', keepalive: 20, clean: true, connected: true, inflight: 0, queued: 0, subscriptions: [{filter: 'x/#', qos: 1}]})
    const paged = (await (await api('/clients?clientid=web-api&limit=1&page=2')).json()) as {data: Array<{id: string}>; meta: unknown}
    expect(paged).toEqual({data: [expect.objectContaining({id: 'web-api-2'})], meta: {page: 2, limit: 1, count: 2}})
    expect(((await (await api('/clients?username=ann')).json()) as {meta: {count: number}}).meta.count).toBe(1)
    expect(await (await api('/clients?limit=0')).json()).toMatchObject({code: 'invalid_query', field: 'limit'})
    expect((await api('/clients/web-api-1')).status).toBe(200)
    const gone = new Promise<IDisconnectPacket>((resolve) => c.once('disconnect', resolve))
    expect((await api('/clients/web-api-1', {method: 'DELETE'})).status).toBe(204)
    expect((await gone).reasonCode).toBe(0x98)
    expect((await api('/clients/nobody', {method: 'DELETE'})).status).toBe(404)
  })

  it('POST /config changes max-connections for the next CONNECT and writes the --config file back; bad values: 400 naming the field', async () => {
    const dir = await web__tempDir()
    const configFile = join(dir, 'broker.yaml')
    await writeFile(configFile, '# my broker\nmax-connections: 100 # keep it small\nlog-level: warn\n')
    const {api, mqttPort} = await web__start({}, {configFile})
    const config = (await (await api('/config')).json()) as Record<string, unknown>
    expect(config).toMatchObject({allowAnonymous: true, maxConnections: 100_000, readOnly: ['listeners'], configFile})
    expect(config.listeners).toEqual([{type: 'tcp', host: '127.0.0.1', port: mqttPort}])
    await connect(mqttPort, {clientId: 'first', protocolVersion: 5})
    const changed = await api('/config', {method: 'POST', json: {'max-connections': 1}})
    expect(changed.status).toBe(200)
    expect(await changed.json()).toMatchObject({maxConnections: 1})
    expect(await refusedConnect(mqttPort, {clientId: 'second', protocolVersion: 5})).toBe(0x97)
    const text = await readFile(configFile, 'utf8')
    expect(text).toContain('# my broker')
    expect(text).toMatch(/^max-connections: 1 # keep it small$/m)
    expect(text).toContain('log-level: warn')

    const bad = await api('/config', {method: 'POST', json: {maxKeepalive: 0}})
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({code: 'invalid_value', field: 'maxKeepalive', message: 'maxKeepalive must be an integer from 1 to 65535, got 0'})
    expect(await (await api('/config', {method: 'POST', json: {listeners: []}})).json()).toMatchObject({code: 'read_only_setting', field: 'listeners'})
    expect(await (await api('/config', {method: 'POST', json: {nope: 1}})).json()).toMatchObject({code: 'unknown_setting', field: 'nope'})
    const notJson = await api('/config', {method: 'POST', body: '{oops', headers: {'content-type': 'application/json'}})
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({code: 'invalid_json'})
  })

  it('/users adds, changes and deletes users of the password file, live, never showing a hash; 409 for an existing user', async () => {
    const dir = await web__tempDir()
    const passwordFile = join(dir, 'passwd')
    await writeFile(passwordFile, '', {mode: 0o600})
    const auth = await AuthFiles.load({passwordFile, allowAnonymous: false, failedLoginDelayMs: 0})
    const {api, mqttPort} = await web__start({auth})
    expect(await (await api('/users')).json()).toEqual({data: [], passwordFile: true})
    expect((await api('/users', {method: 'POST', json: {username: 'carol', password: 'c-secret'}})).status).toBe(201)
    const exists = await api('/users', {method: 'POST', json: {username: 'carol', password: 'other'}})
    expect(exists.status).toBe(409)
    expect(await exists.json()).toMatchObject({code: 'user_exists'})
    expect(await (await api('/users', {method: 'POST', json: {username: 'dave', password: ''}})).json()).toMatchObject({code: 'invalid_password', field: 'password'})
    const c = await connect(mqttPort, {clientId: 'carol-1', username: 'carol', password: 'c-secret', protocolVersion: 5})
    c.end(true)
    expect((await api('/users/carol', {method: 'PUT', json: {password: 'new-secret'}})).status).toBe(200)
    expect(await refusedConnect(mqttPort, {clientId: 'carol-2', username: 'carol', password: 'c-secret', protocolVersion: 5})).toBe(0x86)
    await connect(mqttPort, {clientId: 'carol-3', username: 'carol', password: 'new-secret', protocolVersion: 5})
    const list = await (await api('/users')).text()
    expect(list).toBe('{"data":[{"username":"carol"}],"passwordFile":true}')
    expect((await readFile(passwordFile, 'utf8')).startsWith('carol:$scrypt$') || (await readFile(passwordFile, 'utf8')).startsWith('carol:')).toBe(true)
    expect((await api('/users/carol', {method: 'DELETE'})).status).toBe(204)
    expect((await api('/users/carol', {method: 'DELETE'})).status).toBe(404)
    expect(await refusedConnect(mqttPort, {clientId: 'carol-4', username: 'carol', password: 'new-secret', protocolVersion: 5})).toBe(0x86)
  })

  it('/users without a password file: 409 no_password_file', async () => {
    const {api} = await web__start()
    expect(await (await api('/users')).json()).toEqual({data: [], passwordFile: false})
    const res = await api('/users', {method: 'POST', json: {username: 'x', password: 'y'}})
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({code: 'no_password_file'})
  })

  it('POST /publish reaches subscribers (plain and base64, MQTT 5 properties) and says how many; GET /topics lists the filter', async () => {
    const {api, mqttPort} = await web__start()
    const sub = await connect(mqttPort, {clientId: 'listener', protocolVersion: 5})
    await sub.subscribeAsync('web/+', {qos: 1})
    const got = nextMessages(sub, 2)
    const res = await api('/publish', {method: 'POST', json: {topic: 'web/a', payload: 'hello', qos: 1, properties: {contentType: 'text/plain', userProperties: {from: 'admin'}}}})
    expect(await res.json()).toEqual({reached: 1})
    await api('/publish', {method: 'POST', json: {topic: 'web/b', payload: Buffer.from([0, 1, 2]).toString('base64'), encoding: 'base64'}})
    const [a, b] = await got
    expect(a!.payload.toString()).toBe('hello')
    expect(a!.packet.properties).toMatchObject({contentType: 'text/plain', userProperties: {from: 'admin'}})
    expect([...b!.payload]).toEqual([0, 1, 2])
    expect(await (await api('/publish', {method: 'POST', json: {topic: 'web/+', payload: 'x'}})).json()).toMatchObject({code: 'invalid_topic', field: 'topic'})
    expect(await (await api('/publish', {method: 'POST', json: {topic: 'a', qos: 3}})).json()).toMatchObject({code: 'invalid_value', field: 'qos'})
    expect(await (await api('/publish', {method: 'POST', json: {topic: 'a', properties: {colour: 'red'}}})).json()).toMatchObject({field: 'properties.colour'})
    expect(await (await api('/topics')).json()).toEqual({subscriptions: [expect.objectContaining({filter: 'web/+', subscribers: [expect.objectContaining({clientId: 'listener', qos: 1})]})], retained: []})
  })

  it('GET /retained lists retained messages by filter (text or base64); DELETE /retained/{topic} clears one as an empty retained PUBLISH would', async () => {
    const {api, broker, mqttPort} = await web__start()
    const pub = await connect(mqttPort, {clientId: 'retainer', protocolVersion: 5})
    await pub.publishAsync('house/kitchen/temp', '21.5', {qos: 1, retain: true})
    await pub.publishAsync('house/hall/raw', Buffer.from([0xff, 0x00, 0x01]), {qos: 0, retain: true})
    await pub.publishAsync('garden/temp', '12', {qos: 0, retain: true})
    const all = (await (await api('/retained')).json()) as {data: Array<Record<string, unknown>>; meta: Record<string, number>}
    expect(all.meta).toMatchObject({count: 3, total: 3})
    expect(all.data.map((m) => m.topic)).toEqual(['garden/temp', 'house/hall/raw', 'house/kitchen/temp'])
    expect(all.data[1]).toMatchObject({encoding: 'base64', payload: Buffer.from([0xff, 0x00, 0x01]).toString('base64'), size: 3, qos: 0})
    expect(all.data[2]).toMatchObject({encoding: 'plain', payload: '21.5', qos: 1, storedAt: expect.any(Number)})
    const house = (await (await api('/retained?filter=house/%2B/temp')).json()) as {data: Array<{topic: string}>}
    expect(house.data.map((m) => m.topic)).toEqual(['house/kitchen/temp'])
    expect(await (await api('/retained?filter=a/%23/b')).json()).toMatchObject({code: 'invalid_query', field: 'filter'})
    expect(((await (await api('/topics')).json()) as {retained: unknown[]}).retained).toEqual([
      {topic: 'garden/temp', size: 2, qos: 0},
      {topic: 'house/hall/raw', size: 3, qos: 0},
      {topic: 'house/kitchen/temp', size: 4, qos: 1},
    ])

    const watcher = await connect(mqttPort, {clientId: 'watch-retained', protocolVersion: 5})
    await watcher.subscribeAsync('house/#', {qos: 1, rh: 2})
    const cleared = nextMessages(watcher, 1)
    expect((await api('/retained/house/kitchen/temp', {method: 'DELETE'})).status).toBe(204)
    const [empty] = await cleared
    expect([empty!.topic, empty!.payload.length]).toEqual(['house/kitchen/temp', 0])
    expect(broker.retained.get('house/kitchen/temp')).toBeUndefined()
    expect((await api('/retained/house/kitchen/temp', {method: 'DELETE'})).status).toBe(404)
    expect((await api('/retained/a/%2B', {method: 'DELETE'})).status).toBe(400)
  })

  it('GET /stats, GET /openapi.json and the SSE stream at /events', async () => {
    const {api, url} = await web__start()
    const stats = (await (await api('/stats')).json()) as Record<string, unknown>
    expect(stats).toMatchObject({store: 'memory', counters: expect.objectContaining({clientsConnected: 0})})
    const doc = (await (await api('/openapi.json')).json()) as {openapi: string; paths: Record<string, unknown>}
    expect(doc.openapi).toMatch(/^3\./)
    for (const path of ['/config', '/users', '/users/{username}', '/clients', '/clients/{id}', '/topics', '/retained', '/retained/{topic}', '/publish', '/stats', '/metrics']) expect(doc.paths).toHaveProperty([path])
    const controller = new AbortController()
    const events = await fetch(`${url}/events`, {headers: {authorization: `Bearer ${TOKEN}`}, signal: controller.signal})
    expect(events.headers.get('content-type')).toBe('text/event-stream')
    const reader = events.body!.getReader()
    let text = ''
    const deadline = Date.now() + 4000
    while (!text.includes('event: stats') && Date.now() < deadline) text += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    expect(text).toContain('event: history')
    expect(text).toMatch(/event: stats\ndata: \{"t":\d+,"connections":0/)
  })

  it('no response carries a password hash or the token hash', async () => {
    const dir = await web__tempDir()
    const passwordFile = join(dir, 'passwd')
    await writeFile(passwordFile, '', {mode: 0o600})
    const auth = await AuthFiles.load({passwordFile, failedLoginDelayMs: 0})
    const {api, admin, mqttPort} = await web__start({auth}, {dataDir: dir})
    const token = new URL(admin.address!.loginUrl!).searchParams.get('token')!
    const call = (path: string, init: Parameters<typeof api>[1] = {}) => api(path, {token, ...init})
    const bodies: string[] = []
    const keep = async (res: Promise<Response>) => bodies.push(await (await res).text())
    await keep(call('/users', {method: 'POST', json: {username: 'erin', password: 'e-secret'}}))
    await connect(mqttPort, {clientId: 'erin-1', username: 'erin', password: 'e-secret'})
    for (const path of ['/config', '/users', '/clients', '/clients/erin-1', '/topics', '/stats', '/metrics', '/openapi.json', '/']) await keep(call(path))
    await keep(call('/users/erin', {method: 'PUT', json: {password: 'e-2'}}))
    await keep(call('/config', {method: 'POST', json: {maxQueued: 50}}))
    const userHash = (await readFile(passwordFile, 'utf8')).split(':').slice(1).join(':').trim()
    const tokenHash = (await readFile(join(dir, 'web-token'), 'utf8')).trim()
    expect(userHash.length).toBeGreaterThan(20)
    for (const body of bodies) {
      expect(body).not.toContain(userHash)
      expect(body).not.toContain(tokenHash)
      expect(body).not.toContain(tokenHash.slice(7))
      expect(body).not.toMatch(/\$scrypt\$|\$7\$|\$6\$/)
      expect(body).not.toContain(token)
    }
  })
})
