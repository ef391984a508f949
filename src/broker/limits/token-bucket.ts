/**
 * A token bucket: `rate` tokens per second flow into a bucket holding at most `burst`. Written here rather than
 * taken from a library because it is ten lines and sits on the PUBLISH hot path (no timers, no allocation).
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    readonly rate: number,
    readonly burst: number = rate,
    now: number = performance.now(),
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('a token bucket needs a positive rate and burst')
    this.tokens = burst
    this.last = now
  }

  /**
   * Takes `count` tokens if there are enough. A single request larger than the whole bucket passes when the bucket
   * is full and leaves it in debt, so one large message is slowed down, never refused for ever.
   */
  take(count = 1, now: number = performance.now()): boolean {
    this.refill(now)
    if (this.tokens < Math.min(count, this.burst)) return false
    this.tokens -= count
    return true
  }

  /** True when the bucket has refilled completely, i.e. it is indistinguishable from a new one. */
  isFull(now: number = performance.now()): boolean {
    this.refill(now)
    return this.tokens >= this.burst
  }

  private refill(now: number): void {
    const elapsed = now - this.last
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rate)
      this.last = now
    }
  }
}
