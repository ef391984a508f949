/**
 * Where a group commit runs. `thread: 'worker'` (the default) gives the SQLite connection its own worker thread:
 * the broker's event loop hands over a batch and goes on serving clients while SQLite writes (and checkpoints,
 * which fsync), so persistence costs the broker little more than building the rows. `thread: 'main'` writes
 * synchronously on the caller's thread (no thread to start; the simplest to embed and debug).
 * Either way batches are written one at a time, in order; both sides speak SnapshotRows and Batch.
 */
import {Worker} from 'node:worker_threads'
import {StoreError, type StoreErrorCode, storeError__fromSqlite} from './errors.js'
import {type OpenSettings, type SnapshotRows, open__database, open__readRows} from './sqlite-open.js'
import {type Batch, BatchWriter, write__prepare} from './sqlite-write.js'
import type BetterSqlite3 from 'better-sqlite3'

export interface Committer {
  open(): Promise<SnapshotRows>
  /** Writes `batch` in one transaction; rejects with a StoreError (and nothing written) on failure. */
  write(batch: Batch): Promise<void>
  close(): Promise<void>
}

/** A StoreError as it crosses a thread boundary. */
export interface PlainError {
  code: StoreErrorCode
  message: string
  path?: string
}

export function commit__plain(error: StoreError): PlainError {
  return {code: error.code, message: error.message, path: error.path}
}

export class MainThreadCommitter implements Committer {
  private db?: BetterSqlite3.Database
  private writer?: BatchWriter

  constructor(
    private readonly path: string,
    private readonly settings: OpenSettings,
  ) {}

  async open(): Promise<SnapshotRows> {
    const db = open__database(this.path, this.settings)
    try {
      const rows = open__readRows(db, Date.now())
      const statements = write__prepare(db)
      statements.alive.run(Date.now())
      this.writer = new BatchWriter(statements, db)
      this.db = db
      return rows
    } catch (error) {
      db.close()
      throw storeError__fromSqlite(error, this.path, 'open')
    }
  }

  async write(batch: Batch): Promise<void> {
    try {
      this.writer!.write(batch)
    } catch (error) {
      throw storeError__fromSqlite(error, this.path, 'write')
    }
  }

  async close(): Promise<void> {
    this.db?.close()
    this.db = undefined
  }
}

type Reply =
  | {type: 'opened'; rows: SnapshotRows}
  | {type: 'done'; id: number}
  | {type: 'error'; id: number; error: PlainError}

interface Call {
  resolve: (value: never) => void
  reject: (error: Error) => void
}

/** The worker's entry: compiled JS next to this file, or the TypeScript source when running from source (tests). */
function commit__startWorker(workerData: unknown): Worker {
  const here = new URL(import.meta.url)
  if (here.pathname.endsWith('.ts')) {
    const source = new URL('./sqlite-worker.ts', here).href
    const boot = `import('tsx/esm/api').then(({register}) => { register(); return import(${JSON.stringify(source)}) })`
    return new Worker(boot, {eval: true, workerData})
  }

  return new Worker(new URL('./sqlite-worker.js', here), {workerData})
}

export class WorkerCommitter implements Committer {
  private worker?: Worker
  private readonly calls = new Map<number, Call>()
  private nextId = 1

  constructor(
    private readonly path: string,
    private readonly settings: OpenSettings,
  ) {}

  open(): Promise<SnapshotRows> {
    const worker = commit__startWorker({path: this.path, settings: this.settings})
    this.worker = worker
    worker.on('message', (reply: Reply) => this.onReply(reply))
    // A crashed thread fails every call in progress: the broker must not acknowledge what may not be written.
    const lost = (why: string) => {
      const error = new StoreError('io', `The store thread for ${this.path} stopped: ${why}`, this.path)
      for (const call of this.calls.values()) call.reject(error)
      this.calls.clear()
      this.worker = undefined
    }
    worker.on('error', (error) => lost(error.message))
    worker.on('exit', (code) => lost(`exit code ${code}`))
    return (this.call(0) as Promise<SnapshotRows>).catch(async (error: unknown) => {
      this.worker = undefined
      worker.removeAllListeners('exit')
      await worker.terminate()
      throw error
    })
  }

  write(batch: Batch): Promise<void> {
    const id = this.nextId++
    if (!this.worker) return Promise.reject(new StoreError('closed', `The store ${this.path} is closed`, this.path))
    this.worker.postMessage({type: 'write', id, batch})
    return this.call(id) as Promise<void>
  }

  async close(): Promise<void> {
    const worker = this.worker
    if (!worker) return
    const id = this.nextId++
    worker.postMessage({type: 'close', id})
    try {
      await this.call(id)
    } finally {
      this.worker = undefined
      worker.removeAllListeners('exit')
      await worker.terminate()
    }
  }

  private call(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => this.calls.set(id, {resolve: resolve as (value: never) => void, reject}))
  }

  private onReply(reply: Reply): void {
    const id = reply.type === 'opened' ? 0 : reply.id
    const call = this.calls.get(id)
    if (!call) return
    this.calls.delete(id)
    if (reply.type === 'error') call.reject(new StoreError(reply.error.code, reply.error.message, reply.error.path))
    else call.resolve((reply.type === 'opened' ? reply.rows : undefined) as never)
  }
}
