/**
 * `mqttkit retained list|clear` (the built CLI) against a real mosquitto and against mqttkit: it works over plain
 * MQTT, so both must give the same answers. Retained messages are set up with mqtt.js.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {cli__cleanup, cli__mqttjs, cli__run, cli__startMosquitto, cli__startMqttkit, mosquittoPath} from '../helpers/cli.js'
import {requireProgram} from '../helpers/system.js'

afterEach(cli__cleanup)

type Kind = 'mqttkit' | 'mosquitto'

async function start(kind: Kind, ctx: {skip(note?: string): void}, options: Record<string, unknown> = {}): Promise<number> {
  if (kind === 'mosquitto') {
    requireProgram(ctx, mosquittoPath, 'mosquitto')
    return (await cli__startMosquitto()).port
  }
  return (await cli__startMqttkit({sysInterval: 0, ...options})).port
}

async function seed(port: number, messages: Array<[string, string, 0 | 1 | 2, number?]>): Promise<void> {
  const client = await cli__mqttjs(port, {protocolVersion: 5})
  for (const [topic, payload, qos, expiry] of messages) {
    await client.publishAsync(topic, payload, {qos, retain: true, properties: expiry === undefined ? undefined : {messageExpiryInterval: expiry}})
  }
  await client.endAsync()
}

const json = (stdout: Buffer) => JSON.parse(stdout.toString()) as Record<string, unknown>

describe.each<Kind>(['mqttkit', 'mosquitto'])('mqttkit retained against %s', (kind) => {
  it('[MQTT-3.3.1-8] [MQTT-4.7.2-1] list: topic, size, QoS and MQTT 5 expiry of the matching retained messages, $ topics only when named', async (ctx) => {
    const port = await start(kind, ctx)
    await seed(port, [
      ['house/kitchen/temp', '21.5', 1],
      ['house/hall/temp', '19', 0],
      ['house/kitchen', 'k', 2],
      ['garden/temp', '12', 1, 3600],
      ['$app/state', 'up', 0],
    ])
    const plus = await cli__run(['retained', 'list', '-p', String(port), '-t', 'house/+/temp', '--json'])
    expect(plus.code, plus.stderr).toBe(0)
    expect(json(plus.stdout)).toMatchObject({
      count: 2,
      bytes: 6,
      messages: [
        {topic: 'house/hall/temp', size: 2, qos: 0, payload: '19'},
        {topic: 'house/kitchen/temp', size: 4, qos: 1, payload: '21.5'},
      ],
    })
    const all = json((await cli__run(['retained', 'list', '-p', String(port), '-t', '#', '--json'])).stdout) as {messages: Array<{topic: string; qos: number; expiresIn?: number}>}
    expect(all.messages.map((m) => m.topic)).toEqual(['garden/temp', 'house/hall/temp', 'house/kitchen', 'house/kitchen/temp'])
    expect(all.messages.find((m) => m.topic === 'house/kitchen')!.qos).toBe(2)
    const garden = all.messages.find((m) => m.topic === 'garden/temp')!
    expect(garden.expiresIn).toBeGreaterThan(3500)
    expect(garden.expiresIn).toBeLessThanOrEqual(3600)
    const dollar = json((await cli__run(['retained', 'list', '-p', String(port), '-t', '$app/#', '--json'])).stdout)
    expect(dollar).toMatchObject({count: 1, messages: [{topic: '$app/state'}]})
    // The human table.
    const table = await cli__run(['retained', 'list', '-p', String(port), '-t', 'garden/#'], {env: {NO_COLOR: '1'}})
    expect(table.stdout.toString()).toMatch(/^TOPIC\s+SIZE\s+QOS\s+AGE\/EXPIRES\s+PAYLOAD\ngarden\/temp\s+2\s+1\s+in \d+s\s+12\n1 retained message\(s\), 2 byte\(s\), matching garden\/#\n$/)
  }, 60_000)

  it('clear: deletes up to 10 without asking, a new subscriber then gets none, and another topic stays', async (ctx) => {
    const port = await start(kind, ctx)
    await seed(port, [['c/1', 'a', 1], ['c/2', 'b', 0], ['keep/1', 'k', 1]])
    const cleared = await cli__run(['retained', 'clear', '-p', String(port), '-t', 'c/#', '--json'])
    expect(cleared.code, cleared.stderr).toBe(0)
    expect(json(cleared.stdout)).toEqual({filters: ['c/#'], matched: 2, cleared: ['c/1', 'c/2'], refused: [], remaining: []})
    const after = json((await cli__run(['retained', 'list', '-p', String(port), '-t', '#', '--json'])).stdout)
    expect(after).toMatchObject({count: 1, messages: [{topic: 'keep/1'}]})
  }, 60_000)

  it('clear: more than 10 topics need --yes (stdin is no terminal: exit 1, nothing cleared); --dry-run only lists', async (ctx) => {
    const port = await start(kind, ctx)
    await seed(port, Array.from({length: 12}, (_, i) => [`many/${i}`, `v${i}`, 0] as [string, string, 0]))
    const refused = await cli__run(['retained', 'clear', '-p', String(port), '-t', 'many/#'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/12 retained messages match many\/#: clear them all\? Not confirmed: pass --yes/)
    const dry = await cli__run(['retained', 'clear', '-p', String(port), '-t', 'many/#', '--dry-run', '--json'])
    expect(json(dry.stdout)).toMatchObject({matched: 12, cleared: []})
    expect(json((await cli__run(['retained', 'list', '-p', String(port), '-t', 'many/#', '--json'])).stdout)).toMatchObject({count: 12})
    const yes = await cli__run(['retained', 'clear', '-p', String(port), '-t', 'many/#', '--yes'], {env: {NO_COLOR: '1'}})
    expect(yes.code, yes.stderr).toBe(0)
    expect(yes.stdout.toString()).toMatch(/12 of 12 retained message\(s\) cleared/)
    expect(json((await cli__run(['retained', 'list', '-p', String(port), '-t', 'many/#', '--json'])).stdout)).toMatchObject({count: 0})
  }, 60_000)

  it('bad input: no filter, an invalid filter, a $share filter: exit 1 with a clear message', async (ctx) => {
    const port = await start(kind, ctx)
    const none = await cli__run(['retained', 'list', '-p', String(port)])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/missing topic filter/)
    const bad = await cli__run(['retained', 'clear', '-p', String(port), '-t', 'a/#/b'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/bad topic filter "a\/#\/b"/)
    const shared = await cli__run(['retained', 'list', '-p', String(port), '-t', '$share/g/a'])
    expect(shared.code).toBe(1)
    expect(shared.stderr).toMatch(/shared subscription gets no retained messages/)
  }, 60_000)
})

describe('mqttkit retained against an mqttkit broker that refuses', () => {
  it('a refused clear (MQTT 5 PUBACK 0x87) and what stays retained are reported, exit 3', async () => {
    const port = (await cli__startMqttkit({sysInterval: 0, hooks: {authorizePublish: (_c: unknown, m: {topic: string; payload: Buffer}) => !(m.topic === 'locked' && m.payload.length === 0)}})).port
    await seed(port, [['locked', 'x', 1], ['open', 'y', 1]])
    const result = await cli__run(['retained', 'clear', '-p', String(port), '-t', '+', '--json'])
    expect(result.code).toBe(3)
    expect(json(result.stdout)).toEqual({filters: ['+'], matched: 2, cleared: ['open'], refused: [{topic: 'locked', reason: 'not authorized (0x87)'}], remaining: ['locked']})
  }, 60_000)

  it('a refused subscription is exit 3 naming the filter', async () => {
    const port = (await cli__startMqttkit({sysInterval: 0, hooks: {authorizeSubscribe: () => false}})).port
    const result = await cli__run(['retained', 'list', '-p', String(port), '-t', 'x/#'])
    expect(result.code, result.stderr).toBe(3)
    expect(result.stderr).toMatch(/refused the subscription to "x\/#" \(not authorized \(0x87\)\)/)
  }, 60_000)
})
