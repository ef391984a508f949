/**
 * One broker node of a cluster: several `mqttkit broker` processes on one Redis (the same --store URL and
 * --cluster-name) acting as one broker. Hand-written, because this is the cluster protocol itself; it rests on
 * Redis's own tools: a Stream per node as its inbox (consumer group `g`), Lua scripts for ownership, leases and
 * adoption (scripts.ts), and the store's MULTI commits, so a cross-node entry is written together with the state
 * it depends on and PUBACK (which waits for the store's flush) covers it. docs/cluster.md tells the whole story;
 * in short:
 *   - a PUBLISH goes to the local router and, as one inbox entry, to each node whose subscription index matches
 *     (subscription-index.ts); the receiving node routes it to its own sessions and acknowledges the entry in the
 *     same commit as the queue/inflight writes it caused;
 *   - a client's session lives on one node (the `owner` hash); CONNECT on another node asks the owner to release
 *     it (the owner closes the old connection with 0x8E and hands it over through Redis), then loads it;
 *   - a node holds a lease; when it lapses, one survivor adopts the dead node (Lua, once): its sessions (wills of
 *     its connected clients go out then, exactly once), and what is left in its inbox.
 */
import {randomBytes} from 'node:crypto'
import type {Redis} from 'ioredis'
import type {ClusterHooks, BrokerContext} from '../context.js'
import type {Connection} from '../connection/connection.js'
import type {RedisStore} from '../store/redis.js'
import type {InflightRecord, QueuedRecord, SessionRecord, StoredMessage, SubscriptionRecord} from '../store/store.js'
import {SubscriptionTrie, topic__parseShared} from '../topics/index.js'
import {ReasonCode} from '../../protocol/index.js'
import {type Entry, entry__control, entry__decode, entry__forward, entry__message} from './entries.js'
import {ClusterKeys, GROUP} from './keys.js'
import {type ClusterRedis, scripts__define} from './scripts.js'
import {SubscriptionIndex} from './subscription-index.js'

export interface ClusterOptions {
  /** This node's name (default in the CLI: host name and MQTT port). Unique in the cluster. */
  nodeId: string
  /** Milliseconds a node stays alive in Redis without renewing its lease (default 5000; renewed every quarter). */
  leaseMs?: number
}

/** What restricts one routed message to some deliveries (absent: every matching subscription). */
interface Restriction {
  plain: boolean
  /** Shared groups (`$share/g/filter`) to deliver to; null: all. */
  groups: Set<string> | null
  /** Shared groups another node takes this message for. */
  skip: Set<string> | null
  /** Only these clients (a forwarded message, or what a dead node's inbox held: its adopted sessions). */
  only: ((clientId: string) => boolean) | null
}

interface PendingClaim {
  done: Promise<void>
  released: () => void
  /** Release requests that came while the claim was running, answered once it is settled. */
  deferred: string[]
}

/** How long a moved session's old node forwards what it still matches, and the new one drops duplicates. */
const MOVE_WINDOW_MS = 60_000
const CLAIM_TIMEOUT_MS = 15_000
const READ_COUNT = 256
/** Pending store mutations past which QoS 0 is not forwarded to other nodes (the slow-reader policy, cluster-wide). */
const QOS0_BACKLOG = 20_000

export class ClusterNode implements ClusterHooks {
  readonly nodeId: string
  inc: string
  readonly leaseMs: number
  private readonly keys: ClusterKeys
  private redis!: ClusterRedis
  private reader: Redis | null = null
  private logReader: Redis | null = null
  /**
   * Leases, claims and node lists on a connection of their own: behind a large commit on the store's connection a
   * lease renewal could wait past the lease and the node be declared dead while alive.
   */
  private control!: ClusterRedis
  private index!: SubscriptionIndex
  private running = false
  private timer: NodeJS.Timeout | null = null
  private sysTimer: NodeJS.Timeout | null = null
  /** Incarnations registered in Redis (alive or waiting for adoption), refreshed every lease tick. */
  alive = new Set<string>()
  private healthySince: number | null = null
  private outage = false
  private seq = 0
  private readonly ids = new WeakMap<StoredMessage, string>()
  private readonly restrictions = new WeakMap<StoredMessage, Restriction>()
  private readonly rr = new Map<string, number>()
  private readonly claims = new Map<string, PendingClaim>()
  private readonly adopting = new Map<string, Promise<boolean>>()
  /** Sessions that moved away: their subscriptions, still matched here for MOVE_WINDOW_MS, and where they went. */
  private readonly moved = new Map<string, {to: string; until: number; filters: string[]}>()
  private readonly movedTrie = new SubscriptionTrie<SubscriptionRecord>()
  /** Sessions that moved here (or were adopted): message ids delivered to them, to drop a second copy. */
  private readonly arrived = new Map<string, {until: number; seen: Map<string, StoredMessage>}>()
  /** Sessions adopted from dead nodes: the only ones what their inboxes held may reach. */
  private readonly adopted = new Set<string>()
  /** Counters for $SYS and tests. */
  readonly stats = {forwarded: 0, received: 0, adoptions: 0, takeovers: 0}

  constructor(
    private readonly ctx: BrokerContext,
    private readonly store: RedisStore,
    options: ClusterOptions,
  ) {
    if (!/^[^\s~]{1,128}$/.test(options.nodeId)) throw new Error(`node id "${options.nodeId}": 1 to 128 characters, no spaces or '~'`)
    this.nodeId = options.nodeId
    this.leaseMs = options.leaseMs ?? 5000
    this.keys = new ClusterKeys(store.keys)
    this.inc = ClusterNode.newInc(this.nodeId)
    store.sessionsAtOpen = false
  }

  private static newInc(nodeId: string): string {
    return `${nodeId}~${randomBytes(4).toString('hex')}`
  }

  /** After the store opened: register, adopt an earlier incarnation of this node id, learn the others' index. */
  async start(): Promise<void> {
    this.redis = scripts__define(this.store.client!)
    this.control = scripts__define(this.store.duplicate())
    await this.control.connect()
    this.index = new SubscriptionIndex(this.keys, this.inc, (add) => this.store.command(add))
    const nodes = await this.redis.hgetall(this.keys.nodes)
    await this.register()
    // The index as it is now, then the log from just before (an entry seen twice is applied once).
    const last = (await this.redis.xrevrange(this.keys.indexLog, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>
    this.index.lastLogId = last[0]?.[0] ?? '0-0'
    const others = Object.keys(nodes).filter((inc) => inc !== this.inc)
    const read = this.redis.pipeline()
    for (const inc of others) read.hkeys(this.keys.index(inc))
    const replies = (await read.exec()) ?? []
    others.forEach((inc, i) => {
      this.alive.add(inc)
      for (const key of (replies[i]?.[1] ?? []) as string[]) this.index.apply(inc, '+', key)
    })
    this.running = true
    this.healthySince = Date.now()
    // An earlier incarnation of this node id is dead by definition (a node id runs once): adopt it now.
    for (const inc of others) {
      if (nodeOf(nodes[inc]) === this.nodeId) await this.adopt(inc, true)
    }
    this.reader = this.store.duplicate()
    this.logReader = this.store.duplicate()
    await Promise.all([this.reader.connect(), this.logReader.connect()])
    void this.readInbox()
    void this.readLog()
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.leaseMs / 4)))
    this.timer.unref()
    const every = this.ctx.options.sysInterval
    if (every > 0) {
      this.publishSys()
      this.sysTimer = setInterval(() => this.publishSys(), every * 1000)
      this.sysTimer.unref()
    }
  }

  /** `$SYS/broker/cluster/node` (this node's id) and `.../nodes` (alive nodes as this one sees them). */
  private publishSys(): void {
    const sys = (topic: string, value: string) =>
      this.ctx.router.publish({topic: `$SYS/broker/cluster/${topic}`, payload: Buffer.from(value), qos: 0, retain: true}, null)
    try {
      sys('node', this.nodeId)
      sys('nodes', String(this.nodeCount))
    } catch (error) {
      this.ctx.logger.warn(`$SYS cluster publish failed: ${String(error)}`)
    }
  }

  private async register(): Promise<void> {
    await this.control
      .multi()
      .hset(this.keys.nodes, this.inc, JSON.stringify({nodeId: this.nodeId, startedAt: Date.now()}))
      .set(this.keys.lease(this.inc), '1', 'PX', this.leaseMs)
      .xgroup('CREATE', this.keys.inbox(this.inc), GROUP, '$', 'MKSTREAM')
      .exec()
    this.index.republish()
  }

  /** Broker shutdown, after its sessions were written: leave, so a survivor adopts them at once. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    if (this.timer !== null) clearInterval(this.timer)
    if (this.sysTimer !== null) clearInterval(this.sysTimer)
    this.reader?.disconnect()
    this.logReader?.disconnect()
    await this.control.del(this.keys.lease(this.inc)).catch(() => undefined)
    this.control.disconnect()
  }

  /** Nodes alive as this node last saw them (itself included). */
  get nodeCount(): number {
    return this.alive.size + 1
  }

  /** The other nodes a message on `topic` would go to now (plain or shared matches): monitoring and tests. */
  nodesFor(topic: string): string[] {
    const out = new Set<string>()
    this.index.plain.match(topic, (inc) => out.add(inc))
    this.index.shared.match(topic, (_key, {inc}) => out.add(inc))
    return [...out].sort()
  }

  // ---- the router's side -------------------------------------------------------------------------------------

  published(message: StoredMessage, from: string | null): void {
    // $SYS topics describe one node: they stay on it.
    if (!this.running || message.topic.startsWith('$SYS/')) return
    const id = `${this.inc}:${++this.seq}`
    this.ids.set(message, id)
    const targets = new Map<string, {plain: boolean; groups: string[]}>()
    const target = (inc: string) => {
      let t = targets.get(inc)
      if (t === undefined) targets.set(inc, (t = {plain: false, groups: []}))
      return t
    }
    this.index.plain.match(message.topic, (inc) => {
      target(inc).plain = true
    })
    let groups: Map<string, string[]> | undefined
    this.index.shared.match(message.topic, (_key, {group, inc}) => {
      const list = (groups ??= new Map()).get(group)
      if (list === undefined) groups!.set(group, [inc])
      else list.push(inc)
    })
    if (groups !== undefined) {
      let skip: Set<string> | null = null
      for (const [group, incs] of groups) {
        // [MQTT-4.8.2] one member of the group cluster-wide: first a node (this one included when it has
        // members), taking turns per group, then that node's own strategy picks the member.
        if (this.index.hasLocalGroup(group)) incs.push(this.inc)
        incs.sort()
        const turn = this.rr.get(group) ?? 0
        this.rr.set(group, turn + 1)
        const pick = incs[turn % incs.length]!
        if (pick === this.inc) continue
        target(pick).groups.push(group)
        ;(skip ??= new Set()).add(group)
      }
      if (skip !== null) this.restrictions.set(message, {plain: true, groups: null, skip, only: null})
    }
    // Every node keeps every retained message in memory: a retained PUBLISH goes to all of them.
    if (message.retain && this.ctx.options.retainAvailable) for (const inc of this.alive) target(inc)
    this.forwardMoved(message, id, from)
    if (targets.size === 0) return
    // While Redis is away (or behind by more than a few commits) QoS 0 to other nodes is dropped rather than
    // piled up in memory; QoS 1/2 waits, since its acknowledgement waits for the commit.
    if (message.qos === 0 && (this.store.unavailable || this.store.pendingCount > QOS0_BACKLOG)) {
      this.ctx.stats.messagesDropped += targets.size
      return
    }
    for (const [inc, t] of targets) this.send(inc, entry__message(id, from, t.plain, t.groups, message))
  }

  admitPlain(message: StoredMessage, clientId: string): boolean {
    const r = this.restrictions.get(message)
    if (r !== undefined && (!r.plain || (r.only !== null && !r.only(clientId)))) return false
    return this.firstCopy(message, clientId)
  }

  admitShared(message: StoredMessage, filter: string, clientId: string): boolean {
    const r = this.restrictions.get(message)
    if (r !== undefined) {
      if (r.skip !== null && r.skip.has(filter)) return false
      if (r.groups !== null && !r.groups.has(filter)) return false
      if (r.only !== null && !r.only(clientId)) return false
    }
    return this.firstCopy(message, clientId)
  }

  subscribed(filter: string): void {
    this.index?.add(filter)
  }

  unsubscribed(filter: string): void {
    this.index?.remove(filter)
  }

  /** One cluster-wide message id delivered once to a session that just arrived (moved or adopted). */
  private firstCopy(message: StoredMessage, clientId: string): boolean {
    if (this.arrived.size === 0) return true
    const window = this.arrived.get(clientId)
    if (window === undefined) return true
    if (window.until < Date.now()) {
      this.arrived.delete(clientId)
      return true
    }
    const id = this.ids.get(message)
    if (id === undefined) return true
    const seen = window.seen.get(id)
    if (seen === undefined) window.seen.set(id, message)
    return seen === undefined || seen === message
  }

  private send(inc: string, fields: Array<string | Buffer>): void {
    this.stats.forwarded++
    const prefix = this.keys.base
    this.store.command((multi) => (multi as unknown as ClusterRedis).mqttkitRoute(prefix, inc, ...fields))
  }

  /** A session that moved away still matches here for a while: what it matches follows it to its new node. */
  private forwardMoved(message: StoredMessage, id: string, from: string | null): void {
    if (this.moved.size === 0) return
    const now = Date.now()
    const to = new Map<string, string>()
    this.movedTrie.match(message.topic, (clientId, sub) => {
      if (sub.noLocal && clientId === from) return
      const move = this.moved.get(clientId)
      if (move !== undefined && move.until >= now) to.set(clientId, move.to)
    })
    for (const [clientId, inc] of to) this.send(inc, entry__forward(id, clientId, message))
    if (to.size === 0) this.expireMoved(now)
  }

  /** Sessions that arrived more than MOVE_WINDOW_MS ago need no duplicate check, nor the adopted-only rule. */
  private expireArrived(now: number): void {
    for (const [clientId, window] of this.arrived) {
      if (window.until >= now) continue
      this.arrived.delete(clientId)
      this.adopted.delete(clientId)
    }
  }

  private expireMoved(now: number): void {
    for (const [clientId, move] of this.moved) {
      if (move.until >= now) continue
      this.moved.delete(clientId)
      for (const filter of move.filters) this.movedTrie.remove(filter, clientId)
    }
  }

  // ---- inboxes -----------------------------------------------------------------------------------------------

  private async readInbox(): Promise<void> {
    while (this.running) {
      // Read each time: a node that rejoins after being fenced has a new incarnation and inbox.
      const stream = this.keys.inbox(this.inc)
      try {
        const reply = (await this.reader!.callBuffer('XREADGROUP', 'GROUP', GROUP, this.inc, 'COUNT', READ_COUNT, 'BLOCK', 1000, 'STREAMS', stream, '>')) as StreamReply | null
        if (reply === null) continue
        await this.process(stream, entriesOf(reply), null)
      } catch (error) {
        if (!this.running) return
        // NOGROUP: this node was adopted and its inbox deleted; the next lease tick finds out and rejoins.
        this.trouble(error)
        await sleep(1000)
      }
    }
  }

  /** Handles entries in order, then acknowledges and deletes them in the commit holding what they caused. */
  private async process(stream: string, entries: Array<[string, Buffer[]]>, deadInc: string | null): Promise<void> {
    if (entries.length === 0) return
    for (const [, fields] of entries) {
      const entry = entry__decode(fields)
      if (entry === null) continue
      try {
        await this.handle(entry, deadInc)
      } catch (error) {
        this.ctx.logger.error(`cluster: entry ${entry.k} failed: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    const ids = entries.map(([id]) => id)
    this.store.command((multi) => multi.xack(stream, GROUP, ...ids).xdel(stream, ...ids))
    // Backpressure: the next read waits until this batch's effects are in Redis.
    await this.store.flush().catch(() => undefined)
  }

  private async handle(entry: Entry, deadInc: string | null): Promise<void> {
    const fromDead = deadInc !== null || entry.via !== undefined
    if (entry.k === 'rel') return this.release(entry.client, entry.node)
    if (entry.k === 'ok') {
      if (!fromDead) await this.received(entry.client)
      return
    }
    this.stats.received++
    const message = entry.message
    this.ids.set(message, entry.id)
    const only = entry.k === 'f' ? (clientId: string) => clientId === entry.client : fromDead ? (clientId: string) => this.adopted.has(clientId) : null
    if (entry.k === 'm') {
      if (message.retain && this.ctx.options.retainAvailable && !fromDead) {
        if (message.payload.length === 0) this.ctx.router.retained.delete(message.topic, false)
        else this.ctx.router.retained.restore(message)
      }
      this.restrictions.set(message, {plain: entry.plain, groups: new Set(entry.groups), skip: null, only})
      if (entry.plain || entry.groups.length > 0) this.ctx.router.route(message, entry.from)
    } else {
      this.restrictions.set(message, {plain: true, groups: null, skip: null, only})
      this.ctx.router.route(message, null)
    }
    this.forwardMoved(message, entry.id, entry.k === 'm' ? entry.from : null)
  }

  private async readLog(): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.logReader!.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.keys.indexLog, this.index.lastLogId)) as
          | Array<[string, Array<[string, string[]]>]>
          | null
        if (reply === null) continue
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            this.index.lastLogId = id
            const f = fieldsOf(fields)
            const inc = f.get('n')
            if (inc === undefined) continue
            if (inc !== this.inc && f.get('o') !== 'drop') this.alive.add(inc)
            if (f.get('o') === 'drop') this.alive.delete(inc)
            this.index.apply(inc, f.get('o') ?? '', f.get('k'))
          }
        }
      } catch (error) {
        if (!this.running) return
        this.trouble(error)
        await sleep(1000)
      }
    }
  }

  // ---- sessions: claim, release, hand over -------------------------------------------------------------------

  async claim(connection: Connection): Promise<void> {
    const clientId = connection.clientId
    if (!this.running || this.store.unavailable) throw new Error('server unavailable: the cluster store (Redis) cannot be reached')
    const earlier = this.claims.get(clientId)
    if (earlier !== undefined) await earlier.done
    let released!: () => void
    const pending: PendingClaim = {done: new Promise<void>((resolve) => (released = resolve)), released: () => released(), deferred: []}
    let signal: (() => void) | null = null
    pending.released = () => signal?.()
    this.claims.set(clientId, pending)
    const deadline = Date.now() + CLAIM_TIMEOUT_MS
    try {
      for (;;) {
        if (connection.state === 'closed') return
        if (Date.now() > deadline) throw new Error(`server unavailable: the node holding session ${clientId} did not hand it over`)
        let answer: string[]
        try {
          answer = await this.control.mqttkitClaim(this.keys.base, clientId, this.inc)
        } catch {
          throw new Error('server unavailable: the cluster store (Redis) cannot be reached')
        }
        const [state, owner] = answer
        if (state === 'new' || state === 'self') {
          if (this.ctx.sessions.get(clientId) === undefined) await this.install(clientId, false)
          return
        }
        if (state === 'live') {
          this.stats.takeovers++
          const handed = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 1000)
            signal = () => {
              clearTimeout(timer)
              resolve(true)
            }
          })
          await this.control.mqttkitRoute(this.keys.base, owner!, ...entry__control('rel', clientId, this.inc)).catch(() => undefined)
          const ok = await handed
          signal = null
          if (ok && this.ctx.sessions.get(clientId) !== undefined) return
          continue
        }
        if (state === 'dead') {
          await this.adopt(owner!, false)
          continue
        }
        await sleep(100)
      }
    } finally {
      this.claims.delete(clientId)
      released()
      // Requests to release it that came meanwhile: after connect__accept ran (the claim's then).
      if (pending.deferred.length > 0) setImmediate(() => {
        for (const to of pending.deferred) void this.release(clientId, to)
      })
    }
  }

  /** Another node wants the client: close it here (0x8E), hand the session over through the next commit. */
  private async release(clientId: string, to: string): Promise<void> {
    // Our own request, found in the inbox of a node we adopted since: we hold the session already.
    if (to === this.inc) return
    const pending = this.claims.get(clientId)
    if (pending !== undefined) {
      pending.deferred.push(to)
      return
    }
    const session = this.ctx.sessions.get(clientId)
    if (session !== undefined) {
      // [MQTT-3.1.4-3] the existing connection is closed; MQTT 5: DISCONNECT 0x8E (Session taken over).
      session.connection?.close(ReasonCode.SessionTakenOver, 'session taken over by another node')
      if (this.ctx.sessions.get(clientId) === session) {
        const filters = [...session.subscriptions.values()]
        this.ctx.sessions.release(session)
        this.moved.set(clientId, {to, until: Date.now() + MOVE_WINDOW_MS, filters: filters.map((f) => f.filter)})
        for (const sub of filters) {
          const shared = topic__parseShared(sub.filter)
          this.movedTrie.add(shared === null ? sub.filter : shared.filter, clientId, sub)
        }
      }
    }
    const k = this.keys
    const me = this.inc
    // Only the owner hands over (a stale request finds the client gone and is ignored; its sender asks again).
    this.store.command((multi) =>
      multi.eval(TRANSFER, 1, k.base, clientId, me, to, ...entry__control('ok', clientId, me)),
    )
  }

  /** The old owner handed the session over: load it from Redis (its last writes came in the same commit). */
  private async received(clientId: string): Promise<void> {
    if (this.ctx.sessions.get(clientId) === undefined) await this.install(clientId, true)
    this.claims.get(clientId)?.released()
  }

  private async install(clientId: string, moved: boolean): Promise<void> {
    const data = await this.store.loadClient(clientId)
    if (data.session === undefined || this.ctx.sessions.get(clientId) !== undefined) return
    this.ctx.sessions.restore({retained: [], sessions: [data.session], queued: data.queued, inflight: data.inflight})
    if (moved) this.arrived.set(clientId, {until: Date.now() + MOVE_WINDOW_MS, seen: new Map()})
  }

  // ---- leases and node death ---------------------------------------------------------------------------------

  private async tick(): Promise<void> {
    if (!this.running) return
    try {
      const renewed = await this.control.mqttkitRenew(this.keys.base, this.inc, String(this.leaseMs))
      if (renewed === 0) {
        await this.fenced()
        return
      }
      if (this.outage) {
        this.outage = false
        this.healthySince = Date.now()
        this.ctx.logger.info('cluster: Redis reachable again')
      }
      this.healthySince ??= Date.now()
      const nodes = await this.control.hgetall(this.keys.nodes)
      const others = Object.keys(nodes).filter((inc) => inc !== this.inc)
      const leases = others.length === 0 ? [] : ((await this.control.pipeline(others.map((inc) => ['exists', this.keys.lease(inc)])).exec()) ?? [])
      this.alive = new Set(others)
      // Only a node that has itself seen Redis for a whole lease judges others dead: after an outage of Redis
      // every node renews within a quarter lease, before anyone may adopt anyone.
      const judge = Date.now() - this.healthySince >= this.leaseMs
      for (let i = 0; i < others.length; i++) {
        if (leases[i]?.[1] === 0 && judge) void this.adopt(others[i]!, false)
      }
      this.expireMoved(Date.now())
      this.expireArrived(Date.now())
    } catch (error) {
      this.trouble(error)
    }
  }

  /** Logs a Redis outage once, and remembers it so its end is logged too. */
  private trouble(error: unknown): void {
    this.healthySince = null
    if (this.outage) return
    this.outage = true
    this.ctx.logger.error(`cluster: Redis unreachable (${error instanceof Error ? error.message : String(error)}); refusing new connections with 0x88, acknowledging nothing until it is back`)
  }

  /** Adopts a dead incarnation once: its sessions, its inbox, its wills. False when another node did or it lives. */
  adopt(dead: string, force: boolean): Promise<boolean> {
    let running = this.adopting.get(dead)
    if (running === undefined) {
      running = this.adoptNow(dead, force).finally(() => this.adopting.delete(dead))
      this.adopting.set(dead, running)
    }
    return running
  }

  private async adoptNow(dead: string, force: boolean): Promise<boolean> {
    const members = await this.control.mqttkitAdopt(this.keys.base, dead, this.inc, force ? '1' : '0')
    if (members === null) return false
    this.stats.adoptions++
    const snapshot = {retained: [] as StoredMessage[], sessions: [] as SessionRecord[], queued: [] as QueuedRecord[], inflight: [] as InflightRecord[]}
    for (let i = 0; i < members.length; i += 100) {
      const batch = members.slice(i, i + 100).filter((c) => this.ctx.sessions.get(c) === undefined)
      for (const data of await Promise.all(batch.map((c) => this.store.loadClient(c)))) {
        if (data.session === undefined) continue
        snapshot.sessions.push(data.session)
        snapshot.queued.push(...data.queued)
        snapshot.inflight.push(...data.inflight)
      }
    }
    const until = Date.now() + MOVE_WINDOW_MS
    for (const session of snapshot.sessions) {
      this.adopted.add(session.clientId)
      this.arrived.set(session.clientId, {until, seen: new Map()})
    }
    this.ctx.logger.info(`cluster: node ${dead} is gone; ${this.nodeId} adopts its ${snapshot.sessions.length} session(s)`)
    // Sessions that were connected there count as disconnected now: their wills go out (or wait for their delay)
    // here, once, because only one node adopts [MQTT-3.1.2-8].
    this.ctx.sessions.restore(snapshot)
    await this.drain(dead)
    this.index.dropNode(dead)
    this.alive.delete(dead)
    const k = this.keys
    this.store.command((multi) => multi.del(k.index(dead), k.inbox(dead)).xadd(k.indexLog, '*', 'n', dead, 'o', 'drop'))
    await this.store.flush().catch(() => undefined)
    return true
  }

  /** What the dead node read but did not acknowledge, then what it never read. */
  private async drain(dead: string): Promise<void> {
    const stream = this.keys.inbox(dead)
    try {
      let cursor = '0-0'
      do {
        const reply = (await this.redis.callBuffer('XAUTOCLAIM', stream, GROUP, this.inc, 0, cursor, 'COUNT', READ_COUNT)) as unknown as [Buffer, Array<[Buffer, Buffer[]] | null>]
        cursor = reply[0].toString()
        await this.process(stream, reply[1].filter((e): e is [Buffer, Buffer[]] => e !== null).map(([id, f]) => [id.toString(), f]), dead)
      } while (cursor !== '0-0')
      for (;;) {
        const reply = (await this.redis.callBuffer('XREADGROUP', 'GROUP', GROUP, this.inc, 'COUNT', READ_COUNT, 'STREAMS', stream, '>')) as StreamReply | null
        const entries = reply === null ? [] : entriesOf(reply)
        if (entries.length === 0) break
        await this.process(stream, entries, dead)
      }
    } catch (error) {
      if (!/NOGROUP|no such key/i.test(String(error))) throw error
    }
  }

  /** This node was presumed dead and adopted: its clients and sessions are elsewhere now; start afresh. */
  private async fenced(): Promise<void> {
    this.ctx.logger.error(`cluster: this node (${this.inc}) was declared dead and adopted by another node; closing its clients and rejoining`)
    for (const connection of [...this.ctx.connections]) connection.close(ReasonCode.SessionTakenOver, 'node rejoining the cluster')
    for (const session of [...this.ctx.sessions.values()]) this.ctx.sessions.release(session)
    // What those closes and this node's clients changed before belongs to the sessions the adopter holds now.
    this.store.discardPending()
    this.inc = ClusterNode.newInc(this.nodeId)
    this.index = new SubscriptionIndex(this.keys, this.inc, (add) => this.store.command(add))
    await this.register()
  }
}

/** Hands a client over only while `me` owns it; then tells the new owner (ARGV 4.. are the entry's fields). */
const TRANSFER = `
local base = KEYS[1]
if redis.call('HGET', base .. 'owner', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', base .. 'owner', ARGV[1], ARGV[3])
redis.call('SREM', base .. 'members:' .. ARGV[2], ARGV[1])
redis.call('SADD', base .. 'members:' .. ARGV[3], ARGV[1])
local args = {}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('XADD', base .. 'inbox:' .. ARGV[3], '*', unpack(args))
return 1
`

type StreamReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]>

function entriesOf(reply: StreamReply): Array<[string, Buffer[]]> {
  const out: Array<[string, Buffer[]]> = []
  for (const [, entries] of reply) for (const [id, fields] of entries) out.push([id.toString(), fields])
  return out
}

function fieldsOf(fields: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!)
  return map
}

function nodeOf(json: string | undefined): string | undefined {
  try {
    return (JSON.parse(json ?? '{}') as {nodeId?: string}).nodeId
  } catch {
    return undefined
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
