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
 * This file holds the node's state and wires the parts that act on it: forward.ts (the router's side, the move
 * window), inbox.ts (the readers), takeover.ts (session ownership), lease.ts (leases, adoption, fencing). The
 * fields below are theirs to use; outside src/broker/cluster/ only the ClusterHooks, start/stop and the
 * monitoring getters are meant.
 */
import type {Redis} from 'ioredis'
import type {ClusterHooks, BrokerContext} from '../context.js'
import type {Connection} from '../connection/connection.js'
import type {RedisStore} from '../store/redis.js'
import type {StoredMessage, SubscriptionRecord} from '../store/store.js'
import {SubscriptionTrie} from '../topics/index.js'
import {type Restriction, forward__admitPlain, forward__admitShared, forward__published} from './forward.js'
import {inbox__read, inbox__readLog} from './inbox.js'
import {ClusterKeys} from './keys.js'
import {lease__adopt, lease__newInc, lease__register, lease__tick} from './lease.js'
import {type ClusterRedis, scripts__define} from './scripts.js'
import {SubscriptionIndex} from './subscription-index.js'
import {type PendingClaim, takeover__claim} from './takeover.js'

export interface ClusterOptions {
  /** This node's name (default in the CLI: host name and MQTT port). Unique in the cluster. */
  nodeId: string
  /** Milliseconds a node stays alive in Redis without renewing its lease (default 5000; renewed every quarter). */
  leaseMs?: number
}

export class ClusterNode implements ClusterHooks {
  readonly nodeId: string
  inc: string
  readonly leaseMs: number
  readonly keys: ClusterKeys
  redis!: ClusterRedis
  reader: Redis | null = null
  logReader: Redis | null = null
  /**
   * Leases, claims and node lists on a connection of their own: behind a large commit on the store's connection a
   * lease renewal could wait past the lease and the node be declared dead while alive.
   */
  control!: ClusterRedis
  index!: SubscriptionIndex
  running = false
  private timer: NodeJS.Timeout | null = null
  private sysTimer: NodeJS.Timeout | null = null
  /** Incarnations registered in Redis (alive or waiting for adoption), refreshed every lease tick. */
  alive = new Set<string>()
  healthySince: number | null = null
  outage = false
  seq = 0
  readonly ids = new WeakMap<StoredMessage, string>()
  readonly restrictions = new WeakMap<StoredMessage, Restriction>()
  /** Whose turn it is per shared group, cluster-wide picks (forward.ts). */
  readonly rr = new Map<string, number>()
  readonly claims = new Map<string, PendingClaim>()
  readonly adopting = new Map<string, Promise<boolean>>()
  /** Sessions that moved away: their subscriptions, still matched here for MOVE_WINDOW_MS, and where they went. */
  readonly moved = new Map<string, {to: string; until: number; filters: string[]}>()
  readonly movedTrie = new SubscriptionTrie<SubscriptionRecord>()
  /** Sessions that moved here (or were adopted): message ids delivered to them, to drop a second copy. */
  readonly arrived = new Map<string, {until: number; seen: Map<string, StoredMessage>}>()
  /** Sessions adopted from dead nodes: the only ones what their inboxes held may reach. */
  readonly adopted = new Set<string>()
  /** Counters for $SYS and tests. */
  readonly stats = {forwarded: 0, received: 0, adoptions: 0, takeovers: 0}

  constructor(
    readonly ctx: BrokerContext,
    readonly store: RedisStore,
    options: ClusterOptions,
  ) {
    if (!/^[^\s~]{1,128}$/.test(options.nodeId)) throw new Error(`node id "${options.nodeId}": 1 to 128 characters, no spaces or '~'`)
    this.nodeId = options.nodeId
    this.leaseMs = options.leaseMs ?? 5000
    this.keys = new ClusterKeys(store.keys)
    this.inc = lease__newInc(this.nodeId)
    store.sessionsAtOpen = false
  }
  /** After the store opened: register, adopt an earlier incarnation of this node id, learn the others' index. */
  async start(): Promise<void> {
    this.redis = scripts__define(this.store.client!)
    this.control = scripts__define(this.store.duplicate())
    await this.control.connect()
    this.index = new SubscriptionIndex(this.keys, this.inc, (add) => this.store.command(add))
    const nodes = await this.redis.hgetall(this.keys.nodes)
    await lease__register(this)
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
    void inbox__read(this)
    void inbox__readLog(this)
    this.timer = setInterval(() => void lease__tick(this), Math.max(100, Math.floor(this.leaseMs / 4)))
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

  // ---- the router's and CONNECT's calls (ClusterHooks) ---------------------------------------------------------

  published(message: StoredMessage, from: string | null): void {
    forward__published(this, message, from)
  }

  admitPlain(message: StoredMessage, clientId: string): boolean {
    return forward__admitPlain(this, message, clientId)
  }

  admitShared(message: StoredMessage, filter: string, clientId: string): boolean {
    return forward__admitShared(this, message, filter, clientId)
  }

  subscribed(filter: string): void {
    this.index?.add(filter)
  }

  unsubscribed(filter: string): void {
    this.index?.remove(filter)
  }

  claim(connection: Connection): Promise<void> {
    return takeover__claim(this, connection)
  }

  /** Adopts a dead incarnation once (lease.ts); here so takeover.ts reaches it without an import cycle. */
  adopt(dead: string, force: boolean): Promise<boolean> {
    return lease__adopt(this, dead, force)
  }

  /** Logs a Redis outage once, and remembers it so its end is logged too. */
  trouble(error: unknown): void {
    this.healthySince = null
    if (this.outage) return
    this.outage = true
    this.ctx.logger.error(`cluster: Redis unreachable (${error instanceof Error ? error.message : String(error)}); refusing new connections with 0x88, acknowledging nothing until it is back`)
  }
}

function nodeOf(json: string | undefined): string | undefined {
  try {
    return (JSON.parse(json ?? '{}') as {nodeId?: string}).nodeId
  } catch {
    return undefined
  }
}
