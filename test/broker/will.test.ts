import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect, nextMessages, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

const will = {topic: 'wills/a', payload: Buffer.from('gone'), qos: 1 as const, retain: false}

/** A broker, a watcher subscribed to wills/#, and a raw client `a` connected with `will` (plus `extra` CONNECT fields). */
async function willClient(extra: {keepalive?: number} = {}) {
  const {port} = await startBroker()
  const watcher = await connect(port, {clientId: 'watcher'})
  await watcher.subscribeAsync('wills/#', {qos: 1})
  const raw = await RawClient.connect(port)
  await raw.handshake({clientId: 'a', will, ...extra})
  return {watcher, raw}
}

describe('will messages', () => {
  it('[MQTT-3.1.2-8] publishes the will when the connection drops without DISCONNECT', async () => {
    const {watcher, raw} = await willClient()
    const got = nextMessages(watcher, 1)
    raw.socket.destroy()
    const [m] = await got
    expect(m!.payload.toString()).toBe('gone')
  })

  it('[MQTT-3.14.4-3] does not publish the will after DISCONNECT', async () => {
    const {watcher, raw} = await willClient()
    raw.send({cmd: 'disconnect'})
    await raw.waitClosed()
    expect(await noMessage(watcher, 300)).toBe(true)
  })

  it('[MQTT-3.1.2-8] publishes the will on keepalive timeout', async () => {
    const {watcher} = await willClient({keepalive: 1})
    const [m] = await nextMessages(watcher, 1, 3000)
    expect(m!.topic).toBe('wills/a')
  })

  it('publishes the will of a connection closed for a protocol violation', async () => {
    const {watcher, raw} = await willClient()
    const got = nextMessages(watcher, 1)
    raw.write([0xff, 0xff, 0xff])
    await got
  })

  it('a retained will is retained', async () => {
    const {port, broker} = await startBroker()
    const raw = await RawClient.connect(port)
    await raw.handshake({clientId: 'a', will: {...will, retain: true}})
    raw.socket.destroy()
    await raw.waitClosed()
    await new Promise((r) => setTimeout(r, 50))
    expect(broker.stats.retained).toBe(1)
  })

  it('refuses a will topic with wildcards: 3.1.1 closes without CONNACK [MQTT-3.1.4-1]', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port)
    await expect(raw.handshake({clientId: 'a', will: {...will, topic: 'wills/#'}})).rejects.toThrow(/closed while waiting for connack/)
  })
})
