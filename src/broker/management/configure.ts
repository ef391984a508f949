/**
 * `broker.configure({...})`: the settings that may change while the broker runs. Each applies from the next time
 * the broker reads it (a CONNECT, a SUBSCRIBE, a message queued), never to what a client was already promised in
 * its CONNACK: that is why the maximum packet size, receive maximum, topic alias maximum, maximum QoS and retain
 * availability are not here. A patch is checked whole before any of it applies, with the ranges BrokerOptions
 * has (options.ts), so a bad value changes nothing.
 */
import type {AuthFiles} from '../auth/hooks.js'
import {type ResolvedOptions, options__resolve} from '../options.js'

/** The live settings and their meaning; `GET /config` of the web admin shows them. */
export const LIVE_SETTINGS = {
  allowAnonymous: 'clients without a user name may connect',
  maxConnections: 'concurrent client connections; more are refused (CONNACK 0x97)',
  maxKeepalive: 'largest keepalive in seconds (MQTT 5: imposed as Server Keep Alive; 3.1.1 asking for more: refused)',
  maxQueued: 'messages queued per session before new ones are dropped',
  maxSubscriptions: 'subscriptions per session',
  maxTopicLength: 'bytes in a topic name or filter',
  maxTopicLevels: 'levels in a topic name or filter',
  maxClientIdLength: 'characters in a client id',
  maxOutputBuffer: 'bytes waiting in one socket before QoS 0 messages to it are dropped',
  connectTimeout: 'milliseconds a new connection may take to send CONNECT',
  maxPublishRate: 'PUBLISH packets per second per connection (0: unlimited; new connections)',
  maxPublishBytesRate: 'PUBLISH payload bytes per second per connection (0: unlimited; new connections)',
} as const

export type LiveSettingName = keyof typeof LIVE_SETTINGS

export type LiveSettings = {allowAnonymous: boolean} & {[K in Exclude<LiveSettingName, 'allowAnonymous'>]: number}

export type ConfigureErrorCode = 'unknown_setting' | 'read_only_setting' | 'invalid_value'

/** A refused configure(): names the setting, says why; nothing of the patch was applied. */
export class ConfigureError extends Error {
  constructor(
    readonly code: ConfigureErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message)
    this.name = 'ConfigureError'
  }
}

/** Options that exist but are fixed once the broker runs (a clear refusal rather than "unknown"). */
const READ_ONLY = new Set(['maxPacketSize', 'maxInflight', 'topicAliasMaximum', 'maxQos', 'retainAvailable', 'sharedStrategy', 'sysInterval', 'queueBudget', 'maxConnectionRate', 'listeners', 'store'])

export class BrokerSettings {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly auth: AuthFiles,
    /** Set when BrokerOptions.hooks has its own authenticate: allow-anonymous is then that hook's decision. */
    private readonly customAuthenticate: boolean,
  ) {}

  /** The live settings now in force. */
  get current(): LiveSettings {
    const o = this.options
    return {
      allowAnonymous: this.auth.allowAnonymous,
      maxConnections: o.maxConnections,
      maxKeepalive: o.maxKeepalive,
      maxQueued: o.maxQueued,
      maxSubscriptions: o.maxSubscriptions,
      maxTopicLength: o.maxTopicLength,
      maxTopicLevels: o.maxTopicLevels,
      maxClientIdLength: o.maxClientIdLength,
      maxOutputBuffer: o.maxOutputBuffer,
      connectTimeout: o.connectTimeout,
      maxPublishRate: o.maxPublishRate,
      maxPublishBytesRate: o.maxPublishBytesRate,
    }
  }

  /** Checks the whole patch, then applies it; throws ConfigureError naming the first bad field. Returns the settings in force. */
  configure(patch: Partial<Record<string, unknown>>): LiveSettings {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new ConfigureError('invalid_value', '', 'settings must be an object')
    const numbers: Record<string, number> = {}
    let allowAnonymous: boolean | undefined
    for (const [field, value] of Object.entries(patch)) {
      if (value === undefined) continue
      if (!(field in LIVE_SETTINGS)) {
        if (READ_ONLY.has(field)) throw new ConfigureError('read_only_setting', field, `${field} cannot change while the broker runs (restart with the new value)`)
        throw new ConfigureError('unknown_setting', field, `unknown setting ${field} (live settings: ${Object.keys(LIVE_SETTINGS).join(', ')})`)
      }
      if (field === 'allowAnonymous') {
        if (typeof value !== 'boolean') throw new ConfigureError('invalid_value', field, `allowAnonymous must be true or false, got ${JSON.stringify(value)}`)
        if (this.customAuthenticate) throw new ConfigureError('read_only_setting', field, 'allowAnonymous is decided by the authenticate hook given in BrokerOptions.hooks')
        allowAnonymous = value
        continue
      }
      if (typeof value !== 'number') throw new ConfigureError('invalid_value', field, `${field} must be an integer, got ${JSON.stringify(value)}`)
      numbers[field] = value
    }
    // The same ranges as at construction: resolve the would-be options and let options.ts name the bad one.
    let resolved: ResolvedOptions
    try {
      resolved = options__resolve({...this.options, ...numbers})
    } catch (error) {
      const message = (error as Error).message
      const field = /^(\w+) must/.exec(message)?.[1] ?? ''
      throw new ConfigureError('invalid_value', field, message)
    }
    for (const field of Object.keys(numbers)) (this.options as unknown as Record<string, number>)[field] = (resolved as unknown as Record<string, number>)[field]!
    if (allowAnonymous !== undefined) this.auth.allowAnonymous = allowAnonymous
    return this.current
  }
}
