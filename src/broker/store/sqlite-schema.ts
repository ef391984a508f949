/**
 * The SQLite store's schema and its migrations. A file is recognised as ours by its `application_id` header field;
 * `schema_version` records every migration applied, so a newer mqttkit can upgrade an older file in place and an
 * older mqttkit refuses a newer file instead of misreading it.
 *
 * To change the schema: append a migration with the next version (never edit a released one) and bump nothing
 * else; open() applies the missing ones in order, each in its own transaction.
 */
import type BetterSqlite3 from 'better-sqlite3'
import {StoreError} from './errors.js'

/** 'MQKT' in the SQLite header's application_id field. */
export const APPLICATION_ID = 0x4d514b54

interface Migration {
  version: number
  description: string
  sql: string
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'retained messages, sessions, offline queues, inflight messages',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      CREATE TABLE retained (
        topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
        props TEXT, expires_at INTEGER
      ) WITHOUT ROWID;
      CREATE TABLE sessions (
        client_id TEXT PRIMARY KEY, protocol_version INTEGER NOT NULL, expiry_interval INTEGER NOT NULL,
        disconnected_at INTEGER, subscriptions TEXT NOT NULL, will TEXT
      ) WITHOUT ROWID;
      CREATE TABLE queue (
        client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
        qos INTEGER NOT NULL, retain INTEGER NOT NULL, props TEXT, expires_at INTEGER, sub_ids TEXT,
        PRIMARY KEY (client_id, seq)
      ) WITHOUT ROWID;
      CREATE TABLE inflight (
        client_id TEXT NOT NULL, direction INTEGER NOT NULL, packet_id INTEGER NOT NULL, state INTEGER NOT NULL,
        topic TEXT, payload BLOB, qos INTEGER, retain INTEGER, props TEXT, expires_at INTEGER, sub_ids TEXT,
        PRIMARY KEY (client_id, direction, packet_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'when each retained message was stored (--retain-ttl counts from it)',
    sql: 'ALTER TABLE retained ADD COLUMN stored_at INTEGER;',
  },
]

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version

function schema__tableCount(db: BetterSqlite3.Database): number {
  return (db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as {n: number}).n
}

function schema__currentVersion(db: BetterSqlite3.Database): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).get()
  if (!exists) return 0
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as {v: number | null}
  return row.v ?? 0
}

/**
 * Refuses an SQLite file that another program created. Runs before anything writes to the file (even switching
 * it to WAL changes its header), so a wrong --store path leaves someone else's database untouched.
 */
export function schema__checkOwner(db: BetterSqlite3.Database, path: string): void {
  const appId = db.pragma('application_id', {simple: true}) as number
  if (appId !== APPLICATION_ID && schema__tableCount(db) > 0) {
    throw new StoreError(
      'foreign',
      `${path} is an SQLite database of another program (application_id ${appId}), not an mqttkit store: ` +
        'choose another file with --store sqlite:PATH',
      path,
    )
  }
}

/**
 * Checks that the file is ours and brings its schema up to date. Returns the version found before migrating
 * (0 for a new file). Throws StoreError for a newer file; call schema__checkOwner first.
 */
export function schema__migrate(db: BetterSqlite3.Database, path: string): number {
  const found = schema__currentVersion(db)
  if (found > SCHEMA_VERSION) {
    throw new StoreError(
      'newer-schema',
      `${path} uses store schema version ${found}, written by a newer mqttkit; this version reads up to ` +
        `${SCHEMA_VERSION}. Upgrade mqttkit, or move the file away to start with an empty store`,
      path,
    )
  }

  if (found === 0) {
    db.transaction(() => {
      db.pragma(`application_id = ${APPLICATION_ID}`)
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at INTEGER)')
    })()
  }

  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)')
  for (const migration of MIGRATIONS) {
    if (migration.version <= found) continue
    db.transaction(() => {
      db.exec(migration.sql)
      record.run(migration.version, migration.description, Date.now())
    })()
  }

  return found
}
