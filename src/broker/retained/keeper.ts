/**
 * The broker's retained messages: the topic tree (topics/retained.ts) plus what the tree does not know about —
 * when each message stops being delivered, how many bytes they hold, the quotas, and telling the store.
 *
 * A message's deadline is the earlier of its MQTT 5 message expiry (`expiresAt`) and `storedAt + retainTtl`; it is
 * indexed in a min-heap (expiry.ts) with one timer for the earliest deadline, so expiry never scans every message.
 * Subscribe-time lookups check the deadline of each message they visit anyway (a timer may fire late), which is a
 * comparison, not a scan. `storedAt` is kept by the store, so the TTL keeps counting across restarts.
 *
 * Quotas (`maxRetained`, `maxRetainedBytes`): a NEW topic past either is refused; replacing or deleting the
 * message of a topic that has one always works, so a full broker can still be updated and emptied.
 */
import type {BrokerContext} from '../context.js'
import {copy__keepPayload} from '../store/copy.js'
import type {StoredMessage} from '../store/store.js'
import {RetainedTree} from '../topics/index.js'
import {type ExpiryEntry, ExpiryHeap} from './expiry.js'

/** setTimeout's ceiling (about 24.8 days); later deadlines re-arm. */
const MAX_TIMER = 2_147_483_647
/** Quota refusals are logged at most this often (each log line says how many since the last one). */
const REFUSAL_LOG_MS = 60_000

export type RetainResult = 'stored' | 'replaced' | 'deleted' | 'absent' | 'refused'

export class RetainedKeeper {
  private readonly tree = new RetainedTree<StoredMessage>()
  private readonly heap = new ExpiryHeap<StoredMessage>()
  /** @internal */
  ctx!: BrokerContext
  private timer: NodeJS.Timeout | null = null
  private timerAt = Number.POSITIVE_INFINITY
  private payloadBytes = 0
  private refusedSinceLog = 0
  private lastRefusalLog = 0
  private stopped = false

  attach(ctx: BrokerContext): void {
    this.ctx = ctx
  }

  /** Retained messages held (expired ones the timer has not reached yet included). */
  get size(): number {
    return this.tree.size
  }

  /** Payload bytes of the retained messages (what `--max-retained-bytes` limits). */
  get bytes(): number {
    return this.payloadBytes
  }

  /** Epoch ms after which the message is no longer delivered; Infinity when never. */
  deadline(message: StoredMessage): number {
    const ttl = this.ctx.options.retainTtl
    const byTtl = ttl > 0 ? (message.storedAt ?? Date.now()) + ttl * 1000 : Number.POSITIVE_INFINITY
    const byExpiry = message.expiresAt ?? Number.POSITIVE_INFINITY
    return byTtl < byExpiry ? byTtl : byExpiry
  }

  /**
   * Whether storing this message would stay within the quotas: always for an empty payload (a delete) and for a
   * topic that already holds a live message (a replacement).
   */
  admits(message: StoredMessage): boolean {
    const o = this.ctx.options
    if (message.payload.length === 0 || (o.maxRetained === 0 && o.maxRetainedBytes === 0)) return true
    if (this.get(message.topic) !== undefined) return true
    if (o.maxRetained > 0 && this.tree.size >= o.maxRetained) return false
    if (o.maxRetainedBytes > 0 && this.payloadBytes + message.payload.length > o.maxRetainedBytes) return false
    return true
  }

  /** Counts (and at most once a minute logs) a retained message refused by the quotas. */
  refused(topic: string): void {
    this.ctx.stats.retainedRefused++
    this.refusedSinceLog++
    const now = Date.now()
    if (now - this.lastRefusalLog < REFUSAL_LOG_MS) return
    const o = this.ctx.options
    const limits = [o.maxRetained > 0 ? `--max-retained ${o.maxRetained}` : '', o.maxRetainedBytes > 0 ? `--max-retained-bytes ${o.maxRetainedBytes}` : ''].filter(Boolean).join(', ')
    this.ctx.logger.warn(
      `retained quota (${limits}) reached: ${this.refusedSinceLog} new retained topic(s) refused${this.lastRefusalLog === 0 ? '' : ' in the last minute'}, latest ${JSON.stringify(topic)}`,
    )
    this.lastRefusalLog = now
    this.refusedSinceLog = 0
  }

  /**
   * Stores, replaces or (empty payload) deletes a topic's retained message [MQTT-3.3.1-5] [MQTT-3.3.1-10] and tells
   * the store. A new topic past the quotas is refused (counted, not stored).
   */
  store(message: StoredMessage): RetainResult {
    if (!this.admits(message)) {
      this.refused(message.topic)
      return 'refused'
    }
    const old = this.tree.get(message.topic)
    if (message.payload.length > 0) {
      copy__keepPayload(message)
      message.storedAt = Date.now()
    }
    const result = this.tree.set(message)
    if (result === 'absent') return result
    if (old !== undefined) this.payloadBytes -= old.payload.length
    if (result !== 'deleted') {
      this.payloadBytes += message.payload.length
      this.index(message)
    }
    this.ctx.store.setRetained(message)
    return result
  }

  /** A message from the store's snapshot at start: indexed, not written back; an expired one is deleted. */
  restore(message: StoredMessage): boolean {
    if (message.payload.length === 0) return false
    message.storedAt ??= Date.now()
    if (this.deadline(message) <= Date.now()) {
      this.ctx.store.setRetained({...message, payload: Buffer.alloc(0)})
      this.ctx.stats.retainedExpired++
      return false
    }
    const old = this.tree.get(message.topic)
    if (old !== undefined) this.payloadBytes -= old.payload.length
    this.tree.set(message)
    this.payloadBytes += message.payload.length
    this.index(message)
    return true
  }

  /** The live retained message of exactly this topic (an expired one is deleted and not returned). */
  get(topic: string): StoredMessage | undefined {
    const message = this.tree.get(topic)
    if (message === undefined) return undefined
    if (this.deadline(message) > Date.now()) return message
    this.expire(message)
    return undefined
  }

  /**
   * Deletes the topic's retained message and tells the store (unless `tellStore` is false: another cluster node
   * deleted it and wrote that already); true when there was one.
   */
  delete(topic: string, tellStore = true): boolean {
    const old = this.tree.get(topic)
    if (old === undefined) return false
    this.tree.delete(topic)
    this.payloadBytes -= old.payload.length
    if (tellStore) this.ctx.store.setRetained({topic, payload: Buffer.alloc(0), qos: 0, retain: true})
    return true
  }

  /** Calls `visit` for every live retained message matching the filter (`$` rule included [MQTT-4.7.2-1]). */
  match(filter: string, visit: (message: StoredMessage) => void): void {
    const now = Date.now()
    let expired: StoredMessage[] | undefined
    this.tree.match(filter, (message) => {
      if (this.deadline(message) <= now) (expired ??= []).push(message)
      else visit(message)
    })
    // Deleted after the walk: the tree prunes branches, which must not happen under its own iteration.
    if (expired !== undefined) for (const message of expired) this.expire(message)
  }

  /** Every stored message (expired ones not yet reached by the timer included). */
  values(): IterableIterator<StoredMessage> {
    return this.tree.values()
  }

  /** Broker shutdown: no more expiry timers (what is stored keeps `storedAt`, so the clock goes on at restart). */
  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.timerAt = Number.POSITIVE_INFINITY
  }

  private index(message: StoredMessage): void {
    const at = this.deadline(message)
    if (at === Number.POSITIVE_INFINITY) return
    this.heap.push({at, topic: message.topic, message})
    // Replaced messages leave stale entries behind: drop them once they outnumber the live ones.
    if (this.heap.size > 2 * this.tree.size + 1024) this.heap.filter((e) => this.tree.get(e.topic) === e.message)
    if (at < this.timerAt) this.arm(at)
  }

  private arm(at: number): void {
    if (this.stopped) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(onTimer, Math.max(0, Math.min(at - Date.now(), MAX_TIMER)), this)
    this.timer.unref()
  }

  /** @internal the timer: deletes every message whose deadline passed, then waits for the next one. */
  due(): void {
    this.timer = null
    this.timerAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    for (let entry = this.heap.peek(); entry !== undefined && entry.at <= now; entry = this.heap.peek()) {
      this.heap.pop()
      if (this.isCurrent(entry)) this.expire(entry.message)
    }
    const next = this.heap.peek()
    if (next !== undefined) this.arm(next.at)
  }

  private isCurrent(entry: ExpiryEntry<StoredMessage>): boolean {
    return this.tree.get(entry.topic) === entry.message
  }

  private expire(message: StoredMessage): void {
    if (this.tree.get(message.topic) !== message) return
    this.ctx.stats.retainedExpired++
    this.delete(message.topic)
  }
}

// A timer callback runs outside any connection: an exception here would end the process, so it is logged.
function onTimer(keeper: RetainedKeeper): void {
  try {
    keeper.due()
  } catch (error) {
    keeper.ctx.logger.error(`retained expiry failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
}
