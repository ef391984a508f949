/**
 * The Redis store (ioredis): the same write-behind group commit as the SQLite store, on a Redis server that several
 * broker nodes can share (docs/cluster.md). Mutations record the value they will write in pending maps keyed like
 * the Redis field they replace (a record changed twice before a commit is written once; write-behind.ts and
 * group-commit.ts, shared with the SQLite store); a commit sends everything
 * pending as ONE MULTI/EXEC transaction, pipelined in one round trip, once per event-loop turn (or at once when
 * `maxBatch` mutations are pending). `flush()` resolves after the EXEC that holds every earlier mutation: the
 * write is then applied by Redis (and as durable as the server's own persistence settings make it: with
 * `appendonly yes` and `appendfsync always` it is on disk; docs/cluster.md).
 *
 * Keys (prefix `{<cluster-name>}:`, default `{mqttkit}:`, in braces so Redis Cluster would keep them in one slot):
 *   retained  HASH topic -> message          sessions  HASH client id -> session JSON
 *   clients   SET  client ids with queue or inflight records
 *   q:<id>    HASH seq -> queued message     i:<id>    HASH o<packet id>|i<packet id> -> inflight record
 *   alive     the epoch ms of the last commit (a session stored as connected comes back disconnected then)
 *
 * While Redis is unreachable commits fail fast (no offline queue in ioredis): flush() callers are rejected, so the
 * broker acknowledges nothing it could not keep; the batch stays pending and is retried every second, `onError`
 * hears about the first failure of an outage only, and `onRecovered` about its end.
 */
import type {ChainableCommander, Redis, RedisOptions} from 'ioredis'
import {StoreError} from './errors.js'
import {
  redisCodec__inflight,
  redisCodec__inflightField,
  redisCodec__message,
  redisCodec__queued,
  redisCodec__session,
  redisCodec__toInflight,
  redisCodec__toMessage,
  redisCodec__toQueued,
  redisCodec__toSession,
} from './redis-codec.js'
import {type RedisTarget, redisUrl__parse} from './redis-url.js'
import type {InflightRecord, QueuedRecord, SessionRecord, Store, StoreSnapshot, StoredMessage} from './store.js'
import {GroupCommit} from './group-commit.js'
import {WriteBehindBuffer, type WriteBehindChanges} from './write-behind.js'

export interface RedisStoreOptions {
  /** redis://, rediss:// or redis+sentinel:// (redis-url.ts); default redis://127.0.0.1:6379/0. */
  url?: string
  /** Key prefix: every store (and broker node) with the same Redis and name shares one state. Default `mqttkit`. */
  clusterName?: string
  /** Commit at once when this many mutations are pending (default 10000), bounding a transaction's size. */
  maxBatch?: number
  /** Milliseconds to wait for Redis when opening (default 5000). */
  connectTimeout?: number
  /** Extra ioredis options (merged over the URL's). */
  redis?: RedisOptions
  onError?: (error: Error) => void
}

type Values<K> = Map<K, Buffer | null>

/** Values keyed like the Redis fields they replace; an inflight record's field is o<packet id> or i<packet id>. */
interface Batch extends WriteBehindChanges<Buffer, string, Buffer, string> {
  commands: Array<(multi: ChainableCommander) => void>
}

/** The key names of one cluster name. */
export class RedisKeys {
  readonly base: string
  readonly retained: string
  readonly sessions: string
  readonly clients: string
  readonly alive: string

  constructor(readonly clusterName: string) {
    if (!/^[\w.-]{1,64}$/.test(clusterName)) {
      throw new StoreError('spec', `cluster name "${clusterName}": use 1 to 64 letters, digits, '.', '_' or '-'`)
    }
    this.base = `{${clusterName}}:`
    this.retained = this.base + 'retained'
    this.sessions = this.base + 'sessions'
    this.clients = this.base + 'clients'
    this.alive = this.base + 'alive'
  }

  queue(clientId: string): string {
    return `${this.base}q:${clientId}`
  }

  inflight(clientId: string): string {
    return `${this.base}i:${clientId}`
  }
}

// ioredis is imported by the first store that opens: the library and a broker on another store never load it
// (issue 20: start-up).
let ioredis: {Redis: typeof Redis} | undefined

export class RedisStore implements Store {
  readonly name: string
  readonly keys: RedisKeys
  onError?: (error: Error) => void
  /** Called when a commit succeeds after failed ones (Redis is back). */
  onRecovered?: () => void
  /** Commits done, mutations recorded, failed commits, time from sending a batch to its EXEC reply (ms). */
  readonly stats: GroupCommit<Batch>['stats']

  private readonly target: RedisTarget
  private readonly options: RedisStoreOptions & {maxBatch: number; connectTimeout: number}
  private redis?: Redis
  private state: 'new' | 'open' | 'closed' = 'new'

  /** Pending records (write-behind.ts). */
  private readonly changes = new WriteBehindBuffer<Buffer, string, Buffer, string>(() => this.commits.touched())
  /** Extra commands for the next commit, after the records (the cluster's inbox entries and acks). */
  private commands: Array<(multi: ChainableCommander) => void> = []
  /** When the commits run (group-commit.ts): one MULTI/EXEC each. */
  private readonly commits: GroupCommit<Batch>

  constructor(options: RedisStoreOptions = {}) {
    this.options = {maxBatch: 10_000, connectTimeout: 5000, ...options}
    this.target = redisUrl__parse(options.url ?? 'redis://127.0.0.1:6379/0')
    this.keys = new RedisKeys(options.clusterName ?? 'mqttkit')
    this.name = `${this.target.label} (cluster ${this.keys.clusterName})`
    this.onError = options.onError
    this.commits = new GroupCommit<Batch>(
      {
        take: () => this.takeBatch(),
        write: (batch) => this.write(this.redis!, batch),
        restore: (batch) => this.mergeBack(batch),
        failure: (error) =>
          error instanceof StoreError ? error : new StoreError('unavailable', `${this.name}: ${error.message}`, undefined, {cause: error}),
        // One report per outage: every retry of it fails the same way.
        failed: (error, first) => {
          if (first) this.report(error)
        },
        recovered: () => this.onRecovered?.(),
        closedError: () => this.closedError(),
      },
      {commitInterval: 0, maxBatch: this.options.maxBatch},
    )
    this.stats = this.commits.stats
  }

  /** The connection (for the cluster module, which shares it); undefined before open(). */
  get client(): Redis | undefined {
    return this.redis
  }

  /**
   * False (set by the cluster before open()): the snapshot carries retained messages only; sessions, queues and
   * inflight records are loaded per client by the node that owns them (loadClient).
   */
  sessionsAtOpen = true

  /** Mutations and commands waiting for the next commit (the cluster sheds QoS 0 past a bound). */
  get pendingCount(): number {
    return this.commits.pending
  }

  /** True while commits fail (Redis unreachable): the cluster refuses new connections then. */
  get unavailable(): boolean {
    return this.commits.failing
  }

  /**
   * Adds commands to the next commit's MULTI, after the records recorded before them: what they say is then
   * applied together with the state it depends on, and flush() covers them (the cluster's cross-node entries).
   */
  command(add: (multi: ChainableCommander) => void): void {
    this.assertOpen()
    this.commands.push(add)
    this.commits.touched()
  }

  /**
   * Drops everything not committed yet (a cluster node that was declared dead: its sessions belong to the node that
   * adopted them, and writing them now would overwrite that node's state). Nothing acknowledged is lost: every
   * acknowledgement waits for a commit, and the waiters are rejected here.
   */
  discardPending(): void {
    this.commits.discard(new StoreError('io', `${this.name}: changes discarded, this cluster node was declared dead`))
  }

  /** A new connection to the same Redis with the same settings (the cluster's blocking stream reader needs its own). */
  duplicate(): Redis {
    return this.connectionFor()
  }

  async open(): Promise<StoreSnapshot> {
    if (this.state === 'open') throw new StoreError('io', `${this.name} is already open`)
    ioredis ??= {Redis: (await import('ioredis')).Redis}
    const redis = this.connectionFor()
    let lastError: Error | undefined
    const onError = (error: Error) => (lastError = error)
    redis.on('error', onError)
    try {
      await withTimeout(redis.connect(), this.options.connectTimeout, () => `no answer within ${this.options.connectTimeout} ms`)
      const snapshot = await this.readSnapshot(redis)
      this.redis = redis
      this.state = 'open'
      this.commits.start()
      return snapshot
    } catch (error) {
      redis.disconnect()
      if (error instanceof StoreError) throw error
      // ioredis rejects connect() with "Connection is closed"; the socket's own error says why.
      const why = (lastError ?? (error as Error)).message
      throw new StoreError('unavailable', `Cannot reach Redis at ${this.target.label}: ${why} (is redis-server running, and is the URL right?)`, undefined, {cause: error})
    } finally {
      redis.off('error', onError)
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return
    this.state = 'closed'
    const redis = this.redis!
    try {
      await this.commits.stop()
    } finally {
      this.redis = undefined
      await redis.quit().catch(() => redis.disconnect())
    }
  }

  setRetained(message: StoredMessage): void {
    this.assertOpen()
    // A cluster node's $SYS topics describe that node only: they are not shared through Redis.
    if (!this.sessionsAtOpen && message.topic.startsWith('$SYS/')) return
    this.changes.setRetained(message.topic, message.payload.length === 0 ? null : redisCodec__message(message))
  }

  saveSession(session: SessionRecord): void {
    this.assertOpen()
    this.changes.setSession(session.clientId, redisCodec__session(session))
  }

  deleteSession(clientId: string): void {
    this.assertOpen()
    this.changes.deleteSession(clientId)
  }

  enqueue(record: QueuedRecord): void {
    this.assertOpen()
    this.changes.setQueued(record.clientId, record.seq, redisCodec__queued(record))
  }

  dequeue(clientId: string, seq: number): void {
    this.assertOpen()
    this.changes.setQueued(clientId, seq, null)
  }

  setInflight(record: InflightRecord): void {
    this.assertOpen()
    this.changes.setInflight(record.clientId, redisCodec__inflightField(record.direction, record.packetId), redisCodec__inflight(record))
  }

  deleteInflight(clientId: string, direction: InflightRecord['direction'], packetId: number): void {
    this.assertOpen()
    this.changes.setInflight(clientId, redisCodec__inflightField(direction, packetId), null)
  }

  flush(): Promise<void> {
    return this.commits.flush()
  }

  /** One client's session, queue and inflight records as Redis holds them now (a cluster node resuming it). */
  async loadClient(clientId: string): Promise<{session?: SessionRecord; queued: QueuedRecord[]; inflight: InflightRecord[]}> {
    const redis = this.redis
    if (!redis) throw this.closedError()
    const [[, session], [, queue], [, inflight]] = (await redis
      .pipeline()
      .hget(this.keys.sessions, clientId)
      .hgetallBuffer(this.keys.queue(clientId))
      .hgetallBuffer(this.keys.inflight(clientId))
      .exec()) as [[null, string | null], [null, Record<string, Buffer>], [null, Record<string, Buffer>]]
    const now = Date.now()
    return {
      session: session === null ? undefined : redisCodec__toSession(session),
      queued: Object.entries(queue)
        .map(([seq, value]) => redisCodec__toQueued(clientId, Number(seq), value))
        .filter((r) => r.message.expiresAt === undefined || r.message.expiresAt > now)
        .sort((a, b) => a.seq - b.seq),
      inflight: Object.entries(inflight).map(([field, value]) => redisCodec__toInflight(clientId, field, value)),
    }
  }

  private connectionFor(): Redis {
    if (ioredis === undefined) throw new StoreError('io', `${this.name} is not open`)
    const {Redis} = ioredis
    const options: RedisOptions = {
      ...this.target.options,
      ...this.options.redis,
      lazyConnect: true,
      // Fail fast while Redis is away: a command waiting in ioredis's queue would hold acks for an unknown time.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * times, 1000),
    }
    const redis = this.target.url === undefined ? new Redis(options) : new Redis(this.target.url, options)
    // ioredis reports every failed reconnection here; the store reports the outage once, through its commits.
    redis.on('error', () => {})
    return redis
  }

  private async readSnapshot(redis: Redis): Promise<StoreSnapshot> {
    const k = this.keys
    const [[, retained], [, sessions], [, clients], [, alive]] = (await redis
      .pipeline()
      .hgetallBuffer(k.retained)
      // A cluster node loads sessions one by one as it takes them (loadClient): reading none here.
      .hgetall(this.sessionsAtOpen ? k.sessions : k.base + 'none')
      .smembers(this.sessionsAtOpen ? k.clients : k.base + 'none')
      .get(k.alive)
      .exec()) as [[null, Record<string, Buffer>], [null, Record<string, string>], [null, string[]], [null, string | null]]
    const now = Date.now()
    const lastAlive = alive === null ? now : Number(alive)
    const expired = (m: StoredMessage) => m.expiresAt !== undefined && m.expiresAt <= now
    const purge = redis.multi()
    let purged = 0

    const snapshot: StoreSnapshot = {retained: [], sessions: [], queued: [], inflight: []}
    for (const [topic, value] of Object.entries(retained)) {
      const message = redisCodec__toMessage(value)
      if (expired(message)) {
        purge.hdel(k.retained, topic)
        purged++
      } else snapshot.retained.push(message)
    }
    for (const value of Object.values(sessions)) {
      const session = redisCodec__toSession(value)
      if (session.disconnectedAt === null) session.disconnectedAt = lastAlive
      snapshot.sessions.push(session)
    }
    const read = redis.pipeline()
    for (const clientId of clients) read.hgetallBuffer(k.queue(clientId)).hgetallBuffer(k.inflight(clientId))
    const replies = (await read.exec()) ?? []
    clients.forEach((clientId, n) => {
      const queue = (replies[2 * n]?.[1] ?? {}) as Record<string, Buffer>
      const inflight = (replies[2 * n + 1]?.[1] ?? {}) as Record<string, Buffer>
      const records = Object.entries(queue).map(([seq, value]) => redisCodec__toQueued(clientId, Number(seq), value))
      records.sort((a, b) => a.seq - b.seq)
      for (const record of records) {
        if (expired(record.message)) {
          purge.hdel(k.queue(clientId), String(record.seq))
          purged++
        } else snapshot.queued.push(record)
      }
      for (const [field, value] of Object.entries(inflight)) snapshot.inflight.push(redisCodec__toInflight(clientId, field, value))
      if (records.length === 0 && Object.keys(inflight).length === 0) {
        purge.srem(k.clients, clientId)
        purged++
      }
    })
    if (purged > 0) await purge.exec()
    else purge.discard()
    return snapshot
  }

  private takeBatch(): Batch {
    const batch: Batch = {...this.changes.take(), commands: this.commands}
    this.commands = []
    return batch
  }

  /** One MULTI/EXEC: deletions of whole sessions first (what follows them in the batch is newer), then the rest. */
  private async write(redis: Redis, batch: Batch): Promise<void> {
    const k = this.keys
    const multi = redis.multi()
    for (const clientId of batch.cascade) multi.del(k.queue(clientId), k.inflight(clientId)).srem(k.clients, clientId)
    for (const [clientId, value] of batch.sessions) {
      if (value === null) multi.hdel(k.sessions, clientId)
      else multi.hset(k.sessions, clientId, value)
    }
    for (const [topic, value] of batch.retained) {
      if (value === null) multi.hdel(k.retained, topic)
      else multi.hset(k.retained, topic, value)
    }
    const fields = (key: string, clientId: string, values: Values<number | string>) => {
      const sets: Array<string | Buffer> = []
      const deletes: string[] = []
      for (const [field, value] of values) {
        if (value === null) deletes.push(String(field))
        else sets.push(String(field), value)
      }
      if (sets.length > 0) multi.hset(key, ...sets).sadd(k.clients, clientId)
      if (deletes.length > 0) multi.hdel(key, ...deletes)
    }
    for (const [clientId, values] of batch.queue) fields(k.queue(clientId), clientId, values)
    for (const [clientId, values] of batch.inflight) fields(k.inflight(clientId), clientId, values)
    for (const add of batch.commands) add(multi)
    multi.set(k.alive, String(Date.now()))
    const replies = await multi.exec()
    // EXEC answers null when the transaction was aborted, and an error per failed command otherwise.
    if (replies === null) throw new StoreError('io', `${this.name}: the transaction was aborted`)
    for (const [error] of replies) if (error) throw new StoreError('io', `${this.name}: ${error.message}`, undefined, {cause: error})
  }

  /** A batch that could not be written goes back under what changed since (newer changes to the same key win). */
  private mergeBack(batch: Batch): void {
    this.changes.restore(batch)
    // The batch's commands were recorded before the ones added since: they stay first.
    this.commands = [...batch.commands, ...this.commands]
  }

  private report(error: Error): void {
    if (this.onError) this.onError(error)
    else process.emitWarning(error.message, {code: 'MQTTKIT_STORE'})
  }

  private closedError(): StoreError {
    return new StoreError('closed', `${this.name}: ${this.state === 'new' ? 'used before open()' : 'mutation after close()'}; the write would be lost`)
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw this.closedError()
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(why())), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
