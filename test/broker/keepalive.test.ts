/**
 * Keepalive is one sweep a second over all connected clients (src/broker/connection/keepalive.ts), not a timer per
 * connection: each client still gets its own deadline, counted from its own last packet.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, delay, startBroker} from './helpers.js'

afterEach(cleanup)

describe('keepalive sweep', () => {
  it('[MQTT-3.1.2-24] closes only the silent client, within 1.5 × keepalive plus one sweep, while active and keepalive 0 clients stay', async () => {
    const {port} = await startBroker()
    const silent = await RawClient.connect(port)
    await silent.handshake({clientId: 'silent', keepalive: 1})
    const silentSince = Date.now()
    const active = await RawClient.connect(port)
    await active.handshake({clientId: 'active', keepalive: 1})
    const forever = await RawClient.connect(port)
    await forever.handshake({clientId: 'forever', keepalive: 0})

    let closedAfter = -1
    for (let i = 0; i < 7; i++) {
      await delay(500)
      active.send({cmd: 'pingreq'})
      await active.next('pingresp')
      if (silent.closed && closedAfter < 0) closedAfter = Date.now() - silentSince
    }
    // 1.5 × 1 s, never before (timers fire late, not early); at most one 1 s sweep (plus this loop's 0.5 s step) late.
    expect(closedAfter).toBeGreaterThanOrEqual(1400)
    expect(closedAfter).toBeLessThanOrEqual(3200)
    expect(active.closed).toBe(false)
    expect(forever.closed).toBe(false)
  })

  it('measures each client from its own last packet: a client that falls silent later is closed later', async () => {
    const {port} = await startBroker()
    const first = await RawClient.connect(port)
    await first.handshake({clientId: 'first', keepalive: 2})
    const second = await RawClient.connect(port)
    await second.handshake({clientId: 'second', keepalive: 2})
    // second stays active for 2 s more, then falls silent: its deadline is 3 s after that.
    for (let i = 0; i < 4; i++) {
      await delay(500)
      second.send({cmd: 'pingreq'})
      await second.next('pingresp')
    }
    await first.waitClosed(3000)
    expect(second.closed).toBe(false)
    await second.waitClosed(4500)
  })
})
