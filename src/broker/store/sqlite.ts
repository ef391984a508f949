/**
 * The embedded SQLite store (better-sqlite3), the CLI's default.
 *
 * Group commit: mutations only record the row they will write in pending maps keyed like the table's primary key
 * (so a record changed twice before a commit is written once); a commit writes everything pending in ONE
 * transaction, once per event-loop turn (or every `commitInterval` ms, or at once when `maxBatch` mutations are
 * pending). `flush()` resolves after the commit that holds every earlier mutation, so the broker can acknowledge
 * a whole burst of QoS 1/2 PUBLISH packets with one write (the pending maps are write-behind.ts, the scheduling of
 * commits group-commit.ts; both shared with the Redis store). See sqlite-open.ts for why a commit survives `kill -9`.
 *
 * Commits run one at a time on the store's worker thread (sqlite-commit.ts); while one is being written the next
 * batch gathers, so batches grow with the load by themselves.
 *
 * A failed commit (disk full, I/O error) rolls back and keeps its batch: flush() callers are rejected
 * (so the broker does not acknowledge what is not stored), `onError` hears about it, and the commit is retried
 * every second until it succeeds. Nothing is dropped silently.
 */
import {resolve} from 'node:path'
import {StoreError} from './errors.js'
import {DIRECTION, STATE, codec__messageParams, codec__retainedParams, codec__sessionParams, codec__toJson} from './sqlite-codec.js'
import {type Committer, MainThreadCommitter, WorkerCommitter} from './sqlite-commit.js'
import {open__decode} from './sqlite-open.js'
import type {Batch, Row} from './sqlite-write.js'
import type {InflightRecord, QueuedRecord, SessionRecord, Store, StoreSnapshot, StoredMessage} from './store.js'
import {GroupCommit} from './group-commit.js'
import {WriteBehindBuffer, type WriteBehindChanges} from './write-behind.js'

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
  /** 'worker' (default): SQLite writes on its own thread, off the broker's event loop; 'main': on the caller's. */
  thread?: 'worker' | 'main'
  /** Check the whole file at open (PRAGMA quick_check); default true. */
  verify?: boolean
  /** Hears commit failures (StoreError); default: a process warning on stderr. */
  onError?: (error: Error) => void
}

/** Rows keyed like the tables' primary keys; an inflight row's key is direction * 0x10000 + packet id. */
type Changes = WriteBehindChanges<Row, Row, Row, number>

export class SqliteStore implements Store {
  readonly name: string
  readonly path: string
  onError?: (error: Error) => void
  /**
   * Counters for monitoring and benchmarks: group commits done, mutations recorded, failed commits, time from
   * handing a batch over to its commit (total and longest, ms).
   */
  readonly stats: GroupCommit<Changes>['stats']

  private readonly options: Required<Pick<SqliteStoreOptions, 'commitInterval' | 'maxBatch' | 'synchronous' | 'verify'>> &
    SqliteStoreOptions
  private committer?: Committer
  private state: 'new' | 'open' | 'closed' = 'new'

  // Pending writes (write-behind.ts), handed to the committer as one Batch.
  private readonly changes = new WriteBehindBuffer<Row, Row, Row, number>(() => this.commits.touched())
  /** When the commits run (group-commit.ts); the SQLite side is the committer's. */
  private readonly commits: GroupCommit<Changes>

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = resolve(path)
    this.name = `sqlite:${this.path}`
    this.options = {commitInterval: 0, maxBatch: 10_000, synchronous: 'normal', verify: true, ...options}
    this.onError = options.onError
    this.commits = new GroupCommit<Changes>(
      {
        take: () => this.changes.take(),
        write: (changes) => this.committer!.write(toBatch(changes)),
        restore: (changes) => this.changes.restore(changes),
        failed: (error) => this.report(error),
        closedError: () => this.closedError(),
      },
      this.options,
    )
    this.stats = this.commits.stats
  }

  async open(): Promise<StoreSnapshot> {
    if (this.state === 'open') throw new StoreError('io', `${this.name} is already open`, this.path)
    const settings = {
      synchronous: this.options.synchronous,
      verify: this.options.verify,
      maxBytes: this.options.maxBytes,
      checkpointPages: this.options.checkpointPages,
    }
    const committer =
      this.options.thread === 'main' ? new MainThreadCommitter(this.path, settings) : new WorkerCommitter(this.path, settings)
    const rows = await committer.open()
    this.committer = committer
    this.state = 'open'
    this.commits.start()
    return open__decode(rows)
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return
    this.state = 'closed'
    const committer = this.committer!
    try {
      await this.commits.stop()
    } finally {
      this.committer = undefined
      await committer.close()
    }
  }

  setRetained(message: StoredMessage): void {
    this.assertOpen()
    this.changes.setRetained(message.topic, message.payload.length === 0 ? null : codec__retainedParams(message))
  }

  saveSession(session: SessionRecord): void {
    this.assertOpen()
    this.changes.setSession(session.clientId, codec__sessionParams(session))
  }

  deleteSession(clientId: string): void {
    this.assertOpen()
    this.changes.deleteSession(clientId)
  }

  enqueue(record: QueuedRecord): void {
    this.assertOpen()
    const row: Row = [record.clientId, record.seq, ...codec__messageParams(record.message), codec__toJson(record.subscriptionIds)]
    this.changes.setQueued(record.clientId, record.seq, row)
  }

  dequeue(clientId: string, seq: number): void {
    this.assertOpen()
    this.changes.setQueued(clientId, seq, null)
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
    this.changes.setInflight(record.clientId, direction * 0x10000 + record.packetId, row)
  }

  deleteInflight(clientId: string, direction: InflightRecord['direction'], packetId: number): void {
    this.assertOpen()
    this.changes.setInflight(clientId, DIRECTION[direction] * 0x10000 + packetId, null)
  }

  flush(): Promise<void> {
    return this.commits.flush()
  }

  private report(error: Error): void {
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

/** The committer's form of a batch: the queue and inflight changes split into upserts and deletes. */
function toBatch(changes: Changes): Batch {
  return {...changes, queue: split(changes.queue), inflight: split(changes.inflight)}
}

/** Per client: the rows to upsert and the keys to delete. */
function split(maps: Changes['queue']): Array<[string, Row[], number[]]> {
  const out: Array<[string, Row[], number[]]> = []
  for (const [clientId, rows] of maps) {
    const upserts: Row[] = []
    const deletes: number[] = []
    for (const [key, row] of rows) {
      if (row) upserts.push(row)
      else deletes.push(key)
    }

    out.push([clientId, upserts, deletes])
  }

  return out
}
