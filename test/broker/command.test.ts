/** `mqttkit broker` as users run it: the built CLI in a child process (run `npm run build` first). */
import net from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {brokerCli__cleanup, brokerCli__spawn, brokerCli__waitFor} from './broker-cli.js'
import {broker__normalizeArgv} from '../../src/commands/broker.js'
import {cleanup, connect} from './helpers.js'

afterEach(async () => {
  brokerCli__cleanup()
  await cleanup()
})

describe('--allow-anonymous parsing', () => {
  it('accepts `--allow-anonymous false`, `--allow-anonymous=false` and `--no-allow-anonymous`', () => {
    expect(broker__normalizeArgv(['--allow-anonymous', 'false'])).toEqual(['--no-allow-anonymous'])
    expect(broker__normalizeArgv(['--allow-anonymous=false'])).toEqual(['--no-allow-anonymous'])
    expect(broker__normalizeArgv(['--allow-anonymous', 'true', '-x'])).toEqual(['--allow-anonymous', '-x'])
    expect(broker__normalizeArgv(['--no-allow-anonymous'])).toEqual(['--no-allow-anonymous'])
  })
})

describe('mqttkit broker', () => {
  it('prints a banner with the listener, warns about anonymous access on 0.0.0.0, exits 0 on SIGTERM', async () => {
    const port = await brokers__freePort()
    const r = brokerCli__spawn(['--mqtt-port', String(port)])
    await brokerCli__waitFor(r, /listening on mqtt:\/\/0\.0\.0\.0:\d+/)
    expect(r.output()).toMatch(/warning: anonymous/)
    const client = await connect(port, {protocolVersion: 5, clientId: 'v5'})
    const disconnect = new Promise<number | undefined>((resolve) => client.once('disconnect', (p) => resolve(p.reasonCode)))
    r.child.kill('SIGTERM')
    expect(await r.exited).toBe(0)
    // Server shutting down [MQTT-4.13.2-1].
    expect(await disconnect).toBe(0x8b)
  })

  it('exits 0 on SIGINT and does not warn when bound to loopback', async () => {
    const port = await brokers__freePort()
    const r = brokerCli__spawn(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1'])
    await brokerCli__waitFor(r, /listening on/)
    expect(r.output()).not.toMatch(/warning: anonymous/)
    r.child.kill('SIGINT')
    expect(await r.exited).toBe(0)
  })

  it('EADDRINUSE gives a clear message naming mqttkit doctor, no stack trace, exit 1', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const r = brokerCli__spawn(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1'])
      expect(await r.exited).toBe(1)
      expect(r.output()).toMatch(/already in use/)
      expect(r.output()).toMatch(/mqttkit doctor/)
      expect(r.output()).not.toMatch(/\n\s+at /)
    } finally {
      blocker.close()
    }
  })

})
