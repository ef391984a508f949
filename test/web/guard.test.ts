/** The admin's access rules that need no server: which Host names it answers to, and the bind warning. */
import {describe, expect, it} from 'vitest'
import {guard__allowedHosts, guard__bindWarnings} from '../../src/web/guard.js'

describe('guard', () => {
  it('answers to loopback names and the bound address with the port, nothing else', () => {
    const hosts = guard__allowedHosts('127.0.0.1', 8000)
    expect([...hosts].sort()).toEqual(['127.0.0.1:8000', '[::1]:8000', 'localhost:8000'])
    expect(guard__allowedHosts('192.0.2.7', 8000).has('192.0.2.7:8000')).toBe(true)
    expect(guard__allowedHosts('127.0.0.1', 8000, ['admin.example']).has('admin.example:8000')).toBe(true)
    // A wildcard bind answers to this machine's own addresses (and never to an arbitrary name).
    const wildcard = guard__allowedHosts('0.0.0.0', 8000)
    expect(wildcard.has('127.0.0.1:8000')).toBe(true)
    expect(wildcard.has('evil.example:8000')).toBe(false)
  })

  it('warns loudly about a non-loopback bind without TLS, and not about loopback', () => {
    expect(guard__bindWarnings('127.0.0.1')).toEqual([])
    expect(guard__bindWarnings('::1')).toEqual([])
    expect(guard__bindWarnings('localhost')).toEqual([])
    expect(guard__bindWarnings('0.0.0.0')).toEqual([expect.stringMatching(/0\.0\.0\.0 without TLS: the token .* clear text/)])
  })
})
