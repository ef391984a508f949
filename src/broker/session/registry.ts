/**
 * Every session the broker holds, online or not, with the two clocks that run while a client is away: session
 * expiry (MQTT 5 §3.1.2.11; 3.1.1 clean-session-0 sessions never expire) and the will delay (§3.1.3.2.2). Both
 * count from `disconnectedAt`, which the store keeps, so they keep counting across broker restarts.
 */
import type {BrokerContext} from '../context.js'
import {events__emit, hooks__notify} from '../handlers/hook-call.js'
import type {ClientInfo} from '../hooks.js'
import type {StoreSnapshot, WillRecord} from '../store/store.js'
import type {ProtocolVersion} from '../../protocol/index.js'
import {EXPIRY_NEVER, Session} from './session.js'

/** setTimeout's ceiling (about 24.8 days); longer waits re-arm. */
const MAX_TIMER = 2_147_483_647

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>()
  private ctx!: BrokerContext

  attach(ctx: BrokerContext): void {
    this.ctx = ctx
  }

  get size(): number {
    return this.sessions.size
  }

  get(clientId: string): Session | undefined {
    return this.sessions.get(clientId)
  }

  values(): IterableIterator<Session> {
    return this.sessions.values()
  }

  /** Every session, without the result object per step that for-of over `values()` allocates (periodic sweeps). */
  forEach(visit: (session: Session) => void): void {
    this.sessions.forEach(visit)
  }

  create(clientId: string, version: ProtocolVersion, expiryInterval: number, client: ClientInfo): Session {
    const session = new Session(clientId, version, expiryInterval, client)
    this.sessions.set(clientId, session)
    return session
  }

  /**
   * Writes the session (subscriptions, expiry, will) to the store when it is a persistent one. A clean session is
   * written too while its connection has a will, once, with expiry 0 and no subscriptions: if the broker dies, the
   * restart finds it disconnected since the last commit, its expiry (0) already passed, and ending it publishes the
   * will [MQTT-3.1.2-8]. Its connection's end deletes the record (discard), as a clean session's end always did.
   */
  persist(session: Session): void {
    if (!session.persistent) {
      const will = session.connection?.will ?? null
      if (will === null || session.stored) return
    }
    session.stored = true
    this.ctx.store.saveSession(session.toRecord())
  }

  /**
   * Ends a session: its subscriptions leave the router, the store forgets it. A will still waiting for its
   * delay is published now, because the session ending is the other event that releases it [MQTT-3.1.3-9].
   */
  discard(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return
    this.sessions.delete(session.clientId)
    this.clearTimers(session)
    this.ctx.budget.drop(session)
    for (const filter of session.subscriptions.keys()) this.ctx.router.unsubscribe(session.clientId, filter)
    if (session.stored) this.ctx.store.deleteSession(session.clientId)
    const will = session.will
    session.will = undefined
    if (will !== undefined) this.publishWill(session.clientId, will, session.client)
  }

  /**
   * The session moves to another cluster node (cluster/takeover.ts): it leaves this node's memory and router, its
   * timers stop, and nothing changes in the store (the new owner loads it from there).
   */
  release(session: Session): void {
    if (this.sessions.get(session.clientId) !== session) return
    this.sessions.delete(session.clientId)
    this.clearTimers(session)
    this.ctx.budget.drop(session)
    for (const filter of session.subscriptions.keys()) this.ctx.router.unsubscribe(session.clientId, filter)
  }

  /** Called when the session's connection went away. */
  disconnected(session: Session): void {
    session.connection = null
    session.disconnectedAt = Date.now()
    if (!session.persistent) {
      this.discard(session)
      return
    }
    this.persist(session)
    this.armExpiry(session)
    if (session.will !== undefined) this.armWill(session)
  }

  /** A client took the session back: stop both clocks; a delayed will is cancelled [MQTT-3.1.3-9]. */
  resumed(session: Session): void {
    this.clearTimers(session)
    session.will = undefined
    session.disconnectedAt = null
  }

  clearTimers(session: Session): void {
    if (session.expiryTimer !== null) clearTimeout(session.expiryTimer)
    if (session.willTimer !== null) clearTimeout(session.willTimer)
    session.expiryTimer = null
    session.willTimer = null
  }

  /** Stops every timer (broker shutdown; the store keeps what is needed to re-arm them). */
  stopAll(): void {
    for (const session of this.sessions.values()) this.clearTimers(session)
  }

  armExpiry(session: Session): void {
    if (session.expiryInterval === EXPIRY_NEVER || session.disconnectedAt === null) return
    const due = session.disconnectedAt + session.expiryInterval * 1000
    const wait = Math.max(0, Math.min(due - Date.now(), MAX_TIMER))
    session.expiryTimer = setTimeout(onExpiryTimer, wait, this, session)
    session.expiryTimer.unref()
  }

  armWill(session: Session): void {
    if (session.disconnectedAt === null || session.will === undefined) return
    const due = session.disconnectedAt + session.will.delayInterval * 1000
    const wait = Math.max(0, Math.min(due - Date.now(), MAX_TIMER))
    session.willTimer = setTimeout(onWillTimer, wait, this, session)
    session.willTimer.unref()
  }

  /** @internal */
  expiryDue(session: Session): void {
    session.expiryTimer = null
    if (session.connection !== null || session.disconnectedAt === null) return
    if (Date.now() < session.disconnectedAt + session.expiryInterval * 1000) {
      this.armExpiry(session)
      return
    }
    this.ctx.logger.debug(`session ${session.clientId} expired`)
    hooks__notify(this.ctx, 'onSessionExpired', session.client)
    events__emit(this.ctx, 'sessionExpired', session.client)
    this.discard(session)
  }

  /** @internal */
  willDue(session: Session): void {
    session.willTimer = null
    const will = session.will
    if (will === undefined || session.connection !== null || session.disconnectedAt === null) return
    if (Date.now() < session.disconnectedAt + will.delayInterval * 1000) {
      this.armWill(session)
      return
    }
    session.will = undefined
    this.persist(session)
    this.publishWill(session.clientId, will, session.client)
  }

  /** @internal */
  timerFailed(what: string, session: Session, error: unknown): void {
    this.ctx.logger.error(`${what} of ${session.clientId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }

  publishWill(clientId: string, will: WillRecord, client: ClientInfo): void {
    const {delayInterval: _delay, ...message} = will
    // Message expiry counts from the moment the will is published.
    const expiry = message.properties?.messageExpiryInterval
    if (expiry !== undefined && expiry > 0) message.expiresAt = Date.now() + expiry * 1000
    this.ctx.logger.debug(`publishing the will of ${clientId} to ${message.topic}`)
    hooks__notify(this.ctx, 'onWill', client, message)
    events__emit(this.ctx, 'will', message, client)
    this.ctx.router.publish(message, clientId)
    events__emit(this.ctx, 'publish', message, null)
  }

  /** Rebuilds sessions, queues and inflight windows from a store snapshot (broker start). */
  restore(snapshot: StoreSnapshot): void {
    const now = Date.now()
    const restored: Session[] = []
    for (const record of snapshot.sessions) {
      const client: ClientInfo = {id: record.clientId, protocolVersion: record.protocolVersion, transport: 'tcp', remoteAddress: ''}
      const session = this.create(record.clientId, record.protocolVersion, record.expiryInterval, client)
      restored.push(session)
      session.stored = true
      session.clientKnown = false
      // A session connected when the broker stopped counts as disconnected from this start. Its will, stored
      // while it was connected, waits for its delay from then like any other: a reconnect in time cancels it
      // [MQTT-3.1.3-9]; a clean session (expiry 0) ends at once below and the will goes out with it.
      session.disconnectedAt = record.disconnectedAt ?? now
      if (record.disconnectedAt === null && session.persistent) this.persist(session)
      for (const sub of record.subscriptions) {
        session.subscriptions.set(sub.filter, sub)
        this.ctx.router.subscribe(record.clientId, sub)
      }
      if (record.will !== undefined) session.will = record.will
    }
    for (const record of snapshot.queued) {
      const session = this.sessions.get(record.clientId)
      if (session === undefined) continue
      session.push(record)
      if (record.seq >= session.nextSeq) session.nextSeq = record.seq + 1
    }
    for (const record of snapshot.inflight) {
      const session = this.sessions.get(record.clientId)
      if (session === undefined) continue
      if (record.direction === 'incoming') session.incoming.add(record.packetId)
      else if (record.message !== undefined || record.state === 'pubrel') {
        // A PUBREL-stage record needs no message: only its packet id is sent again.
        const message = record.message ?? {topic: '', payload: Buffer.alloc(0), qos: 2 as const, retain: false}
        session.outgoing.set(record.packetId, {packetId: record.packetId, message, subscriptionIds: record.subscriptionIds, state: record.state})
      }
    }
    // Clocks that ran out while the broker was down act now, before any client can connect (a clean session
    // stored for its will ends here and publishes it; a 3.1.1 will, delay 0, goes out); the others are armed.
    // Only the sessions of this snapshot: a cluster node restores one moved session at a time (cluster/takeover.ts).
    for (const session of restored) {
      try {
        this.expiryDue(session)
        if (this.sessions.get(session.clientId) === session && session.will !== undefined) this.willDue(session)
      } catch (error) {
        this.timerFailed('restoring the clocks', session, error)
      }
    }
  }
}

// Timer callbacks run outside any connection: an exception here would end the process, so it is logged instead.
function onExpiryTimer(registry: SessionRegistry, session: Session): void {
  try {
    registry.expiryDue(session)
  } catch (error) {
    registry.timerFailed('session expiry', session, error)
  }
}

function onWillTimer(registry: SessionRegistry, session: Session): void {
  try {
    registry.willDue(session)
  } catch (error) {
    registry.timerFailed('will delay', session, error)
  }
}
