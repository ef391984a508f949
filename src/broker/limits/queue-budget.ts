/**
 * The broker-wide budget for messages queued beyond `--max-queued` (issue 10's overload policy). Hand-written:
 * it is the broker's own flow control, tied to its sessions and sockets.
 *
 * `--max-queued` alone would drop QoS 1/2 messages for a subscriber that is merely slower than its publishers,
 * although it acknowledges steadily. So a connected session that keeps acknowledging may queue past its limit; what
 * it holds past the limit is counted here, for all sessions together:
 * - at 3/4 of the budget the broker stops reading from publishers (their sockets are paused after the packet in
 *   hand) until the total falls to 1/2: backpressure reaches the publishers through TCP, nothing is dropped;
 * - at the whole budget a message that would go past a session's limit is dropped and counted, as before;
 * - a session that owes acknowledgements and has given none for half a second (or goes offline) is "stalled": its
 *   queue is cut back to its limit within 0.1 s (the newest messages are dropped and counted), so a stalled client
 *   can hold publishers back for about half a second at most, and never costs anyone else a message. The clock
 *   starts at the last acknowledgement, at the connection, or when a message goes in flight to a client that owed
 *   nothing: a subscriber that was sent nothing for a while has not stalled.
 * A connection that has messages in flight to itself is never paused: its acknowledgements are what drains queues.
 */
import type {Connection} from '../connection/connection.js'
import type {BrokerStats} from '../context.js'
import type {Logger} from '../logger.js'
import type {ResolvedOptions} from '../options.js'
import type {Session} from '../session/session.js'
import type {Store, StoredMessage} from '../store/store.js'

/** A session that has acknowledged nothing for this long while messages are in flight to it is stalled. */
const STALL_MS = 500
const CHECK_MS = 100

export class QueueBudget {
  /** Bytes queued past their sessions' limits, all sessions together. */
  bytes = 0
  /** True from 3/4 of the budget down to 1/2: publishers are being paused. */
  throttling = false
  /** Times the broker began pausing publishers since start. */
  episodes = 0
  private throttledAt = 0
  private readonly paused = new Set<Connection>()
  private readonly overflowing = new Set<Session>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    private readonly stats: BrokerStats,
    private readonly store: Store,
  ) {}

  private get limit(): number {
    return this.options.queueBudget
  }

  /** A client (re)connected to `session`: what it owes (resent messages) is counted from now. */
  connected(session: Session, now: number): void {
    session.lastAck = now
  }

  /** Whether `session`, already at `--max-queued`, may queue one more message past it. */
  mayOverflow(session: Session, now: number): boolean {
    return this.bytes < this.limit && progressing(session, now)
  }

  /** Recounts what `session` holds past its limit; call after its queue changed while over the limit. */
  update(session: Session): void {
    const over = session.queued - queue__limit(this.options, session)
    // Records vary in size; the session's share past the limit is taken pro rata, which is exact for equal sizes.
    const bytes = over > 0 ? Math.round((session.queuedBytes * over) / session.queued) : 0
    if (bytes === session.overflowBytes) return
    this.bytes += bytes - session.overflowBytes
    session.overflowBytes = bytes
    if (bytes > 0) {
      if (!this.overflowing.has(session)) {
        this.overflowing.add(session)
        this.timer ??= setInterval(trimStalled, CHECK_MS, this).unref()
      }
    } else {
      this.overflowing.delete(session)
    }
    if (!this.throttling && this.limit > 0 && this.bytes >= (this.limit * 3) / 4) this.begin()
    else if (this.throttling && this.bytes <= this.limit / 2) this.end()
  }

  /** After a PUBLISH from `connection` was routed: pause it while the broker is over 3/4 of the budget. */
  throttle(connection: Connection): void {
    if (!this.throttling || connection.throttled || connection.state !== 'connected') return
    const session = connection.session
    if (session !== null && session.inflight > 0) return
    connection.throttled = true
    connection.stream.pause()
    this.paused.add(connection)
  }

  /** A paused connection that closes leaves the set. */
  forget(connection: Connection): void {
    this.paused.delete(connection)
  }

  /** A session that ends takes its share of the budget with it. */
  drop(session: Session): void {
    if (session.overflowBytes === 0) return
    this.bytes -= session.overflowBytes
    session.overflowBytes = 0
    this.overflowing.delete(session)
    if (this.throttling && this.bytes <= this.limit / 2) this.end()
  }

  /** The broker is closing (its connections too): nothing to resume and nothing to log. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.throttling = false
    this.paused.clear()
  }

  private begin(): void {
    this.throttling = true
    this.throttledAt = Date.now()
    this.episodes++
    this.logger.warn(
      `${mib(this.bytes)} queued past --max-queued for slow clients (budget ${mib(this.limit)}): pausing publishers until it is back under ${mib(this.limit / 2)}`,
    )
  }

  private end(): void {
    if (!this.throttling) return
    this.throttling = false
    const now = Date.now()
    for (const connection of this.paused) connection.unthrottle(now)
    this.logger.info(`queue budget back under half (${mib(this.bytes)}): ${this.paused.size} publisher(s) resumed after ${now - this.throttledAt} ms`)
    this.paused.clear()
  }

  /** Set by the Broker: each message trimmed from a stalled session (the onMessageDropped hook, 'queue-full'). */
  onDropped: ((session: Session, message: StoredMessage) => void) | undefined = undefined

  /** @internal cuts stalled sessions back to their limit. */
  trimStalled(): void {
    const now = Date.now()
    for (const session of this.overflowing) {
      if (progressing(session, now)) continue
      const dropped = session.trim(queue__limit(this.options, session), this.store, this.onDropped === undefined ? undefined : (m) => this.onDropped!(session, m))
      this.stats.messagesDropped += dropped
      session.dropped += dropped
      this.logger.warn(
        `session ${session.clientId}: ${session.connection === null ? 'offline' : `no acknowledgement for ${now - session.lastAck} ms`}, ${dropped} message(s) past --max-queued dropped`,
      )
      this.update(session)
    }
    if (this.overflowing.size === 0 && this.timer !== null) {
      clearInterval(this.timer)
      this.timer = null
    }
  }
}

/**
 * The queue limit of a session: its connection's own (`ConnectionMeta.maxQueued`, bridges; the last connection's
 * while it is offline) or `--max-queued`.
 */
export function queue__limit(options: ResolvedOptions, session: Session): number {
  return session.connection?.meta.maxQueued ?? session.maxQueued ?? options.maxQueued
}

/** Connected and acknowledging. */
function progressing(session: Session, now: number): boolean {
  const connection = session.connection
  return connection !== null && connection.state === 'connected' && now - session.lastAck < STALL_MS
}

function trimStalled(budget: QueueBudget): void {
  budget.trimStalled()
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`
}
