/**
 * Choosing a store from the CLI: `--store memory | sqlite | sqlite:PATH | redis://...` plus `--data-dir`. The library takes any
 * object implementing Store (see store.ts); this module only maps the CLI's words to the built-in ones.
 */
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {StoreError} from './errors.js'
import {MemoryStore} from './memory.js'
import {RedisStore} from './redis.js'
import {redisUrl__isRedis} from './redis-url.js'
import {SqliteStore, type SqliteStoreOptions} from './sqlite.js'
import type {Store} from './store.js'

/** The database file name inside the data directory when `--store sqlite` names no path. */
export const DEFAULT_DB_FILE = 'mqttkit.db'

/**
 * Where the broker keeps its data when `--data-dir` is not given: the platform's per-user data directory, as
 * other tools on the same machine do (`$XDG_DATA_HOME/mqttkit`, else `~/.local/share/mqttkit` on Linux and BSD,
 * `~/Library/Application Support/mqttkit` on macOS, `%LOCALAPPDATA%\mqttkit` on Windows).
 */
export function store__defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'mqttkit')
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'mqttkit')
  // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.local', 'share'), 'mqttkit')
}

/**
 * `memory` → MemoryStore; `sqlite` → `<dataDir>/mqttkit.db`; `sqlite:PATH` → PATH (relative to the current
 * directory). Throws StoreError('spec') for anything else. The store is not opened here: Broker.listen() does it.
 */
export function store__fromSpec(spec: string, dataDir: string, options: SqliteStoreOptions = {}, clusterName?: string): Store {
  const value = spec.trim()
  if (value === 'memory') return new MemoryStore()
  // redis://, rediss://, redis+sentinel:// (redis-url.ts); the cluster name is the key prefix.
  if (redisUrl__isRedis(value)) return new RedisStore({url: value, clusterName})
  if (value === 'sqlite') return new SqliteStore(join(resolve(dataDir), DEFAULT_DB_FILE), options)
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length)
    if (path === '') throw new StoreError('spec', `--store sqlite: needs a file path after the colon, e.g. sqlite:./mqttkit.db`)
    return new SqliteStore(resolve(path), options)
  }

  throw new StoreError('spec', `Unknown store "${spec}": use memory, sqlite, sqlite:PATH or redis://host:port/db`)
}

export {StoreError, type StoreErrorCode} from './errors.js'
export {MemoryStore} from './memory.js'
export {SqliteStore, type SqliteStoreOptions} from './sqlite.js'
export {RedisStore, type RedisStoreOptions} from './redis.js'
