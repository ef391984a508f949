/**
 * The SQL of a group commit, shaped for SQLite's per-statement cost: rows are upserted CHUNK at a time with one
 * multi-row INSERT, and deletions of consecutive keys (a queue drained in order, packet ids acknowledged in order)
 * become one range DELETE. Both halve the work of a commit compared with one statement per row.
 */
import type BetterSqlite3 from 'better-sqlite3'

export type Row = Array<string | number | Buffer | null>

/** Rows per multi-row INSERT: 16 x 11 parameters stays far below SQLite's bound-parameter limit. */
const CHUNK = 16

function multiRowInsert(db: BetterSqlite3.Database, head: string, columns: number, rows: number): BetterSqlite3.Statement {
  const one = `(${Array(columns).fill('?').join(', ')})`
  return db.prepare(`${head} VALUES ${Array(rows).fill(one).join(', ')}`)
}

const QUEUE_INSERT = 'INSERT OR REPLACE INTO queue (client_id, seq, topic, payload, qos, retain, props, expires_at, sub_ids)'
const INFLIGHT_INSERT =
  'INSERT OR REPLACE INTO inflight (client_id, direction, packet_id, state, topic, payload, qos, retain, props, ' +
  'expires_at, sub_ids)'

type StatementName =
  | 'upsertRetained'
  | 'deleteRetained'
  | 'upsertSession'
  | 'deleteSession'
  | 'deleteQueueOf'
  | 'deleteInflightOf'
  | 'upsertQueue'
  | 'upsertQueueChunk'
  | 'deleteQueue'
  | 'upsertInflight'
  | 'upsertInflightChunk'
  | 'deleteInflight'
  | 'alive'

export type Statements = Record<StatementName, BetterSqlite3.Statement>

export function write__prepare(db: BetterSqlite3.Database): Statements {
  return {
    upsertRetained: db.prepare(
      'INSERT OR REPLACE INTO retained (topic, payload, qos, retain, props, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteRetained: db.prepare('DELETE FROM retained WHERE topic = ?'),
    upsertSession: db.prepare(
      'INSERT OR REPLACE INTO sessions (client_id, protocol_version, expiry_interval, disconnected_at, subscriptions, will) ' +
        'VALUES (?, ?, ?, ?, ?, ?)',
    ),
    deleteSession: db.prepare('DELETE FROM sessions WHERE client_id = ?'),
    deleteQueueOf: db.prepare('DELETE FROM queue WHERE client_id = ?'),
    deleteInflightOf: db.prepare('DELETE FROM inflight WHERE client_id = ?'),
    upsertQueue: multiRowInsert(db, QUEUE_INSERT, 9, 1),
    upsertQueueChunk: multiRowInsert(db, QUEUE_INSERT, 9, CHUNK),
    deleteQueue: db.prepare('DELETE FROM queue WHERE client_id = ? AND seq BETWEEN ? AND ?'),
    upsertInflight: multiRowInsert(db, INFLIGHT_INSERT, 11, 1),
    upsertInflightChunk: multiRowInsert(db, INFLIGHT_INSERT, 11, CHUNK),
    deleteInflight: db.prepare('DELETE FROM inflight WHERE client_id = ? AND direction = ? AND packet_id BETWEEN ? AND ?'),
    alive: db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('alive_at', ?)`),
  }
}

/** Upserts `rows` CHUNK at a time, the rest one by one. */
export function write__upsert(rows: Row[], one: BetterSqlite3.Statement, chunk: BetterSqlite3.Statement): void {
  let i = 0
  for (; i + CHUNK <= rows.length; i += CHUNK) chunk.run(rows.slice(i, i + CHUNK).flat())
  for (; i < rows.length; i++) one.run(rows[i])
}

/**
 * Calls `remove(first, last)` once per run of consecutive keys in `keys` (sorted here), so that every key in
 * [first, last] is one of `keys`: a range delete then removes exactly the keys asked for.
 */
export function write__deleteRuns(keys: number[], remove: (first: number, last: number) => void): void {
  if (keys.length === 0) return
  keys.sort((a, b) => a - b)
  let first = keys[0]!
  let last = first
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!
    if (key === last + 1) {
      last = key
      continue
    }

    remove(first, last)
    first = key
    last = key
  }

  remove(first, last)
}
