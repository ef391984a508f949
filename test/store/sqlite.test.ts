import {copyFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {SqliteStore, type SqliteStoreOptions} from '../../src/broker/store/sqlite.js'
import type {Store} from '../../src/broker/store/store.js'
import {storeSuite} from './store-suite.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

afterAll(tmp__cleanup)

let n = 0

function factory(options: SqliteStoreOptions) {
  return {
    create: () => new SqliteStore(join(tmp__dir(), 'mqttkit.db'), options),
    reopen: (store: Store) => new SqliteStore((store as SqliteStore).path, options),
    // What a killed process leaves: the database file and its write-ahead log, copied while the store is open.
    crash(store: Store) {
      const path = (store as SqliteStore).path
      const copy = join(tmp__dir(), `crashed-${++n}.db`)
      copyFileSync(path, copy)
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`)
      return new SqliteStore(copy, options)
    },
  }
}

describe('SqliteStore (worker thread, the default)', () => {
  storeSuite(factory({}))
})

// The other commit paths: on the caller's thread, a timer instead of once per turn, commits forced by a small batch
// limit, fsync per commit.
describe('SqliteStore (main thread, commitInterval 5 ms, maxBatch 7, synchronous full)', () => {
  storeSuite(factory({thread: 'main', commitInterval: 5, maxBatch: 7, synchronous: 'full'}))
})

describe('SqliteStore schema migration', () => {
  it('opens a version 1 file (before stored_at): its retained messages come back without storedAt, new ones keep it', async () => {
    const {default: Database} = await import('better-sqlite3')
    const {APPLICATION_ID} = await import('../../src/broker/store/sqlite-schema.js')
    const path = join(tmp__dir(), 'v1.db')
    const db = new Database(path)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    // Migration 1 exactly as released.
    db.exec(`
      CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT, applied_at INTEGER);
      INSERT INTO schema_version VALUES (1, 'retained messages, sessions, offline queues, inflight messages', 0);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      CREATE TABLE retained (topic TEXT PRIMARY KEY, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, props TEXT, expires_at INTEGER) WITHOUT ROWID;
      CREATE TABLE sessions (client_id TEXT PRIMARY KEY, protocol_version INTEGER NOT NULL, expiry_interval INTEGER NOT NULL, disconnected_at INTEGER, subscriptions TEXT NOT NULL, will TEXT) WITHOUT ROWID;
      CREATE TABLE queue (client_id TEXT NOT NULL, seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, props TEXT, expires_at INTEGER, sub_ids TEXT, PRIMARY KEY (client_id, seq)) WITHOUT ROWID;
      CREATE TABLE inflight (client_id TEXT NOT NULL, direction INTEGER NOT NULL, packet_id INTEGER NOT NULL, state INTEGER NOT NULL, topic TEXT, payload BLOB, qos INTEGER, retain INTEGER, props TEXT, expires_at INTEGER, sub_ids TEXT, PRIMARY KEY (client_id, direction, packet_id)) WITHOUT ROWID;
    `)
    db.prepare('INSERT INTO retained VALUES (?, ?, 1, 1, NULL, NULL)').run('old/topic', Buffer.from('kept'))
    db.close()
    const store = new SqliteStore(path)
    const snapshot = await store.open()
    expect(snapshot.retained).toEqual([{topic: 'old/topic', payload: Buffer.from('kept'), qos: 1, retain: true}])
    store.setRetained({topic: 'new/topic', payload: Buffer.from('n'), qos: 0, retain: true, storedAt: 1234})
    await store.close()
    const again = new SqliteStore(path)
    const next = await again.open()
    expect(next.retained.find((m) => m.topic === 'new/topic')!.storedAt).toBe(1234)
    await again.close()
  })
})
