/**
 * The Broker: lifecycle (listen, close), the client registry, the public API for embedding (`publish`, `stats`,
 * events) and the wiring of its parts. The protocol state machine, routing and sessions are hand-written (in
 * connection/, handlers/, session/ and router.ts) because they are mqttkit's own core: no library offers an
 * MQTT 5 broker core to build on, and owning it is what lets us keep the hot path allocation-lean.
 */
import {EventEmitter} from 'node:events'
import type {Duplex} from 'node:stream'
import {AckBatcher} from './connection/acks.js'
import {Connection} from './connection/connection.js'
import {type BrokerContext, type BrokerStats, stats__create} from './context.js'
import {type Hooks, defaultHooks} from './hooks.js'
import {IdleMemory} from './limits/idle-memory.js'
import {type Logger, logger__create} from './logger.js'
import {type BrokerOptions, type ResolvedOptions, options__resolve} from './options.js'
import {Router} from './router.js'
import {SessionRegistry} from './session/registry.js'
import {ClusterNode} from './cluster/node.js'
import {MemoryStore} from './store/memory.js'
import {RedisStore} from './store/redis.js'
import type {Store, StoredMessage} from './store/store.js'
import {topic__validateName} from './topics/index.js'
import {type ConnectionMeta, type ListenerSpec, type RunningListener, transport__listen} from './transport/index.js'
import {ReasonCode} from '../protocol/index.js'
import {ConnectionRateLimiter} from './limits/connection-rate.js'
import {QueueBudget} from './limits/queue-budget.js'
import {SysPublisher} from './sys.js'
import {events__emit, hooks__dropped} from './handlers/hook-call.js'
import {RetainedMessages} from './retained/api.js'
import {type OpenFileLimit, openFiles__raise, openFiles__report} from './limits/open-files.js'
import {AuthFiles} from './auth/hooks.js'
import {BrokerClients, BrokerSettings, BrokerSubscriptions, BrokerUsers, type LiveSettings} from './management/index.js'

export type {BrokerOptions} from './options.js'
export type {BrokerStats} from './context.js'

/** Counters plus the sizes of the broker's tables, for $SYS and for embedding applications that report them. */
export interface BrokerStatsView extends BrokerStats {
  subscriptions: number
  retained: number
  sessions: number
  queued: number
  inflight: number
  /** Bytes queued past --max-queued for clients that keep acknowledging (limits/queue-budget.ts). */
  queuedPastLimit: number
  /** Times the broker went over 3/4 of its queue budget and paused publishers. */
  publisherPauses: number
}

/**
 * Events, with their arguments in docs/broker.md (one table): 'clientConnected'/'clientReady'(ClientInfo),
 * 'clientDisconnected'/'clientDisconnect'(ClientInfo, reason), 'publish'/'published'(StoredMessage, ClientInfo |
 * null), 'subscribe'/'subscribed'(SubscriptionRecord[], ClientInfo), 'unsubscribe'/'unsubscribed'(string[],
 * ClientInfo), 'ack'(AckInfo, ClientInfo), 'ping'(ClientInfo), 'keepaliveTimeout'(ClientInfo), 'clientError'(ClientInfo
 * | null, Error), 'sessionExpired'(ClientInfo), 'messageDropped'(StoredMessage, DropReason, ClientInfo),
 * 'will'(StoredMessage, ClientInfo).
 */
export type BrokerEvent =
  | 'clientConnected'
  | 'clientReady'
  | 'clientDisconnected'
  | 'clientDisconnect'
  | 'publish'
  | 'published'
  | 'subscribe'
  | 'subscribed'
  | 'unsubscribe'
  | 'unsubscribed'
  | 'ack'
  | 'ping'
  | 'keepaliveTimeout'
  | 'clientError'
  | 'sessionExpired'
  | 'messageDropped'
  | 'will'
  | 'warning'

/**
 * Not an EventEmitter subclass: `listeners` is the agreed name of the running listener list, which would clash
 * with EventEmitter#listeners(); on/once/off delegate to an inner emitter instead.
 */
export class Broker {
  readonly options: ResolvedOptions
  readonly store: Store
  readonly logger: Logger
  /** This broker as a cluster node (options.cluster with a RedisStore; cluster/node.ts); undefined otherwise. */
  readonly cluster: ClusterNode | undefined
  /** The retained messages: set/get/delete/forEach/match, count, bytes (retained/api.ts, docs/library.md). */
  readonly retained: RetainedMessages
  listeners: RunningListener[] = []
  private readonly specs: ListenerSpec[]
  private readonly ctx: BrokerContext
  private readonly emitter = new EventEmitter()
  private listening = false
  private restored = false
  /** --max-connection-rate (limits/connection-rate.ts); absent when unlimited. */
  private readonly connectionRate: ConnectionRateLimiter | undefined
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new'
  /** $SYS/broker/... topics every `sysInterval` seconds (sys.ts); started by listen(). */
  private sys: SysPublisher | undefined
  /** The open-file limit as listen() found or raised it (limits/open-files.ts); undefined before, or with `raiseFileLimit: false`. */
  openFiles: OpenFileLimit | undefined
  private readonly raiseFileLimit: boolean
  private readonly releaseIdleMemory: boolean
  private readonly idleMemory: IdleMemory
  /** Users, ACL and allow-anonymous in force (BrokerOptions.auth, or none: anonymous allowed). */
  readonly auth: AuthFiles
  /** The management API (management/): list, inspect and kick clients; see every subscription. */
  readonly clients: BrokerClients
  readonly subscriptions: BrokerSubscriptions
  /** The users of the password file in `auth` (management/users.ts). */
  readonly users: BrokerUsers
  private readonly settings: BrokerSettings

  constructor(options: BrokerOptions = {}) {
    this.options = options__resolve(options)
    this.specs = options.listeners ?? [{type: 'tcp', host: '0.0.0.0', port: 1883}]
    this.raiseFileLimit = options.raiseFileLimit ?? true
    this.releaseIdleMemory = options.releaseIdleMemory ?? true
    this.store = options.store ?? new MemoryStore()
    this.logger = options.logger ?? logger__create(options.logLevel ?? 'info')
    this.auth = options.auth ?? AuthFiles.none()
    // The auth hooks come first, so hooks given in BrokerOptions.hooks override them one by one.
    const hooks: Hooks = {...defaultHooks}
    for (const [name, fn] of Object.entries({...this.auth.hooks, ...options.hooks})) {
      if (fn !== undefined) (hooks as unknown as Record<string, unknown>)[name] = fn
    }
    const router = new Router(this.options.sharedStrategy)
    const sessions = new SessionRegistry()
    const stats = stats__create()
    this.ctx = {
      options: this.options,
      store: this.store,
      hooks,
      logger: this.logger,
      stats,
      router,
      sessions,
      clients: new Map(),
      connections: new Set(),
      acks: new AckBatcher(this.store, this.logger),
      budget: new QueueBudget(this.options, this.logger, stats, this.store),
      events: this.emitter,
      closing: false,
    }
    // Background write failures of the store (a group commit nobody waited for) are logged, never thrown.
    this.store.onError ??= (error: Error) => this.logger.error(`store ${this.store.name}: ${error.message}`)
    if (options.cluster !== undefined) {
      if (!(this.store instanceof RedisStore)) throw new Error('cluster needs a Redis store (--store redis://...)')
      this.cluster = new ClusterNode(this.ctx, this.store, options.cluster)
      this.ctx.cluster = this.cluster
    }
    router.attach(this.ctx)
    this.ctx.budget.onDropped = (session, message) => hooks__dropped(this.ctx, session.client, message, 'queue-full')
    this.retained = new RetainedMessages(router.retained, this.ctx, async (message) => {
      await this.publish(message)
    })
    sessions.attach(this.ctx)
    this.idleMemory = new IdleMemory(stats, this.logger)
    this.connectionRate = this.options.maxConnectionRate > 0 ? new ConnectionRateLimiter(this.options.maxConnectionRate) : undefined
    this.handle = this.handle.bind(this)
    this.clients = new BrokerClients(this.ctx)
    this.subscriptions = new BrokerSubscriptions(this.ctx)
    this.users = new BrokerUsers(this.auth)
    this.settings = new BrokerSettings(this.options, this.auth, options.hooks?.authenticate !== undefined)
  }

  /** The settings that may change while running (management/configure.ts), as now in force. */
  get config(): LiveSettings {
    return this.settings.current
  }

  /**
   * Changes live settings (allow-anonymous, max-connections, max-keepalive, limits); they apply from the next time
   * the broker reads them. The whole patch is checked first: a ConfigureError names the bad field and nothing
   * changes. Returns the settings in force.
   */
  configure(patch: Partial<LiveSettings>): LiveSettings {
    return this.settings.configure(patch)
  }

  /** Opens the store, restores its snapshot, then starts every listener. Rejects (and stops) when one cannot bind. */
  async listen(): Promise<RunningListener[]> {
    if (this.listening || this.state === 'closing' || this.state === 'closed') throw new Error(`broker already ${this.listening ? 'listening' : this.state}`)
    this.listening = true
    this.state = 'starting'
    // Every client is one file descriptor: soft limit up to the hard one before accepting (limits/open-files.ts).
    if (this.raiseFileLimit) {
      this.openFiles = await openFiles__raise()
      openFiles__report(this.openFiles, this.logger)
    }
    await this.restore()
    try {
      for (const spec of this.specs) this.listeners.push(await transport__listen(spec, this.handle))
    } catch (error) {
      await Promise.all(this.listeners.map((l) => l.close()))
      this.listeners = []
      this.state = 'closed'
      await this.cluster?.stop()
      await this.store.close()
      throw error
    }
    this.state = 'running'
    this.sys = new SysPublisher(this, this.options.sysInterval, (error) => this.logger.warn(`$SYS publish failed: ${String(error)}`))
    this.sys.start()
    if (this.releaseIdleMemory) this.idleMemory.start()
    return this.listeners
  }

  /** Opens the store and restores it without listening (embedding with `handle()` only). */
  async restore(): Promise<void> {
    if (this.restored) return
    this.restored = true
    const snapshot = await this.store.open()
    for (const message of snapshot.retained) this.ctx.router.retained.restore(message)
    this.ctx.sessions.restore(snapshot)
    // A cluster node takes no sessions from the snapshot: it registers and adopts its earlier incarnation's.
    await this.cluster?.start()
    if (snapshot.sessions.length + snapshot.retained.length > 0) {
      this.logger.info(`restored ${snapshot.sessions.length} session(s), ${snapshot.retained.length} retained message(s), ${snapshot.queued.length} queued message(s) from ${this.store.name}`)
    }
    if (this.state === 'new') this.state = 'running'
  }

  /** Takes one client byte stream (a transport calls this; tests may pass an in-memory duplex). */
  handle(stream: Duplex, meta: ConnectionMeta): void {
    if (this.ctx.closing) {
      stream.destroy()
      return
    }
    // --max-connection-rate: over the per-address rate, closed before a byte is read (docs/security.md).
    if (this.connectionRate !== undefined && !this.connectionRate.allow(meta.remoteAddress)) {
      this.logger.debug(`connection from ${meta.remoteAddress} over --max-connection-rate, closed`)
      stream.destroy()
      return
    }
    const connection = new Connection(this.ctx, stream, meta)
    this.ctx.connections.add(connection)
  }

  /**
   * Publishes a message as the broker itself ($SYS, the embedding application): retained and routed like a client's, with
   * `onPublish` called with a null client. Throws on an invalid topic. Resolves with the number of sessions the
   * message was delivered or queued to.
   */
  async publish(message: StoredMessage): Promise<number> {
    const bad = topic__validateName(message.topic)
    if (bad !== null) throw new Error(`cannot publish to ${JSON.stringify(message.topic)}: ${bad}`)
    const reached = this.ctx.router.publish(message, null)
    try {
      await this.ctx.hooks.onPublish(null, message)
    } catch (error) {
      this.logger.warn(`hook onPublish failed: ${String(error)}`)
    }
    events__emit(this.ctx, 'publish', message, null)
    return reached
  }

  on(event: BrokerEvent, listener: (...args: any[]) => void): this {
    this.emitter.on(event, listener)
    return this
  }

  once(event: BrokerEvent, listener: (...args: any[]) => void): this {
    this.emitter.once(event, listener)
    return this
  }

  off(event: BrokerEvent, listener: (...args: any[]) => void): this {
    this.emitter.off(event, listener)
    return this
  }

  get stats(): BrokerStatsView {
    let queued = 0
    let inflight = 0
    // $SYS reads this every interval: forEach allocates nothing per session, and `inflight` (unlike `outgoing.size`)
    // does not make an empty map for every idle session.
    this.ctx.sessions.forEach((session) => {
      queued += session.queued
      inflight += session.inflight
    })
    return {
      ...this.ctx.stats,
      subscriptions: this.ctx.router.subscriptionCount,
      retained: this.ctx.router.retained.size,
      sessions: this.ctx.sessions.size,
      queued,
      inflight,
      queuedPastLimit: this.ctx.budget.bytes,
      publisherPauses: this.ctx.budget.episodes,
    }
  }

  /** Client ids of the connected clients. */
  get clientIds(): string[] {
    return [...this.ctx.clients.keys()]
  }

  /**
   * Stops accepting, tells MQTT 5 clients DISCONNECT 0x8B, closes every connection, lets pending acks out, flushes
   * and closes the store. Idempotent.
   */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return
    const wasOpen = this.state !== 'new'
    this.state = 'closing'
    await this.sys?.stop()
    this.idleMemory.stop()
    this.ctx.closing = true
    const listeners = this.listeners
    this.listeners = []
    await Promise.all(listeners.map((l) => l.close().catch(() => {})))
    for (const connection of [...this.ctx.connections]) connection.close(ReasonCode.ServerShuttingDown, 'server shutting down')
    this.ctx.sessions.stopAll()
    this.ctx.router.retained.stop()
    this.ctx.budget.stop()
    if (wasOpen) {
      for (let i = 0; i < 50 && !this.ctx.acks.idle; i++) await new Promise((r) => setTimeout(r, 10))
      await this.store.flush()
      // Its sessions are written: leave the cluster so a survivor adopts them at once.
      await this.cluster?.stop()
      await this.store.close()
    }
    this.state = 'closed'
  }
}
