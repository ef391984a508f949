import {describe, expect, it} from 'vitest'
import {ConnectionRateLimiter, connectionRate__key} from '../../src/broker/limits/connection-rate.js'
import {PublishRateLimiter, publishRate__check} from '../../src/broker/limits/publish-rate.js'
import {TokenBucket} from '../../src/broker/limits/token-bucket.js'

describe('token bucket', () => {
  it('allows a burst, then the sustained rate', () => {
    const bucket = new TokenBucket(10, 5, 0)
    for (let i = 0; i < 5; i++) expect(bucket.take(1, 0)).toBe(true)
    expect(bucket.take(1, 0)).toBe(false)
    expect(bucket.take(1, 99)).toBe(false)
    expect(bucket.take(1, 101)).toBe(true)
    // A full second refills at most `burst` tokens.
    let allowed = 0
    for (let i = 0; i < 20; i++) if (bucket.take(1, 10_000)) allowed++
    expect(allowed).toBe(5)
  })

  it('lets one request larger than the bucket through when full, then waits for the debt to clear', () => {
    const bucket = new TokenBucket(100, 100, 0)
    expect(bucket.take(250, 0)).toBe(true)
    expect(bucket.take(1, 1000)).toBe(false)
    expect(bucket.take(1, 1600)).toBe(true)
  })

  it('refuses a zero rate', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError)
  })
})

describe('connection rate limiter', () => {
  it('counts each address separately', () => {
    const limiter = new ConnectionRateLimiter(2, 2, 0)
    expect([limiter.allow('10.0.0.1', 0), limiter.allow('10.0.0.1', 0), limiter.allow('10.0.0.1', 0)]).toEqual([true, true, false])
    expect(limiter.allow('10.0.0.2', 0)).toBe(true)
    expect(limiter.allow('10.0.0.1', 600)).toBe(true)
  })

  it('counts IPv4-mapped addresses as IPv4 and IPv6 per /64', () => {
    expect(connectionRate__key('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(connectionRate__key('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64')
    expect(connectionRate__key('2001:db8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64')
    expect(connectionRate__key('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(connectionRate__key('::1')).toBe('0:0:0:0::/64')
    expect(connectionRate__key('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    const limiter = new ConnectionRateLimiter(1, 1, 0)
    expect(limiter.allow('2001:db8:0:1::1', 0)).toBe(true)
    expect(limiter.allow('2001:db8:0:1::2', 0)).toBe(false)
  })

  it('forgets addresses whose bucket has refilled, so memory stays bounded', () => {
    const limiter = new ConnectionRateLimiter(100, 100, 0)
    for (let i = 0; i < 1000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, 0)
    expect(limiter.tracked).toBe(1000)
    limiter.allow('10.9.9.9', 20_000)
    expect(limiter.tracked).toBe(1)
  })
})

describe('publish rate limiter', () => {
  it('answers 0x96 when the message rate is exceeded', () => {
    const limiter = new PublishRateLimiter({maxPublishRate: 3}, 0)
    expect([0, 0, 0, 0].map(() => limiter.check(10, 0))).toEqual([0, 0, 0, 0x96])
    expect(limiter.check(10, 400)).toBe(0)
  })

  it('answers 0x97 when the byte rate is exceeded', () => {
    const limiter = new PublishRateLimiter({maxPublishBytesRate: 1000}, 0)
    expect(limiter.check(600, 0)).toBe(0)
    expect(limiter.check(300, 0)).toBe(0)
    expect(limiter.check(600, 0)).toBe(0x97)
    expect(limiter.check(600, 400)).toBe(0x97)
    expect(limiter.check(600, 600)).toBe(0)
  })
})

describe('publishRate__check', () => {
  it('keeps one budget per connection object, and costs nothing without limits', () => {
    const a = {}
    const b = {}
    const options = {maxPublishRate: 2}
    expect([publishRate__check(a, options, 1), publishRate__check(a, options, 1), publishRate__check(a, options, 1)]).toEqual([0, 0, 0x96])
    expect(publishRate__check(b, options, 1)).toBe(0)
    expect(publishRate__check(a, {}, 1)).toBe(0)
  })
})
