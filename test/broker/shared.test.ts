import {afterEach, describe, expect, it} from 'vitest'
import type {MqttClient} from 'mqtt'
import {RawClient, cleanup, connect, delay, startBroker, until} from './helpers.js'

afterEach(cleanup)

function count(client: MqttClient): {n: number} {
  const c = {n: 0}
  client.on('message', () => c.n++)
  return c
}

describe('shared subscriptions', () => {
  it('[MQTT-4.8.2-3] each message goes to one member; round-robin spreads them evenly (3.1.1 and 5 members)', async () => {
    const {port} = await startBroker()
    const a = await connect(port, {clientId: 'a'})
    const b = await connect(port, {clientId: 'b', protocolVersion: 5})
    await a.subscribeAsync('$share/g/jobs/#', {qos: 1})
    await b.subscribeAsync('$share/g/jobs/#', {qos: 1})
    const ca = count(a)
    const cb = count(b)
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 20; i++) await pub.publishAsync('jobs/x', String(i), {qos: 1})
    await delay(200)
    expect(ca.n + cb.n).toBe(20)
    expect(ca.n).toBe(10)
    expect(cb.n).toBe(10)
  })

  it('two groups on the same filter each get every message; a plain subscriber too', async () => {
    const {port} = await startBroker()
    const g1 = await connect(port, {clientId: 'g1'})
    const g2 = await connect(port, {clientId: 'g2'})
    const plain = await connect(port, {clientId: 'plain'})
    await g1.subscribeAsync('$share/one/t')
    await g2.subscribeAsync('$share/two/t')
    await plain.subscribeAsync('t')
    const [c1, c2, cp] = [count(g1), count(g2), count(plain)]
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 5; i++) await pub.publishAsync('t', 'x', {qos: 1})
    await delay(200)
    expect([c1.n, c2.n, cp.n]).toEqual([5, 5, 5])
  })

  it('no retained messages are sent for a shared subscription (MQTT 5 §4.8.2)', async () => {
    const {port} = await startBroker()
    const pub = await connect(port, {clientId: 'pub'})
    await pub.publishAsync('r', 'kept', {qos: 1, retain: true})
    const sub = await connect(port, {clientId: 's'})
    const c = count(sub)
    await sub.subscribeAsync('$share/g/r')
    await delay(200)
    expect(c.n).toBe(0)
  })

  it('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port, 5)
    await raw.handshake({clientId: 'x'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/t', qos: 0, nl: true}]})
    expect((await raw.next('disconnect')).reasonCode).toBe(0x82)
  })

  it('an invalid share name is refused with SUBACK 0x8F', async () => {
    const {port} = await startBroker()
    const raw = await RawClient.connect(port, 5)
    await raw.handshake({clientId: 'x'})
    raw.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share//t', qos: 0}, {topic: '$share/g', qos: 0}]})
    expect((await raw.next('suback')).granted).toEqual([0x8f, 0x8f])
  })

  it('prefers connected members; an offline persistent member only gets messages when nobody else is online', async () => {
    const {port, broker} = await startBroker()
    const off = await connect(port, {clientId: 'off', clean: false})
    await off.subscribeAsync('$share/g/w', {qos: 1})
    off.end(true)
    await until(() => !broker.clientIds.includes('off'))
    const on = await connect(port, {clientId: 'on'})
    await on.subscribeAsync('$share/g/w', {qos: 1})
    const c = count(on)
    await delay(50)
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 6; i++) await pub.publishAsync('w', String(i), {qos: 1})
    await delay(200)
    expect(c.n).toBe(6)
  })

  it('the random and sticky strategies deliver every message once', async () => {
    for (const sharedStrategy of ['random', 'sticky'] as const) {
      const {port} = await startBroker({sharedStrategy})
      const a = await connect(port, {clientId: 'a'})
      const b = await connect(port, {clientId: 'b'})
      await a.subscribeAsync('$share/g/s', {qos: 1})
      await b.subscribeAsync('$share/g/s', {qos: 1})
      const [ca, cb] = [count(a), count(b)]
      const pub = await connect(port, {clientId: 'pub'})
      for (let i = 0; i < 10; i++) await pub.publishAsync('s', 'x', {qos: 1})
      await delay(200)
      expect(ca.n + cb.n).toBe(10)
      if (sharedStrategy === 'sticky') expect([ca.n, cb.n].sort()).toEqual([0, 10])
      await cleanup()
    }
  })

  it('skips a member that authorizeForward refuses, so the group still gets every message', async () => {
    const {port} = await startBroker({hooks: {authorizeForward: (client) => client.id !== 'denied'}})
    const denied = await connect(port, {clientId: 'denied'})
    const allowed = await connect(port, {clientId: 'allowed'})
    await denied.subscribeAsync('$share/g/acl', {qos: 1})
    await allowed.subscribeAsync('$share/g/acl', {qos: 1})
    const [cd, ca] = [count(denied), count(allowed)]
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 6; i++) await pub.publishAsync('acl', 'x', {qos: 1})
    await delay(200)
    expect([cd.n, ca.n]).toEqual([0, 6])
  })

  it('a member whose inflight window is full is passed over while another has room', async () => {
    const {port} = await startBroker({maxInflight: 2})
    const stuck = await RawClient.connect(port)
    await stuck.handshake({clientId: 'stuck'})
    stuck.send({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/work', qos: 1}]})
    await stuck.next('suback')
    const fast = await connect(port, {clientId: 'fast'})
    await fast.subscribeAsync('$share/g/work', {qos: 1})
    const cf = count(fast)
    const pub = await connect(port, {clientId: 'pub'})
    for (let i = 0; i < 10; i++) await pub.publishAsync('work', String(i), {qos: 1})
    await delay(200)
    // The raw member never acknowledges: it holds its window of 2, everything else goes to the fast member.
    expect(stuck.packets.filter((p) => p.cmd === 'publish')).toHaveLength(2)
    expect(cf.n).toBe(8)
  })
})
