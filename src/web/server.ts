/**
 * The admin HTTP server: REST API, live stream and the page, on its own port (default 127.0.0.1:8000), built on
 * fastify (small, fast, maintained; schema-free here because each route checks its input and names the bad field).
 * It uses only the broker's public management API (broker.clients, .subscriptions, .users, .configure, .stats,
 * .publish), so an application embedding a Broker can run one too: `new AdminServer(broker, {port: 0}).listen()`.
 */
import {readFile} from 'node:fs/promises'
import type {FastifyInstance, FastifyReply} from 'fastify'
import type {Broker} from '../broker/broker.js'
import {ApiError, api__send} from './errors.js'
import {Guard, guard__allowedHosts, guard__bindWarnings, guard__isLoopback} from './guard.js'
import {openapi__document} from './openapi.js'
import {LOGIN_PAGE, page__files} from './page.js'
import {routes__clients} from './routes/clients.js'
import {routes__config} from './routes/config.js'
import {routes__live} from './routes/live.js'
import {routes__messages} from './routes/messages.js'
import {StatsSampler} from './sampler.js'
import {TokenSource} from './token.js'

export interface AdminServerOptions {
  /** Default 127.0.0.1. A non-loopback address without TLS in front is reported by `warnings`. */
  host?: string
  /** Default 8000; 0: any free port. */
  port?: number
  /** The admin token; without it the hash in `<dataDir>/web-token` is used (made at the first start). */
  token?: string
  dataDir?: string
  /** Require the token for GET /metrics on a loopback bind too (it always needs it on other binds). */
  metricsAuth?: boolean
  /** The broker's --config file, to write POST /config changes back to. */
  configFile?: string
  /** More Host header names to answer to (a reverse proxy's name), each without port. */
  allowedHosts?: string[]
  /** Shown by /stats and the page. */
  version?: string
}

export interface AdminAddress {
  host: string
  port: number
  url: string
  /** `url?token=...`, only when this start made a new token (it is never shown again). */
  loginUrl?: string
  warnings: string[]
}

export class AdminServer {
  private app: FastifyInstance | undefined
  private sampler: StatsSampler | undefined
  address: AdminAddress | undefined

  constructor(
    readonly broker: Broker,
    private readonly options: AdminServerOptions = {},
  ) {}

  async listen(): Promise<AdminAddress> {
    const host = this.options.host ?? '127.0.0.1'
    const {source, created} = await TokenSource.open({token: this.options.token, dataDir: this.options.dataDir})
    // fastify and prom-client are imported here, not at the top: `import {Broker} from 'mqttkit'` re-exports this
    // class, and an embedding app (or `broker --no-web`) that never starts the admin should not pay for them.
    const [{default: Fastify}, {metrics__registry}] = await Promise.all([import('fastify'), import('./metrics.js')])
    const app = Fastify({logger: false, bodyLimit: 1_048_576, trustProxy: false, forceCloseConnections: true})
    this.app = app
    const sampler = new StatsSampler(this.broker)
    this.sampler = sampler
    // The port is known only after listen (port 0): the Host allow-list is filled in then, before any request is served.
    const guard = new Guard(source, new Set())
    const metricsOpen = guard__isLoopback(host) && this.options.metricsAuth !== true
    const files = page__files()

    app.addHook('onRequest', async (request, reply) => {
      const refused = guard.checkOrigin(request)
      if (refused !== null && !refused.ok) return refuse(reply, refused)
      const path = request.url.split('?')[0]!
      if (path === '/metrics' && metricsOpen && request.method === 'GET') return
      const query = request.query as Record<string, string | undefined>
      const pageLogin = path === '/' && request.method === 'GET' && typeof query.token === 'string'
      const verdict = await guard.authenticate(request, pageLogin ? query.token : undefined)
      if (verdict.ok) {
        if (pageLogin) {
          // The token leaves the address bar (and the history) at once: the session cookie carries on.
          await guard.startSession(reply)
          return reply.code(303).header('location', '/').header('cache-control', 'no-store').send()
        }
        // A cookie is sent by the browser on its own: a state-changing request must also prove it comes from our page.
        if (verdict.via === 'cookie' && request.method !== 'GET' && request.method !== 'HEAD' && request.headers.origin === undefined) {
          return api__send(reply, new ApiError(403, 'forbidden_origin', 'a cookie-authenticated change needs an Origin header'))
        }
        return
      }
      if (verdict.status === 401 && path === '/' && request.method === 'GET') {
        return reply.code(401).header('www-authenticate', 'Bearer').type('text/html; charset=utf-8').send(LOGIN_PAGE)
      }
      return refuse(reply, verdict)
    })
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff')
      reply.header('referrer-policy', 'no-referrer')
      reply.header('x-frame-options', 'DENY')
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
      return payload
    })

    app.setErrorHandler((error: Error & {statusCode?: number; code?: string}, _request, reply) => {
      if (error instanceof ApiError) return api__send(reply, error)
      if (error.statusCode !== undefined && error.statusCode < 500) {
        return api__send(reply, new ApiError(error.statusCode, error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(error.message) ? 'invalid_json' : 'bad_request', error.message))
      }
      this.broker.logger.error(`admin: ${error.stack ?? error.message}`)
      return api__send(reply, new ApiError(500, 'internal_error', 'internal error (logged by the broker)'))
    })
    app.setNotFoundHandler((request, reply) => api__send(reply, new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`)))

    routes__clients(app, this.broker)
    routes__config(app, this.broker, {configFile: this.options.configFile})
    routes__messages(app, this.broker)
    routes__live(app, this.broker, sampler, metrics__registry(this.broker), this.options.version ?? '')
    app.get('/openapi.json', async () => openapi__document(this.options.version ?? ''))
    app.post('/logout', async (request, reply) => {
      guard.endSession(request)
      return reply.header('set-cookie', 'mqttkit_admin=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0').code(204).send()
    })
    for (const [path, file] of files) {
      app.get(path, async (_request, reply) => reply.type(file.type).header('cache-control', 'no-cache').send(await readFile(file.path)))
    }

    await app.listen({host, port: this.options.port ?? 8000})
    const bound = app.server.address() as {port: number}
    for (const name of guard__allowedHosts(host, bound.port, this.options.allowedHosts)) guard.hosts.add(name)
    sampler.start()
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
    const url = `http://${shown}:${bound.port}/`
    const warnings = guard__bindWarnings(host)
    this.address = {host, port: bound.port, url, loginUrl: created === undefined ? undefined : `${url}?token=${created}`, warnings}
    return this.address
  }

  async close(): Promise<void> {
    this.sampler?.stop()
    await this.app?.close()
    this.app = undefined
  }
}

function refuse(reply: FastifyReply, verdict: {status: number; code: string; message: string; retryAfter?: number}): FastifyReply {
  if (verdict.retryAfter !== undefined) reply.header('retry-after', String(verdict.retryAfter))
  if (verdict.status === 401) reply.header('www-authenticate', 'Bearer')
  return api__send(reply, new ApiError(verdict.status, verdict.code, verdict.message))
}

