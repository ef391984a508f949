/**
 * The publish pipeline after a message was accepted: retained store, then routing through the subscription trie
 * and the shared groups to every matching session. Hand-written because it is the broker's hot path: one trie
 * walk per message, overlapping subscriptions of one client merged into a single delivery at the highest QoS
 * carrying every subscription identifier [MQTT-3.3.4-2] [MQTT-3.3.4-3], one encoding per variant shared by all
 * subscribers (session/delivery.ts).
 */
import type {BrokerContext} from './context.js'
import {hooks__dropped} from './handlers/hook-call.js'
import {PublishVariants, delivery__deliver} from './session/delivery.js'
import type {Session} from './session/session.js'
import {RetainedKeeper} from './retained/keeper.js'
import type {StoredMessage, SubscriptionRecord} from './store/store.js'
import {SharedGroups, SubscriptionTrie, topic__parseShared} from './topics/index.js'

/**
 * The clients one message matched, merged per client (several overlapping filters of one client give one entry at
 * the highest QoS with all subscription ids). Parallel arrays reused from message to message: routing a message to
 * N subscribers allocates no per-subscriber object.
 */
class MatchSet {
  /** Client id -> slot, used only past SMALL_MATCHES entries: a Map cleared per message costs a new table. */
  readonly index = new Map<string, number>()
  private indexed = false
  private anySubIds = false
  ids: string[] = []
  qos: number[] = []
  rap: boolean[] = []
  subIds: Array<number[] | undefined> = []
  length = 0

  private find(clientId: string): number | undefined {
    if (this.indexed) return this.index.get(clientId)
    const ids = this.ids
    for (let i = 0; i < this.length; i++) if (ids[i] === clientId) return i
    return undefined
  }

  add(clientId: string, sub: SubscriptionRecord): void {
    const at = this.find(clientId)
    if (sub.subscriptionId !== undefined) this.anySubIds = true
    if (at === undefined) {
      const i = this.length++
      if (this.indexed) this.index.set(clientId, i)
      else if (i === SMALL_MATCHES) {
        for (let k = 0; k <= i; k++) this.index.set(k === i ? clientId : this.ids[k]!, k)
        this.indexed = true
      }
      this.ids[i] = clientId
      this.qos[i] = sub.qos
      this.rap[i] = sub.retainAsPublished
      this.subIds[i] = sub.subscriptionId === undefined ? undefined : [sub.subscriptionId]
      return
    }
    if (sub.qos > this.qos[at]!) this.qos[at] = sub.qos
    if (sub.retainAsPublished) this.rap[at] = true
    if (sub.subscriptionId !== undefined) (this.subIds[at] ??= []).push(sub.subscriptionId)
  }

  reset(): void {
    if (this.length === 0) return
    if (this.indexed) {
      this.index.clear()
      this.indexed = false
    }
    // Drop references so queued messages' id lists are not kept alive by the scratch arrays.
    if (this.anySubIds) {
      this.subIds.fill(undefined, 0, this.length)
      this.anySubIds = false
    }
    this.length = 0
  }
}

/** Up to this many matched clients are merged by a linear scan; more go through the index Map. */
const SMALL_MATCHES = 16

export class Router {
  readonly trie = new SubscriptionTrie<SubscriptionRecord>()
  readonly shared: SharedGroups<SubscriptionRecord>
  /** Retained messages with their expiry and quotas (retained/keeper.ts). */
  readonly retained = new RetainedKeeper()
  private ctx!: BrokerContext

  // Per-route scratch state, saved and restored around nested routes (a hook that publishes while we route).
  private matches = new MatchSet()
  private from: string | null = null
  private message: StoredMessage | null = null
  private variants: PublishVariants | null = null
  private count = 0

  constructor(strategy: 'round-robin' | 'random' | 'sticky') {
    this.shared = new SharedGroups<SubscriptionRecord>(strategy)
  }

  attach(ctx: BrokerContext): void {
    this.ctx = ctx
    this.retained.attach(ctx)
  }

  /** Adds a subscription of a session; true when the filter was new for it. */
  subscribe(clientId: string, record: SubscriptionRecord): boolean {
    const shared = topic__parseShared(record.filter)
    const added = shared !== null ? this.shared.add(shared.group, shared.filter, clientId, record) : this.trie.add(record.filter, clientId, record)
    if (added) this.ctx.cluster?.subscribed(record.filter)
    return added
  }

  unsubscribe(clientId: string, filter: string): boolean {
    const shared = topic__parseShared(filter)
    const removed = shared !== null ? this.shared.remove(shared.group, shared.filter, clientId) : this.trie.remove(filter, clientId)
    if (removed) this.ctx.cluster?.unsubscribed(filter)
    return removed
  }

  get subscriptionCount(): number {
    return this.trie.size + this.shared.size
  }

  /**
   * Publishes an accepted message: stores or clears it as retained when its retain flag is set [MQTT-3.3.1-5],
   * then routes it. `from` is the publishing client id (for No Local), null for the broker's own messages.
   * Returns the number of sessions it was delivered or queued to. A new retained topic past the quotas is not stored
   * but still routed here (wills, the broker's own messages); handlers/publish.ts refuses a client's beforehand.
   */
  publish(message: StoredMessage, from: string | null): number {
    if (message.retain && this.ctx.options.retainAvailable) this.retained.store(message)
    // A cluster node forwards it to the nodes with matching subscriptions first (cluster/node.ts).
    this.ctx.cluster?.published(message, from)
    return this.route(message, from)
  }

  /** Delivers to every matching session; returns how many. */
  route(message: StoredMessage, from: string | null): number {
    // A hook may publish while we route (re-entrance): only then is the per-route state saved and restored.
    if (this.message !== null) return this.routeNested(message, from)
    try {
      return this.deliver(message, from)
    } finally {
      this.matches.reset()
      this.message = null
      this.variants = null
    }
  }

  private routeNested(message: StoredMessage, from: string | null): number {
    const outer = {matches: this.matches, from: this.from, message: this.message, variants: this.variants, count: this.count}
    this.matches = new MatchSet()
    try {
      return this.deliver(message, from)
    } finally {
      this.matches = outer.matches
      this.from = outer.from
      this.message = outer.message
      this.variants = outer.variants
      this.count = outer.count
    }
  }

  /** Sets the per-route state and walks the subscriptions; the callers restore what they must. */
  private deliver(message: StoredMessage, from: string | null): number {
    this.from = from
    this.message = message
    this.variants = new PublishVariants(message)
    this.count = 0
    const m = this.matches
    this.trie.match(message.topic, this.collect)
    for (let i = 0; i < m.length; i++) this.deliverTo(m.ids[i]!, m.qos[i]!, m.rap[i]!, m.subIds[i])
    m.reset()
    this.shared.match(message.topic, this.onShared, this.isOnline)
    return this.count
  }

  private readonly collect = (clientId: string, sub: SubscriptionRecord): void => {
    // [MQTT-3.8.3-3] No Local: not back to the publisher.
    if (sub.noLocal && clientId === this.from) return
    if (this.ctx.cluster !== undefined && !this.ctx.cluster.admitPlain(this.message!, clientId)) return
    this.matches.add(clientId, sub)
  }

  private readonly onShared = (clientId: string, sub: SubscriptionRecord): void => {
    if (this.ctx.cluster !== undefined && !this.ctx.cluster.admitShared(this.message!, sub.filter, clientId)) return
    this.deliverTo(clientId, sub.qos, sub.retainAsPublished, sub.subscriptionId === undefined ? undefined : [sub.subscriptionId])
  }

  /**
   * A shared group prefers members that are connected, have room in their inflight window (a slow member does not
   * pile up a queue while others are idle) and may receive this message (authorizeForward).
   */
  private readonly isOnline = (clientId: string): boolean => {
    const session = this.ctx.sessions.get(clientId)
    if (session === undefined) return false
    const connection = session.connection
    if (connection === null || session.queued > 0) return false
    if (session.inflight >= Math.min(connection.clientReceiveMaximum, this.ctx.options.maxInflight)) return false
    return this.mayForward(session, this.message!)
  }

  private deliverTo(clientId: string, grantedQos: number, retainAsPublished: boolean, subscriptionIds: number[] | undefined): void {
    const session = this.ctx.sessions.get(clientId)
    if (session === undefined) return
    const message = this.message!
    if (!this.mayForward(session, message)) {
      hooks__dropped(this.ctx, session.client, message, 'not-authorized')
      return
    }
    // [MQTT-3.8.4-8] QoS downgraded to the granted QoS; [MQTT-3.3.1-9] retain cleared unless Retain As Published.
    const qos = message.qos < grantedQos ? message.qos : grantedQos
    const retain = retainAsPublished && message.retain
    const delivered = this.variants!.variant(qos, retain)
    this.count++
    try {
      delivery__deliver(this.ctx, session, delivered, subscriptionIds, this.variants)
    } catch (error) {
      // One delivery that cannot be encoded must not stop the others, nor blame the publisher.
      this.ctx.logger.error(`delivery of ${message.topic} to ${clientId} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  mayForward(session: Session, message: StoredMessage): boolean {
    // A session restored from the store has not told us who its client is yet (user name, address): the check
    // waits until it reconnects and its queue drains (delivery__drain asks again).
    if (!session.clientKnown) return true
    try {
      return this.ctx.hooks.authorizeForward(session.client, message) !== false
    } catch (error) {
      this.ctx.logger.warn(`hook authorizeForward threw for ${session.clientId}: ${String(error)}`)
      return false
    }
  }
}
