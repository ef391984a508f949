import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, connect, nextMessages, startBroker} from './helpers.js'

afterEach(cleanup)

describe('smoke', () => {
  it('routes QoS 0/1/2 between two mqtt.js clients', async () => {
    const {port} = await startBroker()
    const sub = await connect(port, {clientId: 'sub'})
    await sub.subscribeAsync('a/+', {qos: 2})
    const pub = await connect(port, {clientId: 'pub'})
    const got = nextMessages(sub, 3)
    await pub.publishAsync('a/0', 'zero', {qos: 0})
    await pub.publishAsync('a/1', 'one', {qos: 1})
    await pub.publishAsync('a/2', 'two', {qos: 2})
    const msgs = await got
    expect(msgs.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
      ['a/0', 'zero', 0],
      ['a/1', 'one', 1],
      ['a/2', 'two', 2],
    ])
  })
})
