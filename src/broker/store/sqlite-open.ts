/**
 * Opening the SQLite file: every check that turns a bad path into one clear StoreError before SQLite sees it, the
 * connection settings that give the durability contract, and loading the snapshot.
 *
 * Settings and why:
 * - `journal_mode = WAL` with `synchronous = NORMAL`: a commit is appended to the write-ahead log with write(2);
 *   once that returns the data is in the OS, so it survives `kill -9` of the broker (the contract). It is fsynced
 *   at checkpoints only, so a power cut can lose the last commits; `synchronous = FULL` fsyncs every commit.
 * - `locking_mode = EXCLUSIVE`: the broker keeps the file locked while it runs, so a second broker on the same
 *   file is refused at open instead of both writing one store; the WAL index then lives in memory (no -shm file).
 */
import {accessSync, constants, mkdirSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname} from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import {StoreError, storeError__fromSqlite} from './errors.js'
import {
  type InflightRow,
  type QueueRow,
  type SessionRow,
  codec__inflight,
  codec__queued,
  codec__retained,
  codec__session,
  type MessageRow,
} from './sqlite-codec.js'
import {schema__checkOwner, schema__migrate} from './sqlite-schema.js'
import type {StoreSnapshot} from './store.js'

export interface OpenSettings {
  synchronous: 'normal' | 'full'
  checkpointPages?: number
  maxBytes?: number
  verify: boolean
}

function errno(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? ''
}

/** Checks the path itself, creating the directory if needed, before SQLite turns problems into CANTOPEN. */
function open__checkPath(file: string): void {
  let exists = false
  try {
    const stat = statSync(file)
    exists = true
    if (!stat.isFile()) {
      throw new StoreError(
        'not-a-file',
        `The store path ${file} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}; ` +
          'give a file name, e.g. --store sqlite:' + file.replace(/\/$/, '') + '/mqttkit.db',
        file,
      )
    }
  } catch (error) {
    if (error instanceof StoreError) throw error
    if (errno(error) === 'ENOTDIR') {
      throw new StoreError('not-a-file', `The store path ${file} goes through a regular file, not a directory`, file, {
        cause: error,
      })
    }

    if (errno(error) !== 'ENOENT') throw storeError__fromSqlite(error, file, 'stat')
  }

  const dir = dirname(file)
  try {
    mkdirSync(dir, {recursive: true})
  } catch (error) {
    const code = errno(error)
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw new StoreError('not-a-file', `Cannot create the store directory ${dir}: a part of it is a file`, dir, {cause: error})
    }

    throw new StoreError('not-writable', `Cannot create the store directory ${dir} (${code || String(error)})`, dir, {
      cause: error,
    })
  }

  try {
    accessSync(dir, constants.W_OK | constants.X_OK)
  } catch (error) {
    throw new StoreError(
      'not-writable',
      `The store directory ${dir} is not writable: the broker creates ${file} and its write-ahead log ` +
        `${file}-wal there. Fix the permissions, or choose another place with --data-dir or --store sqlite:PATH`,
      dir,
      {cause: error},
    )
  }

  if (exists) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK)
    } catch (error) {
      throw new StoreError('not-writable', `The store file ${file} is not readable and writable by this user`, file, {
        cause: error,
      })
    }
  }
}

// The native addon is loaded when a database is opened, not by every import of the library: with the worker
// committer only the store's thread opens one, so the broker's own thread never loads it (issue 20: start-up).
let driver: typeof BetterSqlite3 | undefined
const open__driver = (): typeof BetterSqlite3 => (driver ??= createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3)

function open__verify(db: BetterSqlite3.Database, file: string): void {
  const rows = db.pragma('quick_check(5)') as Array<{quick_check: string}>
  if (rows.length !== 1 || rows[0]!.quick_check !== 'ok') {
    const problems = rows.map((r) => r.quick_check).join('; ')
    throw new StoreError(
      'corrupt',
      `The store file ${file} is damaged (${problems}). mqttkit refuses to start rather than lose its ` +
        'contents: restore a backup, or move the file away to start with an empty store',
      file,
    )
  }
}

/** Opens, verifies and migrates the file; the caller owns the returned connection. */
export function open__database(file: string, settings: OpenSettings): BetterSqlite3.Database {
  open__checkPath(file)
  let db: BetterSqlite3.Database | undefined
  try {
    // A short busy timeout: a lock held by another broker will not go away by waiting.
    const Database = open__driver()
    db = new Database(file, {timeout: 200})
    db.pragma('locking_mode = EXCLUSIVE')
    // Read-only checks first: a file that is not ours, or is damaged, must not be changed at all.
    schema__checkOwner(db, file)
    if (settings.verify) open__verify(db, file)
    const mode = db.pragma('journal_mode = WAL', {simple: true})
    if (mode !== 'wal') throw new StoreError('io', `${file}: cannot switch to write-ahead logging (got ${String(mode)})`, file)
    db.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    if (settings.checkpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(settings.checkpointPages))}`)
    if (settings.maxBytes !== undefined) {
      const pageSize = db.pragma('page_size', {simple: true}) as number
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(settings.maxBytes / pageSize))}`)
    }

    schema__migrate(db, file)
    return db
  } catch (error) {
    try {
      db?.close()
    } catch {
      // The original error is the one worth reporting.
    }

    throw storeError__fromSqlite(error, file, 'open')
  }
}

/** The tables as read at open, before decoding (what the store's worker thread sends to the broker's thread). */
export interface SnapshotRows {
  retained: MessageRow[]
  sessions: SessionRow[]
  queue: QueueRow[]
  inflight: InflightRow[]
  /** The last moment the store knew the broker was alive (its last commit), or now for a new file. */
  lastAlive: number
}

/** Drops expired retained and queued messages, then reads every table. */
export function open__readRows(db: BetterSqlite3.Database, now: number): SnapshotRows {
  db.transaction(() => {
    db.prepare('DELETE FROM retained WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now)
    db.prepare('DELETE FROM queue WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now)
  })()
  const alive = db.prepare(`SELECT value FROM meta WHERE key = 'alive_at'`).get() as {value: number} | undefined
  return {
    retained: db.prepare('SELECT * FROM retained').all() as MessageRow[],
    sessions: db.prepare('SELECT * FROM sessions').all() as SessionRow[],
    queue: db.prepare('SELECT * FROM queue ORDER BY client_id, seq').all() as QueueRow[],
    inflight: db.prepare('SELECT * FROM inflight ORDER BY client_id, direction, packet_id').all() as InflightRow[],
    lastAlive: alive?.value ?? now,
  }
}

/**
 * Rows to records. Sessions still marked connected (the broker died with them online) come back disconnected at
 * the last moment the store knew the broker was alive, so their expiry keeps counting across the crash.
 */
export function open__decode(rows: SnapshotRows): StoreSnapshot {
  return {
    retained: rows.retained.map(codec__retained),
    sessions: rows.sessions.map((row) => {
      const session = codec__session(row)
      if (session.disconnectedAt === null) session.disconnectedAt = rows.lastAlive
      return session
    }),
    queued: rows.queue.map(codec__queued),
    inflight: rows.inflight.map(codec__inflight),
  }
}
