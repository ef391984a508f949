/**
 * `broker.retained`: the retained messages as a resource for code that embeds the broker (and for the web admin).
 * Every change goes through the broker's publish path, so it reaches subscribers exactly as a retained PUBLISH
 * would (a set is delivered to matching subscriptions, a delete as an empty retained message), runs the
 * `onPublish` hook and the `published` event, and is stored.
 */
import type {BrokerContext} from '../context.js'
import {copy__properties} from '../store/copy.js'
import type {MessageProperties, QoS, StoredMessage} from '../store/store.js'
import {topic__parseShared, topic__validateFilter, topic__validateName} from '../topics/index.js'
import {ReasonCode} from '../../protocol/index.js'
import type {RetainedKeeper} from './keeper.js'

export interface RetainedSetOptions {
  /** Default 0; at most the broker's `maxQos`. */
  qos?: QoS
  /** MQTT 5 PUBLISH properties kept with the message (content type, user properties…). */
  properties?: MessageProperties
  /**
   * Seconds until the message expires: it becomes its MQTT 5 Message Expiry Interval (v5 subscribers are told how
   * long it has left). The broker's `retainTtl` still applies when it is shorter.
   */
  ttl?: number
}

/** A retained message as `broker.retained` hands it out (a copy: changing it changes nothing in the broker). */
export interface RetainedMessage {
  topic: string
  /** Shared with the broker: do not write into it. */
  payload: Buffer
  qos: QoS
  properties?: MessageProperties
  /** Epoch ms when the broker stored it; absent when unknown (restored from a store that does not keep it). */
  storedAt?: number
  /** Epoch ms after which it is no longer delivered (the earlier of its message expiry and `retainTtl`); absent: never. */
  expiresAt?: number
}

/** `broker.retained.set()` of a new topic past `maxRetained` / `maxRetainedBytes`. */
export class RetainedQuotaError extends Error {
  readonly reasonCode = ReasonCode.QuotaExceeded
  constructor(readonly topic: string) {
    super(`retained quota reached: new retained topic ${JSON.stringify(topic)} refused (maxRetained / maxRetainedBytes)`)
    this.name = 'RetainedQuotaError'
  }
}

export class RetainedMessages implements AsyncIterable<RetainedMessage> {
  constructor(
    private readonly keeper: RetainedKeeper,
    private readonly ctx: BrokerContext,
    private readonly publish: (message: StoredMessage) => Promise<void>,
  ) {}

  /** Retained messages held. */
  get count(): number {
    return this.keeper.size
  }

  /** Their payload bytes (what `maxRetainedBytes` limits). */
  get bytes(): number {
    return this.keeper.bytes
  }

  /**
   * Stores (or replaces) the retained message of `topic` and delivers it to matching subscriptions. An empty payload
   * deletes, as in MQTT. Throws RangeError on a bad topic or option, RetainedQuotaError past the quotas.
   */
  async set(topic: string, payload: Buffer | Uint8Array | string, options: RetainedSetOptions = {}): Promise<void> {
    const o = this.ctx.options
    this.checkTopic(topic)
    if (!o.retainAvailable) throw new RangeError('retained messages are not available (retainAvailable: false)')
    const qos = options.qos ?? 0
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new RangeError(`qos must be 0, 1 or 2, got ${String(qos)}`)
    if (qos > o.maxQos) throw new RangeError(`qos ${qos} is over the broker's maxQos ${o.maxQos}`)
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    const message: StoredMessage = {topic, payload: body, qos, retain: true}
    const properties: MessageProperties | undefined = options.properties === undefined ? undefined : {...options.properties}
    if (options.ttl !== undefined) {
      if (!Number.isInteger(options.ttl) || options.ttl < 1 || options.ttl > 0xffff_ffff) {
        throw new RangeError(`ttl must be an integer number of seconds from 1 to 4294967295, got ${String(options.ttl)}`)
      }
    }
    const expiry = options.ttl ?? properties?.messageExpiryInterval
    if (expiry !== undefined && expiry > 0) {
      message.properties = {...properties, messageExpiryInterval: expiry}
      message.expiresAt = Date.now() + expiry * 1000
    } else if (properties !== undefined) {
      message.properties = properties
    }
    if (!this.keeper.admits(message)) {
      this.keeper.refused(topic)
      throw new RetainedQuotaError(topic)
    }
    await this.publish(message)
  }

  /** The retained message of exactly this topic, or undefined. */
  get(topic: string): RetainedMessage | undefined {
    const message = this.keeper.get(topic)
    return message === undefined ? undefined : this.view(message)
  }

  /**
   * Deletes the topic's retained message, as a retained PUBLISH with an empty payload would (current subscribers
   * receive that empty message). Resolves true when there was one.
   */
  async delete(topic: string): Promise<boolean> {
    this.checkTopic(topic)
    if (this.keeper.get(topic) === undefined) return false
    await this.publish({topic, payload: Buffer.alloc(0), qos: 0, retain: true})
    return true
  }

  /**
   * Calls `fn` (sync or async, awaited in turn) for every retained message matching `filter` (`+`, `#`; a wildcard
   * first level skips `$` topics [MQTT-4.7.2-1]). Resolves with how many were visited. The matches are taken
   * before the first call, so `fn` may change retained messages.
   */
  async forEach(filter: string, fn: (message: RetainedMessage) => unknown): Promise<number> {
    const matches = this.collect(filter)
    for (const message of matches) {
      const result = fn(message)
      if (result !== null && typeof result === 'object' && typeof (result as {then?: unknown}).then === 'function') await result
    }
    return matches.length
  }

  /** `for await (const m of broker.retained.match('sensor/+'))`: the same matches as forEach. */
  async *match(filter: string): AsyncIterableIterator<RetainedMessage> {
    yield* this.collect(filter)
  }

  /** Every retained message, `$` topics included. */
  async *[Symbol.asyncIterator](): AsyncIterator<RetainedMessage> {
    const now = Date.now()
    const all: RetainedMessage[] = []
    for (const message of this.keeper.values()) if (this.keeper.deadline(message) > now) all.push(this.view(message))
    yield* all
  }

  private collect(filter: string): RetainedMessage[] {
    if (typeof filter !== 'string') throw new TypeError('filter must be a string')
    const bad = topic__validateFilter(filter)
    if (bad !== null) throw new RangeError(`invalid topic filter ${JSON.stringify(filter)}: ${bad}`)
    if (topic__parseShared(filter) !== null) throw new RangeError('a $share/ filter matches no retained message (MQTT 5 §4.8.2)')
    const out: RetainedMessage[] = []
    this.keeper.match(filter, (message) => out.push(this.view(message)))
    return out
  }

  private checkTopic(topic: string): void {
    if (typeof topic !== 'string') throw new TypeError('topic must be a string')
    const o = this.ctx.options
    const bad = topic__validateName(topic, {maxLength: o.maxTopicLength, maxLevels: o.maxTopicLevels})
    if (bad !== null) throw new RangeError(`invalid topic ${JSON.stringify(topic)}: ${bad}`)
  }

  private view(message: StoredMessage): RetainedMessage {
    const out: RetainedMessage = {topic: message.topic, payload: message.payload, qos: message.qos}
    if (message.properties !== undefined) out.properties = copy__properties(message.properties)
    if (message.storedAt !== undefined) out.storedAt = message.storedAt
    const deadline = this.keeper.deadline(message)
    if (deadline !== Number.POSITIVE_INFINITY) out.expiresAt = deadline
    return out
  }
}
