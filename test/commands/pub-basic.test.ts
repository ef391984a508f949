/**
 * `mqttkit pub` through the built binary, against the mqttkit broker and a real mosquitto, checked by mqtt.js.
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {
  cli__cleanup,
  cli__collect,
  cli__mqttjs,
  cli__run,
  cli__startMosquitto,
  cli__startMqttkit,
  mosquittoPath,
  type TestBrokerHandle,
} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

const brokers: Array<[string, (ctx: {skip(note?: string): void}) => Promise<TestBrokerHandle | undefined>]> = [
  ['mqttkit', async () => cli__startMqttkit()],
  ['mosquitto', async (ctx) => (requireProgram(ctx, mosquittoPath, 'mosquitto') ? cli__startMosquitto() : undefined)],
]

type Start = (ctx: {skip(note?: string): void}) => Promise<TestBrokerHandle | undefined>

/** The wire-level cases run against both brokers; the CLI-only ones (formats, repeat, --json) against mqttkit. */
function wireTests(start: Start): void {
  it('-m at QoS 0, 1 and 2 delivers the message with that QoS [MQTT-3.3.1-1]', async (ctx) => {
    const broker = (await start(ctx))!
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/qos/+', 3, {qos: 2})
    const runs = await Promise.all(
      ['0', '1', '2'].map((qos) => cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', `pub/qos/${qos}`, '-m', `at ${qos}`, '-q', qos])),
    )
    for (const r of runs) {
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
    }
    const got = await wait()
    const byTopic = Object.fromEntries(got.map((m) => [m.topic, m]))
    for (const qos of [0, 1, 2]) {
      expect(byTopic[`pub/qos/${qos}`]!.payload.toString()).toBe(`at ${qos}`)
      expect(byTopic[`pub/qos/${qos}`]!.packet.qos).toBe(qos)
    }
  })

  it('-r retains the message for later subscribers, -n -r clears it [MQTT-3.3.1-5] [MQTT-3.3.1-10]', async (ctx) => {
    const broker = (await start(ctx))!
    const port = String(broker.port)
    expect((await cli__run(['pub', '-p', port, '-h', '127.0.0.1', '-t', 'pub/retained', '-m', 'kept', '-r', '-q', '1'])).code).toBe(0)
    const later = await cli__mqttjs(broker.port)
    const wait = await cli__collect(later, 'pub/retained', 1)
    const [msg] = await wait()
    expect(msg!.payload.toString()).toBe('kept')
    expect(msg!.packet.retain).toBe(true)
    expect((await cli__run(['pub', '-p', port, '-h', '127.0.0.1', '-t', 'pub/retained', '-n', '-r', '-q', '1'])).code).toBe(0)
    const third = await cli__mqttjs(broker.port)
    const got: Buffer[] = []
    third.on('message', (_t, payload) => got.push(payload))
    await third.subscribeAsync('pub/retained', {qos: 1})
    await new Promise((r) => setTimeout(r, 300))
    expect(got).toEqual([])
  })

  it('-f sends a binary file byte for byte (all 256 byte values, NUL and CR/LF included)', async (ctx) => {
    const broker = (await start(ctx))!
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-pub-'))
    const bytes = Buffer.concat([Buffer.from(Array.from({length: 256}, (_, i) => i)), randomBytes(64 * 1024)])
    writeFileSync(join(dir, 'blob.bin'), bytes)
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/file', 1)
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'pub/file', '-f', join(dir, 'blob.bin'), '-q', '1'])
    expect(r.code).toBe(0)
    const [msg] = await wait()
    expect(Buffer.compare(msg!.payload, bytes)).toBe(0)
  })

}

function cliTests(start: Start): void {
  it('-s sends all of stdin as one binary-safe message', async (ctx) => {
    const broker = (await start(ctx))!
    const bytes = Buffer.from([0, 10, 13, 255, 10, 0, 0x80])
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/stdin', 1)
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'pub/stdin', '-s', '-q', '1'], {input: bytes})
    expect(r.code).toBe(0)
    const [msg] = await wait()
    expect([...msg!.payload]).toEqual([...bytes])
  })

  it('-n sends a zero-length payload', async (ctx) => {
    const broker = (await start(ctx))!
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/null', 1)
    expect((await cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'pub/null', '-n'])).code).toBe(0)
    const [msg] = await wait()
    expect(msg!.payload.length).toBe(0)
  })

  it('--format hex, base64 and json decode or check -m before sending', async (ctx) => {
    const broker = (await start(ctx))!
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/fmt/+', 3)
    const runs = await Promise.all([
      cli__run(['pub', '-h', '127.0.0.1', '-p', port, '-t', 'pub/fmt/hex', '-m', '00ff 10', '--format', 'hex', '-q', '1']),
      cli__run(['pub', '-h', '127.0.0.1', '-p', port, '-t', 'pub/fmt/b64', '-m', Buffer.from([1, 2, 250]).toString('base64'), '--format', 'base64', '-q', '1']),
      cli__run(['pub', '-h', '127.0.0.1', '-p', port, '-t', 'pub/fmt/json', '-m', '{"a": [1, 2]}', '--format', 'json', '-q', '1']),
    ])
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0])
    const got = Object.fromEntries((await wait()).map((m) => [m.topic, m.payload]))
    expect([...got['pub/fmt/hex']!]).toEqual([0x00, 0xff, 0x10])
    expect([...got['pub/fmt/b64']!]).toEqual([1, 2, 250])
    expect(got['pub/fmt/json']!.toString()).toBe('{"a": [1, 2]}')
  })

  it('--repeat N --interval MS sends N messages spaced by the interval, all acknowledged', async (ctx) => {
    const broker = (await start(ctx))!
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'pub/repeat', 4)
    const started = Date.now()
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'pub/repeat', '-m', 'again', '-q', '1', '--repeat', '4', '--interval', '150', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout.toString())).toMatchObject({messages: 4, completed: 4, qos: 1, topic: 'pub/repeat'})
    const got = await wait()
    expect(got.map((m) => m.payload.toString())).toEqual(['again', 'again', 'again', 'again'])
    // Three gaps of 150 ms at least between the first and the last message.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450)
  })

  it('--json returns the typed result on stdout', async (ctx) => {
    const broker = (await start(ctx))!
    const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'pub/json', '-m', 'abc', '-q', '2', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout.toString())).toEqual({
      topic: 'pub/json', qos: 2, retain: false, messages: 1, bytes: 3, completed: 1, protocolVersion: '5', interrupted: false,
    })
  })
}

describe('pub against mqttkit', () => {
  wireTests(brokers[0]![1])
  cliTests(brokers[0]![1])
})

describe('pub against mosquitto', () => {
  wireTests(brokers[1]![1])
})
