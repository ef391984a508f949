/**
 * Every way a user can hand the SQLite store a bad file or place: each gives a StoreError with a clear code and
 * message, the broker refuses to start, and the file is left exactly as it was (nothing is overwritten).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {SqliteStore} from '../../src/broker/store/sqlite.js'
import {APPLICATION_ID, SCHEMA_VERSION} from '../../src/broker/store/sqlite-schema.js'
import type {Store} from '../../src/broker/store/store.js'
import {msg, session} from './store-suite.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

const stores: Store[] = []
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined)
})
afterAll(tmp__cleanup)

function track<T extends Store>(store: T): T {
  stores.push(store)
  return store
}

async function openError(path: string, options = {}) {
  const store = track(new SqliteStore(path, options))
  return store.open().then(
    () => {
      throw new Error(`open(${path}) succeeded; a StoreError was expected`)
    },
    (error: Error & {code?: string}) => error,
  )
}

/** A database with some content, closed. */
async function filledDb(rows = 300): Promise<string> {
  const path = join(tmp__dir(), 'mqttkit.db')
  const store = new SqliteStore(path)
  await store.open()
  store.saveSession(session('c'))
  for (let seq = 1; seq <= rows; seq++) store.enqueue({clientId: 'c', seq, message: msg('t', Buffer.alloc(500, seq))})
  await store.close()
  return path
}

describe('SqliteStore refuses bad files and places', () => {
  it('a file that is not a database: corrupt, and the file is not touched', async () => {
    const path = join(tmp__dir(), 'mqttkit.db')
    const garbage = Buffer.from('this is not an SQLite database, but someone\'s notes\n'.repeat(200))
    writeFileSync(path, garbage)
    const error = await openError(path)
    expect(error).toMatchObject({name: 'StoreError', code: 'corrupt'})
    expect(error.message).toMatch(/not a valid mqttkit database.*refuses to start/)
    expect(readFileSync(path).equals(garbage)).toBe(true)
  })

  it('a truncated database: corrupt, and the file is not touched', async () => {
    const path = await filledDb()
    const size = statSync(path).size
    expect(size).toBeGreaterThan(64 * 1024)
    truncateSync(path, Math.floor(size / 2))
    const before = readFileSync(path)
    const error = await openError(path)
    expect(error).toMatchObject({name: 'StoreError', code: 'corrupt'})
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  it('a database cut inside its header: corrupt', async () => {
    const path = await filledDb(10)
    truncateSync(path, 60)
    expect(await openError(path)).toMatchObject({code: 'corrupt'})
  })

  it('a path that is a directory: not-a-file, with the fix in the message', async () => {
    const dir = tmp__dir()
    const error = await openError(dir)
    expect(error).toMatchObject({code: 'not-a-file'})
    expect(error.message).toContain('is a directory')
    expect(error.message).toContain(`--store sqlite:${dir}/mqttkit.db`)
  })

  it('a directory path through a regular file: not-a-file', async () => {
    const file = join(tmp__dir(), 'plain')
    writeFileSync(file, 'x')
    expect(await openError(join(file, 'sub', 'mqttkit.db'))).toMatchObject({code: 'not-a-file'})
  })

  it('creates missing directories for a new store', async () => {
    const path = join(tmp__dir(), 'a', 'b', 'mqttkit.db')
    const store = track(new SqliteStore(path))
    await expect(store.open()).resolves.toMatchObject({sessions: []})
  })

  it('a directory the broker cannot write to: not-writable (checked as an unprivileged user)', () => {
    const base = tmp__dir()
    chmodSync(base, 0o755)
    const ro = join(base, 'ro')
    mkdirSync(ro, {mode: 0o555})
    chmodSync(ro, 0o555)
    const result = openAsUnprivileged(join(ro, 'mqttkit.db'))
    expect(result).toMatchObject({code: 'not-writable'})
    expect(result.message).toContain(`The store directory ${ro} is not writable`)
  })

  it('a read-only database file: not-writable (checked as an unprivileged user)', async () => {
    const path = await filledDb(1)
    chmodSync(join(path, '..'), 0o777)
    chmodSync(path, 0o444)
    expect(openAsUnprivileged(path)).toMatchObject({code: 'not-writable'})
  })

  it('an SQLite file of another program: foreign, untouched', async () => {
    const path = join(tmp__dir(), 'other.db')
    const other = new Database(path)
    other.exec('CREATE TABLE contacts (name TEXT)')
    other.close()
    const before = readFileSync(path)
    const error = await openError(path)
    expect(error).toMatchObject({code: 'foreign'})
    expect(error.message).toContain('not an mqttkit store')
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  it('a store written by a newer mqttkit: newer-schema', async () => {
    const path = await filledDb(1)
    const db = new Database(path)
    db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 0)
    db.close()
    const error = await openError(path)
    expect(error).toMatchObject({code: 'newer-schema'})
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 1}`)
  })

  it('a store already open in another broker: locked', async () => {
    const path = join(tmp__dir(), 'mqttkit.db')
    await track(new SqliteStore(path)).open()
    const error = await openError(path)
    expect(error).toMatchObject({code: 'locked'})
    expect(error.message).toContain('another mqttkit broker')
  })

  it('no space to create the store: full, refuses to start', async () => {
    const error = await openError(join(tmp__dir(), 'mqttkit.db'), {maxBytes: 4096})
    expect(error).toMatchObject({code: 'full'})
    expect(error.message).toMatch(/No space left/)
  })
})

describe('SqliteStore write failures', () => {
  it('records its schema version and application id', async () => {
    const path = await filledDb(1)
    const db = new Database(path, {readonly: true})
    expect(db.pragma('application_id', {simple: true})).toBe(APPLICATION_ID)
    expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{version: 1}, {version: 2}])
    db.close()
  })

  it('a full disk rejects flush() (so nothing is acknowledged), keeps the writes and commits them once possible', async () => {
    const path = join(tmp__dir(), 'mqttkit.db')
    const errors: Error[] = []
    const store = track(new SqliteStore(path, {maxBytes: 256 * 1024, onError: (e) => errors.push(e)}))
    await store.open()
    store.saveSession(session('c'))
    await store.flush()
    for (let seq = 1; seq <= 100; seq++) store.enqueue({clientId: 'c', seq, message: msg('t', Buffer.alloc(4096, 1))})
    await expect(store.flush()).rejects.toMatchObject({name: 'StoreError', code: 'full'})
    expect(errors[0]).toMatchObject({code: 'full'})
    // Space comes back (here: most of the pending queue is delivered before the retry): the rest is committed.
    for (let seq = 1; seq <= 95; seq++) store.dequeue('c', seq)
    await store.flush()
    await store.close()
    const reopened = track(new SqliteStore(path))
    const snapshot = await reopened.open()
    expect(snapshot.queued.map((q) => q.seq)).toEqual([96, 97, 98, 99, 100])
    expect(snapshot.sessions.map((s) => s.clientId)).toEqual(['c'])
  })
})

describe('SqliteStore retries after a failed commit', () => {
  for (const thread of ['worker', 'main'] as const) {
    it(`keeps newer changes over the failed batch, and a session deleted since stays deleted (${thread} thread)`, async () => {
      const path = join(tmp__dir(), 'mqttkit.db')
      const store = track(new SqliteStore(path, {thread, maxBytes: 256 * 1024, onError: () => undefined}))
      await store.open()
      store.saveSession(session('gone'))
      store.saveSession(session('kept'))
      await store.flush()
      for (let seq = 1; seq <= 100; seq++) store.enqueue({clientId: 'gone', seq, message: msg('t', Buffer.alloc(4096, 1))})
      store.setRetained(msg('r', 'old', {retain: true}))
      await expect(store.flush()).rejects.toMatchObject({code: 'full'})
      store.deleteSession('gone')
      store.setRetained(msg('r', 'new', {retain: true}))
      store.enqueue({clientId: 'kept', seq: 1, message: msg('t', 'small')})
      await store.flush()
      await store.close()
      const snapshot = await track(new SqliteStore(path, {thread})).open()
      expect(snapshot.sessions.map((s) => s.clientId)).toEqual(['kept'])
      expect(snapshot.queued.map((q) => `${q.clientId}:${q.seq}`)).toEqual(['kept:1'])
      expect(snapshot.retained.map((m) => m.payload.toString())).toEqual(['new'])
    })
  }
})

/**
 * Opens a store in a child process as user nobody, since root (the usual CI user) ignores file permissions.
 * Returns the StoreError's code and message, or {code: 'opened'}.
 */
function openAsUnprivileged(path: string): {code: string; message: string} {
  const source = new URL('../../src/broker/store/sqlite.ts', import.meta.url).pathname
  const code = [
    `import {SqliteStore} from ${JSON.stringify(source)}`,
    `const store = new SqliteStore(${JSON.stringify(path)})`,
    `try { await store.open(); await store.close(); console.log(JSON.stringify({code: 'opened', message: ''})) }`,
    `catch (e) { console.log(JSON.stringify({code: e.code, message: e.message})) }`,
  ].join('\n')
  const root = process.getuid?.() === 0
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 20_000,
    ...(root ? {uid: 65534, gid: 65534} : {}),
  })
  const line = result.stdout.trim().split('\n').at(-1) ?? ''
  if (!line.startsWith('{')) throw new Error(`child failed (${result.status}): ${result.stderr}`)
  return JSON.parse(line) as {code: string; message: string}
}
