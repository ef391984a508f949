/**
 * The JSON gateway end to end: a raw `ws` client speaking JSON and an mqtt.js client on TCP share one broker,
 * and the broker's hooks (authentication, ACLs) apply to the JSON client as to any other.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import type WebSocket from 'ws'
import type {Broker} from '../../src/broker/broker.js'
import type {ClientInfo} from '../../src/broker/hooks.js'
import {broker__start, mqtt__closeAll, mqtt__connect, mqtt__next, portOf, ws__closed, ws__open} from './harness.js'

type Json = Record<string, unknown>

/** A JSON gateway client that keeps everything it received, to wait on. */
class JsonClient {
  readonly received: Json[] = []
  private waiters: Array<() => void> = []

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()) as Json)
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  send(message: Json | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** The first received message matching `fields` (waits up to 10 s). */
  async next(fields: Json): Promise<Json> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const found = this.received.find((m) => Object.entries(fields).every(([k, v]) => m[k] === v))
      if (found !== undefined) {
        this.received.splice(this.received.indexOf(found), 1)
        return found
      }
      if (Date.now() > deadline) throw new Error(`no message like ${JSON.stringify(fields)}; got ${JSON.stringify(this.received)}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
  }
}

let broker: Broker
let wsUrl: string
let tcpUrl: string
const seen: ClientInfo[] = []
const sockets: WebSocket[] = []

beforeAll(async () => {
  broker = await broker__start([
    {type: 'tcp', host: '127.0.0.1', port: 0},
    {type: 'ws', host: '127.0.0.1', port: 0, maxFrameSize: 64 * 1024},
  ], {
    maxPacketSize: 32 * 1024,
    hooks: {
      authenticate: (client, username, password) => {
        seen.push(client)
        return username !== 'mallory' || password?.toString() === 'right'
      },
      authorizePublish: (_client, message) => !message.topic.startsWith('secret/'),
      authorizeSubscribe: (_client, subscription) => !subscription.filter.startsWith('secret/'),
    },
  })
  wsUrl = `ws://127.0.0.1:${portOf(broker, 'ws')}/mqtt`
  tcpUrl = `mqtt://127.0.0.1:${portOf(broker, 'tcp')}`
})

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await mqtt__closeAll()
})

afterAll(async () => {
  await broker.close()
})

async function jsonClient(): Promise<JsonClient> {
  const ws = await ws__open(wsUrl)
  sockets.push(ws)
  return new JsonClient(ws)
}

describe('JSON gateway', () => {
  it('delivers an MQTT client\'s messages to a JSON subscriber, and a JSON client\'s to an MQTT subscriber', async () => {
    const json = await jsonClient()
    json.send({type: 'subscribe', topic: 'room/+/temp', qos: 1, id: 's1'})
    expect(await json.next({type: 'subscribed', id: 's1'})).toMatchObject({topic: 'room/+/temp', qos: 1})
    expect(await json.next({type: 'connected'})).toHaveProperty('clientId')
    expect(seen.at(-1)?.transport).toBe('json')

    const mq = await mqtt__connect(tcpUrl)
    await mq.publishAsync('room/kitchen/temp', '21.5', {qos: 1})
    expect(await json.next({type: 'message'})).toEqual({type: 'message', topic: 'room/kitchen/temp', payload: '21.5', qos: 1, retain: false})

    await mq.subscribeAsync('from/json', {qos: 1})
    const arrival = mqtt__next(mq, 'from/json')
    json.send({type: 'publish', topic: 'from/json', payload: 'héllo', qos: 1, id: 7})
    expect(await json.next({type: 'published', id: 7})).toMatchObject({topic: 'from/json'})
    expect((await arrival).payload.toString()).toBe('héllo')
  })

  it('QoS 2 both ways, retained messages and binary payloads as base64', async () => {
    const mq = await mqtt__connect(tcpUrl, {protocolVersion: 5})
    await mq.publishAsync('gw/retained', Buffer.from([0x00, 0xff, 0x10]), {qos: 1, retain: true})
    const json = await jsonClient()
    json.send({type: 'subscribe', topic: 'gw/#', qos: 2})
    expect(await json.next({type: 'message', topic: 'gw/retained'})).toEqual({
      type: 'message', topic: 'gw/retained', payload: 'AP8Q', encoding: 'base64', qos: 1, retain: true,
    })
    await mq.subscribeAsync('gw/q2', {qos: 2})
    const arrival = mqtt__next(mq, 'gw/q2')
    json.send({type: 'publish', topic: 'gw/q2', payload: '/wCA', encoding: 'base64', qos: 2, id: 'q2'})
    await json.next({type: 'published', id: 'q2'})
    expect((await arrival).payload).toEqual(Buffer.from([0xff, 0x00, 0x80]))
    // The JSON client is subscribed to gw/# at QoS 2 and sees its own message once.
    expect(await json.next({type: 'message', topic: 'gw/q2'})).toMatchObject({qos: 2, payload: '/wCA', encoding: 'base64'})
    // Bytes that are valid UTF-8 (control characters included) travel as text.
    json.send({type: 'publish', topic: 'gw/text', payload: 'AQID', encoding: 'base64'})
    expect(await json.next({type: 'message', topic: 'gw/text'})).toMatchObject({payload: '\u0001\u0002\u0003'})
    await new Promise((r) => setTimeout(r, 200))
    expect(json.received.filter((m) => m.topic === 'gw/q2')).toEqual([])
    await mq.publishAsync('gw/retained', '', {retain: true})
  })

  it('applies the broker\'s ACL hooks: refused publish and subscribe come back as errors', async () => {
    const json = await jsonClient()
    json.send({type: 'subscribe', topic: 'secret/plans', id: 1})
    expect((await json.next({type: 'error', id: 1})).message).toContain('0x87')
    json.send({type: 'publish', topic: 'secret/plans', payload: 'x', qos: 1, id: 2})
    expect((await json.next({type: 'error', id: 2})).message).toContain('not authorized (0x87)')
    json.send({type: 'ping', id: 3})
    await json.next({type: 'pong', id: 3})
  })

  it('authenticates the connect message; a refusal closes the socket with 1008', async () => {
    const good = await jsonClient()
    good.send({type: 'connect', clientId: 'json-good', username: 'mallory', password: 'right'})
    expect(await good.next({type: 'connected'})).toEqual({type: 'connected', clientId: 'json-good'})
    expect(seen.at(-1)).toMatchObject({id: 'json-good', username: 'mallory', transport: 'json'})

    const bad = await jsonClient()
    const closing = ws__closed(bad.ws)
    bad.send({type: 'connect', username: 'mallory', password: 'wrong'})
    expect((await bad.next({type: 'error'})).message).toBe('connection refused: bad user name or password (0x86)')
    expect((await closing).code).toBe(1008)
    good.send({type: 'connect'})
    expect((await good.next({type: 'error'})).message).toContain('already connected')
  })

  it('answers garbage with errors and keeps serving that client and the others', async () => {
    const other = await jsonClient()
    other.send({type: 'subscribe', topic: 'still/works'})
    await other.next({type: 'subscribed'})
    const json = await jsonClient()
    const bad: Array<[string | Buffer, string]> = [
      ['{not json', 'not valid JSON'],
      ['[1,2]', 'JSON object'],
      ['"hello"', 'JSON object'],
      ['{"type":"explode"}', 'unknown "type"'],
      ['{"type":"publish","topic":"a/#","payload":"x"}', 'wildcard character [MQTT-4.7.1-1]'],
      ['{"type":"publish","topic":"","payload":"x"}', 'empty'],
      ['{"type":"publish","topic":"a","payload":{"x":1}}', '"payload" must be a string'],
      ['{"type":"publish","topic":"a","payload":"x","qos":3}', '"qos"'],
      ['{"type":"subscribe","topic":"a/#/b"}', "'#' must be the last character"],
      ['{"type":"publish","topic":"a","payload":"!!","encoding":"base64"}', 'base64'],
      [Buffer.from([0x10, 0x00]), 'text messages'],
    ]
    for (const [input, expected] of bad) {
      json.ws.send(input)
      expect(String((await json.next({type: 'error'})).message)).toContain(expected)
    }
    json.send({type: 'ping', id: 'alive'})
    await json.next({type: 'pong', id: 'alive'})
    const mq = await mqtt__connect(tcpUrl)
    await mq.publishAsync('still/works', 'yes')
    expect(await other.next({type: 'message'})).toMatchObject({topic: 'still/works', payload: 'yes'})
  })

  it('refuses a publish over the broker\'s maximum packet size with an error, keeping the session', async () => {
    const json = await jsonClient()
    json.send({type: 'publish', topic: 'big/one', payload: 'x'.repeat(40 * 1024), id: 'big'})
    expect((await json.next({type: 'error', id: 'big'})).message).toMatch(/over the broker's maximum packet size of 32768/)
    json.send({type: 'ping', id: 'after'})
    await json.next({type: 'pong', id: 'after'})
  })

  it('closes a client sending a message over the frame limit (1009); the others carry on', async () => {
    const other = await jsonClient()
    other.send({type: 'subscribe', topic: 'big/#'})
    await other.next({type: 'subscribed'})
    const json = await jsonClient()
    const closing = ws__closed(json.ws)
    json.send({type: 'publish', topic: 'big/one', payload: 'x'.repeat(70 * 1024)})
    expect((await closing).code).toBe(1009)
    const mq = await mqtt__connect(tcpUrl)
    await mq.publishAsync('big/after', 'fine')
    expect(await other.next({type: 'message'})).toMatchObject({topic: 'big/after', payload: 'fine'})
  })

  it('a client sending requests without reading the replies is slowed down, and loses nothing', async () => {
    const json = await jsonClient()
    json.send({type: 'ping', id: 'first'})
    await json.next({type: 'pong', id: 'first'})
    json.ws.pause() // stop reading: replies back up towards the gateway
    const id = 'x'.repeat(1000)
    const count = 20_000
    for (let i = 0; i < count; i++) json.send({type: 'ping', id})
    // The gateway stops reading requests once ~1 MiB of replies wait: most of the 20 MB stays on our side.
    await new Promise((r) => setTimeout(r, 1500))
    expect(json.ws.bufferedAmount).toBeGreaterThan(5_000_000)
    json.ws.resume()
    await expect.poll(() => json.received.filter((m) => m.type === 'pong' && m.id === id).length, {timeout: 20_000}).toBe(count)
  })

  it('a JSON client leaving is an orderly disconnect for the broker', async () => {
    const json = await jsonClient()
    json.send({type: 'connect', clientId: 'json-leaver'})
    await json.next({type: 'connected'})
    const gone = new Promise<string>((resolve) => {
      broker.on('clientDisconnected', (client: ClientInfo) => {
        if (client.id === 'json-leaver') resolve(client.id)
      })
    })
    json.ws.close()
    expect(await gone).toBe('json-leaver')
  })
})
