/**
 * `mqttkit broker --store redis://...` through the built CLI against a real redis-server: the banner names the
 * store, a persistent session and its queue survive `kill -9` of the broker, `--cluster-name` and MQTTKIT_STORE
 * are honoured, and an unreachable Redis stops the broker at start with one clear sentence.
 */
import {existsSync} from 'node:fs'
import mqtt from 'mqtt'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {Redis} from 'ioredis'
import {REDIS_SERVER, type RunningRedis, redis__cleanup, redis__start, requireRedis} from '../helpers/redis.js'
import {BrokerProcess} from './broker-process.js'

let redis: RunningRedis | undefined
const brokers: BrokerProcess[] = []
beforeAll(async () => {
  if (existsSync(REDIS_SERVER)) redis = await redis__start()
})
beforeEach((ctx) => {
  requireRedis(ctx)
})
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.kill9()
})
afterAll(redis__cleanup)

/** oclif wraps error lines at the terminal width and prefixes them with ›: one line again. */
function oneLine(output: string): string {
  return output.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ')
}

async function waitFor(what: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
}

describe('mqttkit broker --store redis://', () => {
  it('names the store in the banner, and a persistent session with its queue survives kill -9 [MQTT-3.1.2-4]', async () => {
    const args = ['--store', redis!.url, '--cluster-name', 'cli-a']
    let broker = await BrokerProcess.start(args)
    brokers.push(broker)
    await waitFor(() => broker.output.includes('store: redis://'))
    expect(broker.output).toContain(`store: redis://127.0.0.1:${redis!.port}/0 (cluster cli-a)`)

    const url = `mqtt://127.0.0.1:${broker.port}`
    const sub = await mqtt.connectAsync(url, {clientId: 'keeper', clean: false, reconnectPeriod: 0})
    await sub.subscribeAsync('q/t', {qos: 1})
    await sub.endAsync()
    const pub = await mqtt.connectAsync(url, {clientId: 'pub', reconnectPeriod: 0})
    // PUBACK comes only after the queue entry is committed to Redis, so kill -9 right after loses nothing.
    for (let i = 0; i < 20; i++) await pub.publishAsync('q/t', `m${i}`, {qos: 1})
    await pub.endAsync()
    await broker.kill9()

    const inspect = new Redis(redis!.url)
    const keys = await inspect.keys('{cli-a}:*').finally(() => inspect.quit())
    expect(keys).toEqual(expect.arrayContaining(['{cli-a}:sessions', '{cli-a}:q:keeper']))

    broker = await BrokerProcess.start(args, broker.port)
    brokers.push(broker)
    const got: string[] = []
    // The handler is in place before CONNACK: the queue follows it at once.
    const back = mqtt.connect(url, {clientId: 'keeper', clean: false, reconnectPeriod: 0})
    back.on('message', (_t, payload) => got.push(payload.toString()))
    await waitFor(() => got.length >= 20)
    await back.endAsync()
    expect(got).toEqual(Array.from({length: 20}, (_, i) => `m${i}`))
  })

  it('MQTTKIT_STORE chooses it too', async () => {
    process.env.MQTTKIT_STORE = redis!.url
    try {
      const broker = await BrokerProcess.start(['--cluster-name', 'from-env'])
      brokers.push(broker)
      await waitFor(() => broker.output.includes('store:'))
      expect(broker.output).toContain('(cluster from-env)')
    } finally {
      delete process.env.MQTTKIT_STORE
    }
  })

  it('an unreachable Redis stops the broker at start with a clear sentence', async () => {
    const {code, output} = await BrokerProcess.refuse(['--store', 'redis://127.0.0.1:1/0'])
    expect(code).toBe(1)
    expect(oneLine(output)).toMatch(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0: .*ECONNREFUSED/)
  })

  it('a bad Redis URL or a Redis Cluster URL is refused before anything starts', async () => {
    const bad = await BrokerProcess.refuse(['--store', 'redis://127.0.0.1:6379/notanumber'])
    expect(bad.code).toBe(1)
    expect(oneLine(bad.output)).toMatch(/the database must be a number/)
    const cluster = await BrokerProcess.refuse(['--store', 'redis+cluster://127.0.0.1:7000'])
    expect(oneLine(cluster.output)).toMatch(/Redis Cluster .* not supported yet/)
  })
})
