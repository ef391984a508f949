/**
 * BrokerOptions (what library users and `mqttkit broker` pass) and their resolved form with every default filled
 * in. Defaults are documented in docs/broker.md; keep the two in step.
 */
import type {AuthFiles} from './auth/hooks.js'
import type {ClusterOptions} from './cluster/node.js'
import type {Hooks} from './hooks.js'
import type {LogLevel, Logger} from './logger.js'
import type {Store} from './store/store.js'
import type {SharedStrategy} from './topics/shared.js'
import type {ListenerSpec} from './transport/index.js'

export interface BrokerOptions {
  /** Default: one TCP listener on 0.0.0.0:1883. */
  listeners?: ListenerSpec[]
  /** Default: a new MemoryStore. */
  store?: Store
  /**
   * Makes this broker a node of a cluster: every broker on the same Redis (a RedisStore with the same cluster name)
   * acts as one broker (docs/cluster.md). Needs a RedisStore.
   */
  cluster?: ClusterOptions
  /**
   * Hooks replacing the defaults one by one (and those of `auth`). An `authenticate` hook here makes
   * allow-anonymous its own decision: `broker.configure({allowAnonymous})` then refuses.
   */
  hooks?: Partial<Hooks>
  /**
   * Password file, ACL and allow-anonymous that can change while running (`AuthFiles.load({...})`); default:
   * no files, anonymous clients allowed. `broker.configure({allowAnonymous})` and the web admin's users edit it.
   */
  auth?: AuthFiles
  /** Concurrent client connections; more are refused (CONNACK 0x97 / 3.1.1 code 3). Default 100 000. */
  maxConnections?: number
  /**
   * Largest keepalive (seconds) a client may use. MQTT 5 clients asking for more (or for 0) get the maximum as
   * Server Keep Alive; MQTT 3.1/3.1.1 clients cannot be told, so they are refused with return code 2. Default 65535.
   */
  maxKeepalive?: number
  /** Largest packet (bytes, whole packet) accepted and sent. Default 1 MiB. */
  maxPacketSize?: number
  /** Unacknowledged QoS 1/2 messages per client in each direction (our Receive Maximum). Default 100. */
  maxInflight?: number
  /** Messages queued per session (offline or over the inflight window); beyond it new messages are dropped. Default 1000. */
  maxQueued?: number
  /**
   * Bytes of messages the broker may hold, all sessions together, past `maxQueued` for connected clients that keep
   * acknowledging; at 3/4 of it publishers are paused (limits/queue-budget.ts). Default 64 MiB; 0: never past `maxQueued`.
   */
  queueBudget?: number
  /** Topic name/filter length in bytes. Default 65535. */
  maxTopicLength?: number
  /** Topic levels in a name or filter. Default 128. */
  maxTopicLevels?: number
  /** Client identifier length in characters. Default 256. */
  maxClientIdLength?: number
  /** Subscriptions per session; more get SUBACK 0x97 (3.1.1: 0x80). Default 1000. */
  maxSubscriptions?: number
  /** Bytes waiting in one connection's socket before QoS 0 messages to it are dropped. Default 2 MiB. */
  maxOutputBuffer?: number
  /** Milliseconds a new connection may take to send CONNECT. Default 10 000. */
  connectTimeout?: number
  /** New connections per second from one address (IPv6: per /64), closed before CONNECT is read. Default 0 = unlimited (docs/security.md). */
  maxConnectionRate?: number
  /** PUBLISH packets per second per connection; over it: DISCONNECT 0x96 (MQTT 5) / close. Default 0 = unlimited. */
  maxPublishRate?: number
  /** PUBLISH payload bytes per second per connection; over it: DISCONNECT 0x97 (MQTT 5) / close. Default 0 = unlimited. */
  maxPublishBytesRate?: number
  /** Topic aliases a client may use towards the broker (MQTT 5). Default 100; 0 disables them. */
  topicAliasMaximum?: number
  /** Seconds between $SYS updates; 0 disables them. Default 10. */
  sysInterval?: number
  /** Once quiet after a burst, run one full GC to give the heap's unused pages back (limits/idle-memory.ts). Default true. */
  releaseIdleMemory?: boolean
  /** How a shared subscription group picks its member. Default 'round-robin'. */
  sharedStrategy?: SharedStrategy
  /** Highest QoS the broker grants and accepts. Default 2. */
  maxQos?: 0 | 1 | 2
  /** Whether retained messages are stored. Default true. */
  retainAvailable?: boolean
  /**
   * Seconds a retained message is kept after it was stored; then it is no longer delivered and is deleted. An MQTT 5
   * message expiry on the message wins when it is shorter. Counts across restarts with a persistent store. Default 0: no TTL.
   */
  retainTtl?: number
  /** Retained topics the broker holds; past it a NEW retained topic is refused (MQTT 5 PUBACK 0x97). Default 0: unlimited. */
  maxRetained?: number
  /** Payload bytes of all retained messages; past it a NEW retained topic is refused (MQTT 5 PUBACK 0x97). Default 0: unlimited. */
  maxRetainedBytes?: number
  /** Whether filters with `+`/`#` are accepted; false: SUBACK 0xA2 (3.1.1: 0x80), told in CONNACK. Default true. */
  wildcardSubscriptionAvailable?: boolean
  /** Whether SUBSCRIBE may carry a Subscription Identifier (MQTT 5); false: SUBACK 0xA1, told in CONNACK. Default true. */
  subscriptionIdentifiersAvailable?: boolean
  /** Whether `$share/group/filter` is accepted; false: SUBACK 0x9E (3.1.1: 0x80), told in CONNACK. Default true. */
  sharedSubscriptionAvailable?: boolean
  /** Whether MQTT 5 packets carry reason strings (CONNACK, DISCONNECT, PUBACK/PUBREC, SUBACK); false: none at all. Default true. */
  sendReasonStrings?: boolean
  /** Whether a client connecting with an empty client id gets one assigned; false: CONNACK 0x85 (3.1.1: return code 2). Default true. */
  assignClientIds?: boolean
  /**
   * At listen(), raise this process's soft open-file limit to its hard limit when it is lower, and log the limit
   * (limits/open-files.ts, Linux). Default true; false leaves the process's limits to the host application.
   */
  raiseFileLimit?: boolean
  logger?: Logger
  /** Used when no `logger` is given. Default 'info'. */
  logLevel?: LogLevel
}

export interface ResolvedOptions {
  maxConnections: number
  maxKeepalive: number
  maxPacketSize: number
  maxInflight: number
  maxQueued: number
  queueBudget: number
  maxTopicLength: number
  maxTopicLevels: number
  maxClientIdLength: number
  maxSubscriptions: number
  maxOutputBuffer: number
  connectTimeout: number
  maxConnectionRate: number
  maxPublishRate: number
  maxPublishBytesRate: number
  topicAliasMaximum: number
  sysInterval: number
  sharedStrategy: SharedStrategy
  maxQos: 0 | 1 | 2
  retainAvailable: boolean
  retainTtl: number
  maxRetained: number
  maxRetainedBytes: number
  wildcardSubscriptionAvailable: boolean
  subscriptionIdentifiersAvailable: boolean
  sharedSubscriptionAvailable: boolean
  sendReasonStrings: boolean
  assignClientIds: boolean
}

export const DEFAULTS: ResolvedOptions = {
  maxConnections: 100_000,
  maxKeepalive: 65_535,
  maxPacketSize: 1_048_576,
  maxInflight: 100,
  maxQueued: 1000,
  queueBudget: 64 * 1_048_576,
  maxTopicLength: 65_535,
  maxTopicLevels: 128,
  maxClientIdLength: 256,
  maxSubscriptions: 1000,
  maxOutputBuffer: 2 * 1_048_576,
  connectTimeout: 10_000,
  maxConnectionRate: 0,
  maxPublishRate: 0,
  maxPublishBytesRate: 0,
  topicAliasMaximum: 100,
  sysInterval: 10,
  sharedStrategy: 'round-robin',
  maxQos: 2,
  retainAvailable: true,
  retainTtl: 0,
  maxRetained: 0,
  maxRetainedBytes: 0,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  sendReasonStrings: true,
  assignClientIds: true,
}

function positive(name: string, value: number | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`)
  }
  return value
}

function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${JSON.stringify(value)}`)
  return value
}

/** Fills defaults and checks ranges; throws RangeError with the option's name on a bad value. */
export function options__resolve(o: BrokerOptions): ResolvedOptions {
  return {
    maxConnections: positive('maxConnections', o.maxConnections, DEFAULTS.maxConnections),
    maxKeepalive: positive('maxKeepalive', o.maxKeepalive, DEFAULTS.maxKeepalive, 1, 65_535),
    maxPacketSize: positive('maxPacketSize', o.maxPacketSize, DEFAULTS.maxPacketSize, 64, 268_435_460),
    maxInflight: positive('maxInflight', o.maxInflight, DEFAULTS.maxInflight, 1, 65_535),
    maxQueued: positive('maxQueued', o.maxQueued, DEFAULTS.maxQueued, 0),
    queueBudget: positive('queueBudget', o.queueBudget, DEFAULTS.queueBudget, 0),
    maxTopicLength: positive('maxTopicLength', o.maxTopicLength, DEFAULTS.maxTopicLength, 1, 65_535),
    maxTopicLevels: positive('maxTopicLevels', o.maxTopicLevels, DEFAULTS.maxTopicLevels),
    maxClientIdLength: positive('maxClientIdLength', o.maxClientIdLength, DEFAULTS.maxClientIdLength, 23, 65_535),
    maxSubscriptions: positive('maxSubscriptions', o.maxSubscriptions, DEFAULTS.maxSubscriptions),
    maxOutputBuffer: positive('maxOutputBuffer', o.maxOutputBuffer, DEFAULTS.maxOutputBuffer, 1024),
    connectTimeout: positive('connectTimeout', o.connectTimeout, DEFAULTS.connectTimeout),
    maxConnectionRate: positive('maxConnectionRate', o.maxConnectionRate, DEFAULTS.maxConnectionRate, 0),
    maxPublishRate: positive('maxPublishRate', o.maxPublishRate, DEFAULTS.maxPublishRate, 0),
    maxPublishBytesRate: positive('maxPublishBytesRate', o.maxPublishBytesRate, DEFAULTS.maxPublishBytesRate, 0),
    topicAliasMaximum: positive('topicAliasMaximum', o.topicAliasMaximum, DEFAULTS.topicAliasMaximum, 0, 65_535),
    sysInterval: positive('sysInterval', o.sysInterval, DEFAULTS.sysInterval, 0),
    sharedStrategy: o.sharedStrategy ?? DEFAULTS.sharedStrategy,
    maxQos: positive('maxQos', o.maxQos, DEFAULTS.maxQos, 0, 2) as 0 | 1 | 2,
    retainAvailable: o.retainAvailable ?? DEFAULTS.retainAvailable,
    // Up to 2^32-1 seconds, as an MQTT 5 message expiry interval.
    retainTtl: positive('retainTtl', o.retainTtl, DEFAULTS.retainTtl, 0, 0xffff_ffff),
    maxRetained: positive('maxRetained', o.maxRetained, DEFAULTS.maxRetained, 0),
    maxRetainedBytes: positive('maxRetainedBytes', o.maxRetainedBytes, DEFAULTS.maxRetainedBytes, 0),
    wildcardSubscriptionAvailable: flag('wildcardSubscriptionAvailable', o.wildcardSubscriptionAvailable, DEFAULTS.wildcardSubscriptionAvailable),
    subscriptionIdentifiersAvailable: flag('subscriptionIdentifiersAvailable', o.subscriptionIdentifiersAvailable, DEFAULTS.subscriptionIdentifiersAvailable),
    sharedSubscriptionAvailable: flag('sharedSubscriptionAvailable', o.sharedSubscriptionAvailable, DEFAULTS.sharedSubscriptionAvailable),
    sendReasonStrings: flag('sendReasonStrings', o.sendReasonStrings, DEFAULTS.sendReasonStrings),
    assignClientIds: flag('assignClientIds', o.assignClientIds, DEFAULTS.assignClientIds),
  }
}
