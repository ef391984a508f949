/**
 * `--max-publish-rate` and `--max-publish-bytes-rate`: per-connection budgets for incoming PUBLISH packets
 * (messages per second and payload bytes per second, each with one second's worth of burst). A client that
 * goes over is disconnected: MQTT 5 clients first get DISCONNECT 0x96 "Message rate too high" (message budget)
 * or 0x97 "Quota exceeded" (byte budget); 3.1.1 has no way to say why, so the connection is just closed.
 */
import {TokenBucket} from './token-bucket.js'

/** MQTT 5 DISCONNECT reason codes used by the limiter. */
export const REASON_MESSAGE_RATE_TOO_HIGH = 0x96
export const REASON_QUOTA_EXCEEDED = 0x97

export interface PublishRateOptions {
  /** PUBLISH packets per second per connection. */
  maxPublishRate?: number
  /** Payload bytes per second per connection. */
  maxPublishBytesRate?: number
}

export class PublishRateLimiter {
  private readonly messages?: TokenBucket
  private readonly bytes?: TokenBucket

  constructor(options: PublishRateOptions, now: number = performance.now()) {
    if (options.maxPublishRate) this.messages = new TokenBucket(options.maxPublishRate, options.maxPublishRate, now)
    if (options.maxPublishBytesRate) {
      this.bytes = new TokenBucket(options.maxPublishBytesRate, options.maxPublishBytesRate, now)
    }
  }

  /** Records one PUBLISH; 0 when it is within budget, else the MQTT 5 reason code to disconnect with. */
  check(payloadBytes: number, now: number = performance.now()): 0 | typeof REASON_MESSAGE_RATE_TOO_HIGH | typeof REASON_QUOTA_EXCEEDED {
    if (this.messages && !this.messages.take(1, now)) return REASON_MESSAGE_RATE_TOO_HIGH
    if (this.bytes && !this.bytes.take(payloadBytes, now)) return REASON_QUOTA_EXCEEDED
    return 0
  }
}

/** One limiter per connection, created on its first PUBLISH; gone with the connection (no cleanup to forget). */
const limiters = new WeakMap<object, PublishRateLimiter>()

/**
 * The broker's PUBLISH handler calls this for every PUBLISH: 0 when within budget (always, at the cost of one
 * property test, when no limit is configured), else the MQTT 5 reason code to disconnect with.
 */
export function publishRate__check(connection: object, options: PublishRateOptions, payloadBytes: number): number {
  if (!options.maxPublishRate && !options.maxPublishBytesRate) return 0
  let limiter = limiters.get(connection)
  if (limiter === undefined) {
    limiter = new PublishRateLimiter(options)
    limiters.set(connection, limiter)
  }
  return limiter.check(payloadBytes)
}
