/**
 * The group commit that the SQLite and Redis stores share: a mutation only counts as pending (the store keeps what
 * it will write, write-behind.ts), and one commit writes everything pending once per event-loop turn (or every
 * `commitInterval` ms, or at once when `maxBatch` mutations are pending). Commits run one at a time; while one is
 * being written the next batch gathers, so batches grow with the load by themselves. `flush()` resolves after the
 * commit that holds every earlier mutation, so the broker can acknowledge a burst of QoS 1/2 packets with one write.
 *
 * A failed commit keeps its batch: flush() callers are rejected (the broker does not acknowledge what is not
 * stored), the store hears about it, and the commit is retried every second until it succeeds.
 */

/** What a store does for its group commit: its own batch, encoding and write. */
export interface GroupCommitStore<B> {
  /** Moves everything pending out as one batch. */
  take(): B
  /** Writes one batch; rejects when it was not stored. */
  write(batch: B): Promise<void>
  /** Puts a batch that could not be written back under what changed since, to be retried. */
  restore(batch: B): void
  /** The error flush() callers of a failed commit get (default: the write's own). */
  failure?(error: Error): Error
  /** Hears a failed commit; `first` is true for the first failure after a success. */
  failed(error: Error, first: boolean): void
  /** Hears the first success after failed commits. */
  recovered?(): void
  /** The error of flush() on a store that is not open while mutations are pending. */
  closedError(): Error
}

export interface GroupCommitOptions {
  /** Milliseconds between commits; 0 commits once per event-loop turn. */
  commitInterval: number
  /** Commit at once when this many mutations are pending. */
  maxBatch: number
}

/** A flush() caller waiting for a commit. */
interface Waiter {
  resolve: () => void
  reject: (error: Error) => void
}

const RETRY_MS = 1000

export class GroupCommit<B> {
  /** Commits done, mutations recorded, failed commits, time from handing a batch over to its commit (ms). */
  readonly stats = {commits: 0, rows: 0, failures: 0, commitMs: 0, maxCommitMs: 0}
  private open = false
  private pendingCount = 0
  /** flush() callers waiting for the next commit, and for the one being written. */
  private waiters: Waiter[] = []
  private writing: Promise<void> | null = null
  private writingWaiters: Waiter[] = []
  private timer?: NodeJS.Timeout
  private immediate?: NodeJS.Immediate
  private failingNow = false

  constructor(
    private readonly store: GroupCommitStore<B>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Mutations waiting for the next commit. */
  get pending(): number {
    return this.pendingCount
  }

  /** True while commits fail. */
  get failing(): boolean {
    return this.failingNow
  }

  /** The store opened: commits may run. */
  start(): void {
    this.open = true
    this.failingNow = false
  }

  /** One mutation recorded. */
  touched(): void {
    this.pendingCount++
    this.stats.rows++
    if (this.pendingCount >= this.options.maxBatch && !this.failingNow) this.commit()
    else this.schedule()
  }

  flush(): Promise<void> {
    if (!this.open) return this.pendingCount === 0 ? Promise.resolve() : Promise.reject(this.store.closedError())
    if (this.pendingCount === 0) {
      if (!this.writing) return Promise.resolve()
      // Nothing new: what this caller waits for is the batch being written.
      return new Promise<void>((resolve, reject) => this.writingWaiters.push({resolve, reject}))
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({resolve, reject})
      this.schedule()
    })
  }

  /** The store closes: waits for the commit being written, then writes what is pending (its error is thrown). */
  async stop(): Promise<void> {
    this.cancelTimers()
    this.open = false
    if (this.writing) await this.writing
    if (this.pendingCount === 0) return
    const waiters = this.waiters
    this.waiters = []
    try {
      await this.store.write(this.take())
      groupCommit__settle(waiters, null)
    } catch (error) {
      groupCommit__settle(waiters, error as Error)
      throw error
    }
  }

  /** Drops what is pending without writing it; the flush() callers waiting for it are rejected with `error`. */
  discard(error: Error): void {
    this.take()
    const waiters = this.waiters
    this.waiters = []
    groupCommit__settle(waiters, error)
  }

  private take(): B {
    this.pendingCount = 0
    return this.store.take()
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.writing) return
    if (this.failingNow) this.timer = setTimeout(this.commit, RETRY_MS)
    else if (this.options.commitInterval > 0) this.timer = setTimeout(this.commit, this.options.commitInterval)
    else this.immediate = setImmediate(this.commit)
  }

  private cancelTimers(): void {
    if (this.timer) clearTimeout(this.timer)
    if (this.immediate) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  /** Hands what is pending to the store's write (one batch at a time); an arrow function for setImmediate/setTimeout. */
  private readonly commit = (): void => {
    this.cancelTimers()
    if (!this.open || this.writing) return
    if (this.pendingCount === 0) {
      const waiters = this.waiters
      this.waiters = []
      groupCommit__settle(waiters, null)
      return
    }
    const batch = this.take()
    this.writingWaiters = this.waiters
    this.waiters = []
    const started = performance.now()
    this.writing = this.store.write(batch).then(
      () => this.written(started, batch, null),
      (error: Error) => this.written(started, batch, error),
    )
  }

  private written(started: number, batch: B, error: Error | null): void {
    const took = performance.now() - started
    const waiters = this.writingWaiters
    this.writingWaiters = []
    this.writing = null
    if (error) {
      this.store.restore(batch)
      this.pendingCount += 1
      const first = !this.failingNow
      this.failingNow = true
      this.stats.failures++
      const failure = this.store.failure?.(error) ?? error
      groupCommit__settle(waiters, failure)
      this.store.failed(failure, first)
    } else {
      const recovered = this.failingNow
      this.failingNow = false
      this.stats.commits++
      this.stats.commitMs += took
      if (took > this.stats.maxCommitMs) this.stats.maxCommitMs = took
      groupCommit__settle(waiters, null)
      if (recovered) this.store.recovered?.()
    }
    if (this.open && (this.pendingCount > 0 || this.waiters.length > 0)) this.schedule()
  }
}

function groupCommit__settle(waiters: Waiter[], error: Error | null): void {
  for (const waiter of waiters) {
    if (error) waiter.reject(error)
    else waiter.resolve()
  }
}
