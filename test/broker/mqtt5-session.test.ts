import {afterEach, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {RawClient, cleanup, connect, delay, nextMessages, noMessage, startBroker, until} from './helpers.js'

afterEach(cleanup)

async function v5(port: number, clientId: string, extra: Record<string, unknown> = {}) {
  const raw = await RawClient.connect(port, 5)
  const connack = await raw.handshake({clientId, ...extra})
  return {raw, connack}
}

const will = {topic: 'wills/x', payload: Buffer.from('bye'), qos: 1 as const, retain: false}

describe('MQTT 5 sessions and wills', () => {
  it('[MQTT-3.1.2-23] session expiry 0: the session ends with the connection', async () => {
    const {port} = await startBroker()
    const a = await v5(port, 's', {clean: false})
    a.raw.send({cmd: 'disconnect'})
    await a.raw.waitClosed()
    const b = await v5(port, 's', {clean: false})
    expect(b.connack.sessionPresent).toBe(false)
  })

  it('[MQTT-3.1.2-23] session expiry N: kept for N seconds, then gone', async () => {
    const {port, broker} = await startBroker()
    const a = await v5(port, 's', {clean: false, properties: {sessionExpiryInterval: 1}})
    a.raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'x', qos: 1}]})
    await a.raw.next('suback')
    a.raw.send({cmd: 'disconnect'})
    await a.raw.waitClosed()
    await delay(300)
    expect(broker.stats.sessions).toBe(1)
    const b = await v5(port, 's', {clean: false, properties: {sessionExpiryInterval: 1}})
    expect(b.connack.sessionPresent).toBe(true)
    b.raw.send({cmd: 'disconnect'})
    await b.raw.waitClosed()
    await until(() => broker.stats.sessions === 0, 5000, 'the session to expire')
    expect(broker.stats.subscriptions).toBe(0)
    const c = await v5(port, 's', {clean: false})
    expect(c.connack.sessionPresent).toBe(false)
  })

  it('[MQTT-3.1.2-4] clean start 1 discards an existing session', async () => {
    const {port} = await startBroker()
    const a = await v5(port, 's', {clean: false, properties: {sessionExpiryInterval: 60}})
    a.raw.socket.destroy()
    await delay(50)
    const b = await v5(port, 's', {clean: true, properties: {sessionExpiryInterval: 60}})
    expect(b.connack.sessionPresent).toBe(false)
  })

  it('[MQTT-3.14.2-2] the client may change the expiry on DISCONNECT, but not from 0', async () => {
    const {port, broker} = await startBroker()
    const a = await v5(port, 's', {clean: false, properties: {sessionExpiryInterval: 60}})
    a.raw.send({cmd: 'disconnect', reasonCode: 0, properties: {sessionExpiryInterval: 0}})
    await a.raw.waitClosed()
    await delay(50)
    expect(broker.stats.sessions).toBe(0)
    const b = await v5(port, 'z')
    b.raw.send({cmd: 'disconnect', reasonCode: 0, properties: {sessionExpiryInterval: 30}})
    expect((await b.raw.next('disconnect')).reasonCode).toBe(0x82)
  })

  it('session expiry keeps counting across a restart (disconnectedAt is stored)', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    const shortLived = await v5(first.port, 'short', {clean: false, properties: {sessionExpiryInterval: 1}})
    const longLived = await v5(first.port, 'long', {clean: false, properties: {sessionExpiryInterval: 60}})
    shortLived.raw.send({cmd: 'disconnect'})
    longLived.raw.send({cmd: 'disconnect'})
    await shortLived.raw.waitClosed()
    await longLived.raw.waitClosed()
    await first.broker.close()
    await delay(1200)
    const second = await startBroker({store})
    await until(() => second.broker.stats.sessions === 1, 5000, 'the expired session to go')
    expect((await v5(second.port, 'short', {clean: false, properties: {sessionExpiryInterval: 1}})).connack.sessionPresent).toBe(false)
    expect((await v5(second.port, 'long', {clean: false, properties: {sessionExpiryInterval: 60}})).connack.sessionPresent).toBe(true)
  })

  it('[MQTT-3.1.3-9] will delay: published after the delay', async () => {
    const {port} = await startBroker()
    const watcher = await connect(port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const {raw} = await v5(port, 'dying', {will: {...will, properties: {willDelayInterval: 1}}, properties: {sessionExpiryInterval: 60}})
    const started = Date.now()
    const got = nextMessages(watcher, 1, 4000)
    raw.socket.destroy()
    await got
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
  })

  it('[MQTT-3.1.3-9] will delay: a reconnect within the delay cancels the will', async () => {
    const {port} = await startBroker()
    const watcher = await connect(port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const {raw} = await v5(port, 'flaky', {clean: false, will: {...will, properties: {willDelayInterval: 1}}, properties: {sessionExpiryInterval: 60}})
    raw.socket.destroy()
    await delay(200)
    await v5(port, 'flaky', {clean: false, properties: {sessionExpiryInterval: 60}})
    expect(await noMessage(watcher, 1500)).toBe(true)
  })

  it('the will goes out when the session ends before the will delay', async () => {
    const {port} = await startBroker()
    const watcher = await connect(port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const {raw} = await v5(port, 'brief', {will: {...will, properties: {willDelayInterval: 30}}, properties: {sessionExpiryInterval: 1}})
    const got = nextMessages(watcher, 1, 4000)
    raw.socket.destroy()
    await got
  })

  it('[MQTT-3.14.4-3] DISCONNECT 0x04 publishes the will, with its properties', async () => {
    const {port} = await startBroker()
    const watcher = await v5(port, 'w')
    watcher.raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'wills/#', qos: 1}]})
    await watcher.raw.next('suback')
    const {raw} = await v5(port, 'leaving', {will: {...will, properties: {contentType: 'text/plain', userProperties: {k: 'v'}}}})
    raw.send({cmd: 'disconnect', reasonCode: 0x04})
    const p = await watcher.raw.next('publish')
    expect(p.payload.toString()).toBe('bye')
    expect(p.properties?.contentType).toBe('text/plain')
    expect(p.properties?.userProperties).toEqual({k: 'v'})
  })

  it('[MQTT-3.1.2-10] a DISCONNECT with an error reason code (0x80) does not delete the will', async () => {
    const {port} = await startBroker()
    const watcher = await connect(port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const {raw} = await v5(port, 'failing', {will})
    const got = nextMessages(watcher, 1)
    raw.send({cmd: 'disconnect', reasonCode: 0x80})
    expect((await got)[0]!.payload.toString()).toBe('bye')
  })

  it('takeover: the old connection\'s will is sent, unless the new one resumes the session and the will is delayed (§3.1.3.2.2)', async () => {
    const {port} = await startBroker()
    const watcher = await connect(port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const props = {sessionExpiryInterval: 60}
    await v5(port, 'resumer', {clean: false, will: {...will, properties: {willDelayInterval: 5}}, properties: props})
    await v5(port, 'resumer', {clean: false, properties: props})
    expect(await noMessage(watcher, 300)).toBe(true)
    await v5(port, 'immediate', {will, properties: props})
    const got = nextMessages(watcher, 1)
    await v5(port, 'immediate', {clean: false, properties: props})
    expect((await got)[0]!.topic).toBe('wills/x')
  })

  it('a delayed will survives a broker restart and is published when its delay ends', async () => {
    const store = new MemoryStore()
    const first = await startBroker({store})
    const {raw} = await v5(first.port, 'durable-will', {clean: false, will: {...will, properties: {willDelayInterval: 1}}, properties: {sessionExpiryInterval: 60}})
    raw.socket.destroy()
    await delay(100)
    await first.broker.close()
    const second = await startBroker({store})
    const watcher = await connect(second.port, {clientId: 'w'})
    await watcher.subscribeAsync('wills/#', {qos: 1})
    const [m] = await nextMessages(watcher, 1, 3000)
    expect(m!.payload.toString()).toBe('bye')
  })
})
