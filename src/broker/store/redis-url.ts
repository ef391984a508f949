/**
 * `--store` values naming a Redis -> ioredis connection options, and the name shown in banners (credentials
 * removed). Forms (docs/cluster.md):
 *   redis://[user:password@]host[:port][/db]       one Redis server
 *   rediss://...                                   the same over TLS
 *   redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db]   a Sentinel-managed master
 * Redis Cluster (sharded) is refused with a clear error: this version writes every commit as one MULTI, which a
 * cluster only runs when all keys share a slot (docs/cluster.md, "Past one Redis").
 */
import type {RedisOptions} from 'ioredis'
import {StoreError} from './errors.js'

export interface RedisTarget {
  /** A redis:// URL for ioredis, or undefined when `options` alone say where (Sentinel). */
  url?: string
  options: RedisOptions
  /** For banners and logs: no password. */
  label: string
}

export function redisUrl__isRedis(spec: string): boolean {
  return /^(redis|rediss|redis\+sentinel|redis\+cluster):\/\//i.test(spec.trim())
}

export function redisUrl__parse(spec: string): RedisTarget {
  const value = spec.trim()
  const scheme = value.slice(0, value.indexOf('://')).toLowerCase()
  if (scheme === 'redis+cluster') {
    throw new StoreError('spec', 'Redis Cluster (redis+cluster://) is not supported yet: use one Redis server or a Sentinel-managed master (docs/cluster.md)')
  }
  if (scheme === 'redis+sentinel') return sentinel(value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new StoreError('spec', `--store ${redact(value)} is not a valid URL: use redis://[user:password@]host:port/db`)
  }
  if (url.hostname === '') throw new StoreError('spec', `--store ${redact(value)} names no host: use redis://host:port/db`)
  const db = dbOf(url.pathname, value)
  const options: RedisOptions = {db}
  if (scheme === 'rediss') options.tls = {servername: url.hostname}
  const label = `${scheme}://${url.host}/${db}`
  return {url: value, options, label}
}

function sentinel(value: string): RedisTarget {
  // new URL() rejects a comma-separated host list: split by hand.
  const rest = value.slice('redis+sentinel://'.length)
  const slash = rest.indexOf('/')
  const authority = slash < 0 ? rest : rest.slice(0, slash)
  const path = slash < 0 ? '' : rest.slice(slash + 1)
  const at = authority.lastIndexOf('@')
  const credentials = at < 0 ? '' : authority.slice(0, at)
  const hosts = (at < 0 ? authority : authority.slice(at + 1)).split(',').filter(Boolean)
  const [name, dbText] = path.split('/')
  if (hosts.length === 0 || !name) {
    throw new StoreError('spec', `--store ${redact(value)}: a Sentinel URL is redis+sentinel://host:port[,host:port]/master-name[/db]`)
  }
  const sentinels = hosts.map((h) => {
    const colon = h.lastIndexOf(':')
    const port = colon < 0 ? 26_379 : Number(h.slice(colon + 1))
    if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new StoreError('spec', `--store: bad Sentinel port in ${h}`)
    return {host: colon < 0 ? h : h.slice(0, colon), port}
  })
  const options: RedisOptions = {sentinels, name, db: dbOf(dbText ? `/${dbText}` : '', value)}
  if (credentials) {
    const colon = credentials.indexOf(':')
    const user = decodeURIComponent(colon < 0 ? '' : credentials.slice(0, colon))
    const password = decodeURIComponent(colon < 0 ? credentials : credentials.slice(colon + 1))
    if (user) options.username = user
    options.password = password
  }
  return {options, label: `redis+sentinel://${hosts.join(',')}/${name}/${options.db}`}
}

function dbOf(pathname: string, value: string): number {
  const text = pathname.replace(/^\//, '')
  if (text === '') return 0
  const db = Number(text)
  if (!Number.isInteger(db) || db < 0) throw new StoreError('spec', `--store ${redact(value)}: the database must be a number, e.g. redis://host:6379/0`)
  return db
}

/** The spec without its password, for error messages. */
export function redact(value: string): string {
  return value.replace(/\/\/([^@/]*?):([^@/]*)@/, '//$1:***@')
}
