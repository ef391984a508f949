/**
 * Who may use the admin server: the Host and Origin checks (DNS rebinding, cross-site requests), the token
 * (Bearer header for scripts, a one-time `?token=` URL that becomes a session cookie for the page) and the
 * throttle on failed logins (5 in a minute from one address: 429 with Retry-After until the oldest leaves the
 * minute).
 */
import {randomBytes} from 'node:crypto'
import {networkInterfaces, hostname} from 'node:os'
import type {FastifyReply, FastifyRequest} from 'fastify'
import {type TokenSource, webToken__matches} from './token.js'

export const COOKIE = 'mqttkit_admin'
const SESSION_MS = 24 * 3600 * 1000
const WINDOW_MS = 60_000
export const MAX_FAILURES = 5

export function guard__isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.')
}

/** What binding the admin to `host` deserves to be told: anything but loopback carries the token in clear text. */
export function guard__bindWarnings(host: string): string[] {
  if (guard__isLoopback(host)) return []
  return [`the web admin listens on ${host} without TLS: the token and every page travel in clear text; put it behind a TLS proxy or bind 127.0.0.1`]
}

/** Host header values this server answers to: loopback names, the bound address and, on a wildcard bind, this machine's. */
export function guard__allowedHosts(bindHost: string, port: number, extra: string[] = []): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', ...extra])
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    names.add(hostname())
    for (const list of Object.values(networkInterfaces())) {
      for (const address of list ?? []) names.add(address.family === 'IPv6' ? `[${address.address}]` : address.address)
    }
  } else {
    names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost)
  }
  const out = new Set<string>()
  for (const name of names) {
    out.add(`${name}:${port}`)
    if (port === 80) out.add(name)
  }
  return out
}

interface Session {
  hash: string
  expires: number
}

export type Verdict = {ok: true; via: 'bearer' | 'cookie' | 'open'} | {ok: false; status: number; code: string; message: string; retryAfter?: number}

export class Guard {
  private readonly sessions = new Map<string, Session>()
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly tokens: TokenSource,
    readonly hosts: Set<string>,
  ) {}

  /** Host and Origin: a request naming another host is refused before anything else. */
  checkOrigin(request: FastifyRequest): Verdict | null {
    const host = request.headers.host ?? ''
    if (!this.hosts.has(host.toLowerCase())) return {ok: false, status: 403, code: 'forbidden_host', message: `Host ${JSON.stringify(host)} is not this admin server`}
    const origin = request.headers.origin
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
      return {ok: false, status: 403, code: 'forbidden_origin', message: `Origin ${origin} may not use this admin server`}
    }
    return null
  }

  /** Seconds until `address` may try again, 0 when it may now. */
  retryAfter(address: string, now = Date.now()): number {
    const list = this.prune(address, now)
    if (list.length < MAX_FAILURES) return 0
    return Math.max(1, Math.ceil((list[0]! + WINDOW_MS - now) / 1000))
  }

  /** Checks the request's credentials. A wrong token counts as a failed login; a missing one does not. */
  async authenticate(request: FastifyRequest, queryToken: string | undefined): Promise<Verdict> {
    const address = request.ip
    const wait = this.retryAfter(address)
    if (wait > 0) return {ok: false, status: 429, code: 'too_many_failures', message: `too many failed logins; try again in ${wait} s`, retryAfter: wait}
    const hash = await this.tokens.current()
    const header = request.headers.authorization
    const offered = header !== undefined ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '' : queryToken
    if (offered !== undefined) {
      if (hash !== undefined && webToken__matches(hash, offered)) return {ok: true, via: 'bearer'}
      this.fail(address)
      return {ok: false, status: 401, code: 'unauthorized', message: 'wrong admin token'}
    }
    const sid = cookieValue(request.headers.cookie, COOKIE)
    const session = sid === undefined ? undefined : this.sessions.get(sid)
    if (session !== undefined && hash !== undefined && session.hash === hash && session.expires > Date.now()) return {ok: true, via: 'cookie'}
    if (session !== undefined) this.sessions.delete(sid!)
    return {ok: false, status: 401, code: 'unauthorized', message: 'an admin token is needed (Authorization: Bearer <token>, or the login URL the broker printed)'}
  }

  /** Starts a page session after a valid `?token=` login; the cookie is HttpOnly and SameSite=Strict. */
  async startSession(reply: FastifyReply): Promise<void> {
    const hash = (await this.tokens.current())!
    const sid = randomBytes(32).toString('base64url')
    const now = Date.now()
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id)
    this.sessions.set(sid, {hash, expires: now + SESSION_MS})
    reply.header('set-cookie', `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}`)
  }

  endSession(request: FastifyRequest): void {
    const sid = cookieValue(request.headers.cookie, COOKIE)
    if (sid !== undefined) this.sessions.delete(sid)
  }

  private fail(address: string): void {
    const list = this.prune(address, Date.now())
    list.push(Date.now())
    this.failures.set(address, list)
  }

  private prune(address: string, now: number): number[] {
    const list = (this.failures.get(address) ?? []).filter((t) => t > now - WINDOW_MS)
    if (list.length === 0) this.failures.delete(address)
    else this.failures.set(address, list)
    return list
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
