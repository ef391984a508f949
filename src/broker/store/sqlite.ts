/**
 * The embedded SQLite store (better-sqlite3), the CLI's default.
 *
 * Group commit: mutations only record the row they will write in pending maps keyed like the table's primary key
 * (so a record changed twice before a commit is written once); a commit writes everything pending in ONE
 * transaction, once per event-loop turn (or every `commitInterval` ms, or at once when `maxBatch` mutations are
 * pending). `flush()` resolves after the commit that holds every earlier mutation, so the broker can acknowledge
 * a whole burst of QoS 1/2 PUBLISH packets with one write. See sqlite-open.ts for why a commit survives `kill -9`.
 *
 * A failed commit (disk full, I/O error) rolls back and keeps everything pending: flush() callers are rejected
 * (so the broker does not acknowledge what is not stored), `onError` hears about it, and the commit is retried
 * every second until it succeeds. Nothing is dropped silently.
 */
import {resolve} from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import {StoreError, storeError__fromSqlite} from './errors.js'
import {DIRECTION, STATE, codec__messageParams, codec__sessionParams, codec__toJson} from './sqlite-codec.js'
import {open__database, open__snapshot} from './sqlite-open.js'
import {type Row, type Statements, write__deleteRuns, write__prepare, write__upsert} from './sqlite-write.js'
import type {InflightRecord, QueuedRecord, SessionRecord, Store, StoreSnapshot, StoredMessage} from './store.js'

export interface SqliteStoreOptions {
  /** Milliseconds between group commits; 0 (default) commits once per event-loop turn. */
  commitInterval?: number
  /** Commit at once when this many mutations are pending (default 10000), bounding a commit's size. */
  maxBatch?: number
  /** 'normal' (default) survives a killed process; 'full' also survives a power cut, at a cost per commit. */
  synchronous?: 'normal' | 'full'
  /** Cap on the database size in bytes; writes beyond it fail like a full disk. */
  maxBytes?: number
  /** Write-ahead log pages between checkpoints (SQLite's wal_autocheckpoint; default 1000, 0: never). */
  checkpointPages?: number
  /** Check the whole file at open (PRAGMA quick_check); default true. */
  verify?: boolean
  /** Hears commit failures (StoreError); default: a process warning on stderr. */
  onError?: (error: Error) => void
}

interface Waiter {
  resolve: () => void
  reject: (error: Error) => void
}

const RETRY_MS = 1000

export class SqliteStore implements Store {
  readonly name: string
  readonly path: string
  onError?: (error: Error) => void
  /**
   * Counters for monitoring and benchmarks: group commits done, mutations recorded, failed commits, time spent
   * committing (total and longest, ms).
   */
  readonly stats = {commits: 0, rows: 0, failures: 0, commitMs: 0, maxCommitMs: 0}

  private readonly options: Required<Pick<SqliteStoreOptions, 'commitInterval' | 'maxBatch' | 'synchronous' | 'verify'>> &
    SqliteStoreOptions
  private db?: BetterSqlite3.Database
  private statements?: Statements
  private transaction?: () => void
  private state: 'new' | 'open' | 'closed' = 'new'

  // Pending writes; null means "delete". Cleared only after a successful commit.
  private readonly retained = new Map<string, Row | null>()
  private readonly sessions = new Map<string, Row | null>()
  private readonly cascade = new Set<string>()
  private readonly queue = new Map<string, Map<number, Row | null>>()
  private readonly inflight = new Map<string, Map<number, Row | null>>()
  private pending = 0
  private waiters: Waiter[] = []
  private timer?: NodeJS.Timeout
  private immediate?: NodeJS.Immediate
  private failing = false

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = resolve(path)
    this.name = `sqlite:${this.path}`
    this.options = {commitInterval: 0, maxBatch: 10_000, synchronous: 'normal', verify: true, ...options}
    this.onError = options.onError
  }

  async open(): Promise<StoreSnapshot> {
    if (this.state === 'open') throw new StoreError('io', `${this.name} is already open`, this.path)
    const db = open__database(this.path, this.options)
    try {
      const snapshot = open__snapshot(db, Date.now())
      this.statements = write__prepare(db)
      this.statements.alive.run(Date.now())
      this.db = db
      this.state = 'open'
      return snapshot
    } catch (error) {
      db.close()
      throw storeError__fromSqlite(error, this.path, 'open')
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return
    this.cancelTimers()
    this.state = 'closed'
    const db = this.db!
    this.db = undefined
    try {
      if (this.pending > 0) this.writePending(db)
      this.settle(null)
    } catch (error) {
      const storeError = storeError__fromSqlite(error, this.path, 'write')
      this.settle(storeError)
      throw storeError
    } finally {
      db.close()
    }
  }

  setRetained(message: StoredMessage): void {
    this.assertOpen()
    this.retained.set(message.topic, message.payload.length === 0 ? null : codec__messageParams(message))
    this.touched()
  }

  saveSession(session: SessionRecord): void {
    this.assertOpen()
    this.sessions.set(session.clientId, codec__sessionParams(session))
    this.touched()
  }

  deleteSession(clientId: string): void {
    this.assertOpen()
    this.sessions.set(clientId, null)
    this.cascade.add(clientId)
    // Pending queue/inflight writes of this client happened before the delete: the cascade covers them.
    this.queue.delete(clientId)
    this.inflight.delete(clientId)
    this.touched()
  }

  enqueue(record: QueuedRecord): void {
    this.assertOpen()
    const row: Row = [record.clientId, record.seq, ...codec__messageParams(record.message), codec__toJson(record.subscriptionIds)]
    this.clientMap(this.queue, record.clientId).set(record.seq, row)
    this.touched()
  }

  dequeue(clientId: string, seq: number): void {
    this.assertOpen()
    this.clientMap(this.queue, clientId).set(seq, null)
    this.touched()
  }

  setInflight(record: InflightRecord): void {
    this.assertOpen()
    const m = record.message
    const message = m ? codec__messageParams(m) : [null, null, null, null, null, null]
    const direction = DIRECTION[record.direction]
    const row: Row = [
      record.clientId,
      direction,
      record.packetId,
      STATE[record.state],
      ...message,
      codec__toJson(record.subscriptionIds),
    ]
    this.clientMap(this.inflight, record.clientId).set(direction * 0x10000 + record.packetId, row)
    this.touched()
  }

  deleteInflight(clientId: string, direction: InflightRecord['direction'], packetId: number): void {
    this.assertOpen()
    this.clientMap(this.inflight, clientId).set(DIRECTION[direction] * 0x10000 + packetId, null)
    this.touched()
  }

  flush(): Promise<void> {
    if (this.state !== 'open') {
      return this.pending === 0 ? Promise.resolve() : Promise.reject(this.closedError())
    }

    if (this.pending === 0) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({resolve, reject})
      this.schedule()
    })
  }

  private clientMap(maps: Map<string, Map<number, Row | null>>, clientId: string): Map<number, Row | null> {
    let map = maps.get(clientId)
    if (!map) {
      map = new Map()
      maps.set(clientId, map)
    }

    return map
  }

  private touched(): void {
    this.pending++
    this.stats.rows++
    if (this.pending >= this.options.maxBatch && !this.failing) this.commit()
    else this.schedule()
  }

  private schedule(): void {
    if (this.timer || this.immediate) return
    if (this.failing) this.timer = setTimeout(this.commit, RETRY_MS)
    else if (this.options.commitInterval > 0) this.timer = setTimeout(this.commit, this.options.commitInterval)
    else this.immediate = setImmediate(this.commit)
  }

  private cancelTimers(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  /** An arrow function: handed to setImmediate/setTimeout without a closure per schedule. */
  private readonly commit = (): void => {
    this.cancelTimers()
    if (this.state !== 'open' || this.pending === 0) {
      this.settle(null)
      return
    }

    try {
      const started = performance.now()
      this.writePending(this.db!)
      const took = performance.now() - started
      this.stats.commits++
      this.stats.commitMs += took
      if (took > this.stats.maxCommitMs) this.stats.maxCommitMs = took
      this.failing = false
      this.settle(null)
    } catch (error) {
      const storeError = storeError__fromSqlite(error, this.path, 'write')
      this.failing = true
      this.stats.failures++
      this.settle(storeError)
      this.report(storeError)
      this.schedule()
    }
  }

  /** Writes everything pending in one transaction; clears it only if the transaction committed. */
  private writePending(db: BetterSqlite3.Database): void {
    this.transaction ??= db.transaction(this.writeRows)
    this.transaction()
    this.retained.clear()
    this.sessions.clear()
    this.cascade.clear()
    this.queue.clear()
    this.inflight.clear()
    this.pending = 0
  }

  /** The body of a group commit (run inside the transaction by writePending). */
  private readonly writeRows = (): void => {
    const s = this.statements!
    for (const clientId of this.cascade) {
      s.deleteSession.run(clientId)
      s.deleteQueueOf.run(clientId)
      s.deleteInflightOf.run(clientId)
    }

    for (const [clientId, row] of this.sessions) {
      if (row) s.upsertSession.run(row)
      else s.deleteSession.run(clientId)
    }

    for (const [topic, row] of this.retained) {
      if (row) s.upsertRetained.run(row)
      else s.deleteRetained.run(topic)
    }

    const upserts: Row[] = []
    const deletes: number[] = []
    for (const [clientId, rows] of this.queue) {
      for (const [seq, row] of rows) {
        if (row) upserts.push(row)
        else deletes.push(seq)
      }

      write__deleteRuns(deletes, (first, last) => s.deleteQueue.run(clientId, first, last))
      deletes.length = 0
    }

    write__upsert(upserts, s.upsertQueue, s.upsertQueueChunk)
    upserts.length = 0
    for (const [clientId, rows] of this.inflight) {
      for (const [key, row] of rows) {
        if (row) upserts.push(row)
        else deletes.push(key)
      }

      // Keys are direction * 0x10000 + packet id; packet id 0 does not exist, so a run never spans both directions.
      write__deleteRuns(deletes, (first, last) => s.deleteInflight.run(clientId, first >>> 16, first & 0xffff, last & 0xffff))
      deletes.length = 0
    }

    write__upsert(upserts, s.upsertInflight, s.upsertInflightChunk)
    s.alive.run(Date.now())
  }

  private settle(error: StoreError | null): void {
    if (this.waiters.length === 0) return
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) {
      if (error) waiter.reject(error)
      else waiter.resolve()
    }
  }

  private report(error: StoreError): void {
    if (this.onError) this.onError(error)
    else process.emitWarning(error.message, {code: 'MQTTKIT_STORE'})
  }

  private closedError(): StoreError {
    return new StoreError(
      'closed',
      `${this.name}: ${this.state === 'new' ? 'used before open()' : 'mutation after close()'}; the write would be lost`,
      this.path,
    )
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw this.closedError()
  }
}
