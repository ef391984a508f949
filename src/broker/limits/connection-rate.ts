/**
 * `--max-connection-rate`: new connections per second per source address, checked when a transport hands the
 * broker a connection and before a byte of it is read, so a flood costs one accept and one close per attempt.
 *
 * IPv4-mapped IPv6 addresses count as their IPv4 address, and IPv6 addresses count per /64 network: one host
 * usually owns a whole /64, so counting per address would let it rotate through 2^64 of them.
 */
import {TokenBucket} from './token-bucket.js'

/** Buckets that have refilled are forgotten at this interval (a full bucket is the same as none). */
const SWEEP_INTERVAL_MS = 10_000

export class ConnectionRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>()
  private lastSweep: number

  /**
   * @param rate connections per second allowed from one address, sustained
   * @param burst connections allowed at once after a quiet period (default: one second's worth, at least 1)
   */
  constructor(
    readonly rate: number,
    readonly burst: number = Math.max(1, rate),
    now: number = performance.now(),
  ) {
    this.lastSweep = now
  }

  /** Records one connection attempt from `address`; false when it goes over the rate and must be closed. */
  allow(address: string, now: number = performance.now()): boolean {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep(now)
    const key = connectionRate__key(address)
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      bucket = new TokenBucket(this.rate, this.burst, now)
      this.buckets.set(key, bucket)
    }
    return bucket.take(1, now)
  }

  /** Addresses currently tracked (bounded by the sweep: only those seen within about burst/rate seconds). */
  get tracked(): number {
    return this.buckets.size
  }

  private sweep(now: number): void {
    this.lastSweep = now
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key)
  }
}

/** The counting key of an address: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6 by its /64 prefix. */
export function connectionRate__key(address: string): string {
  if (!address.includes(':')) return address
  const lower = address.toLowerCase().replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped) return mapped[1]!
  const [head = '', tail] = lower.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
