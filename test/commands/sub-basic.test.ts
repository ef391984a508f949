/**
 * `mqttkit sub` through the built binary: subscriptions, stop conditions, retained handling, signals.
 * Messages come from mqtt.js (a third-party publisher) unless the test is about pub | sub.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {
  cli__cleanup,
  cli__mqttjs,
  cli__run,
  cli__startMosquitto,
  cli__startMqttkit,
  cli__subscribed,
  mosquittoPath,
} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

const host = ['-h', '127.0.0.1']

describe('sub against mqttkit', () => {
  it('several -t filters with wildcards, -C stops after N messages and exits 0 [MQTT-4.7.1-2] [MQTT-4.7.1-3]', async () => {
    const broker = await cli__startMqttkit()
    const sub = await cli__subscribed([...host, '-p', String(broker.port), '-t', 'a/+/c', '-t', 'b/#', '-v', '-C', '3', '-q', '1'])
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('a/x/c', 'one', {qos: 1})
    await peer.publishAsync('zzz', 'not subscribed', {qos: 1})
    await peer.publishAsync('b', 'two', {qos: 1})
    await peer.publishAsync('b/deep/er', 'three', {qos: 1})
    await peer.publishAsync('a/x/c', 'after the count', {qos: 1})
    const r = await sub.exited
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.toString()).toBe('a/x/c one\nb two\nb/deep/er three\n')
  }, 90_000)

  it('-W ends a quiet subscription: exit 4 when -C was not reached, 0 without -C', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const [withCount, withoutCount] = await Promise.all([
      cli__run(['sub', ...host, '-p', port, '-t', 'quiet', '-W', '1', '-C', '2']),
      cli__run(['sub', ...host, '-p', port, '-t', 'quiet', '-W', '1']),
    ])
    expect(withCount.code).toBe(4)
    expect(withCount.stderr.trim()).toBe('Error: timed out after 1s with 0 of 2 message(s)')
    expect(withoutCount.code, withoutCount.stderr).toBe(0)
    expect(withoutCount.stdout.length).toBe(0)
  }, 90_000)

  it('-R skips retained messages, --retained-only prints only them and stops at the first live one [MQTT-3.3.1-9]', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('r/1', 'old one', {qos: 1, retain: true})
    await peer.publishAsync('r/2', 'old two', {qos: 1, retain: true})
    const skip = await cli__subscribed([...host, '-p', port, '-t', 'r/#', '-R', '-C', '1'])
    const only = await cli__subscribed([...host, '-p', port, '-t', 'r/#', '--retained-only'])
    await peer.publishAsync('r/1', 'live', {qos: 1})
    const [skipped, retainedOnly] = await Promise.all([skip.exited, only.exited])
    expect(skipped.code).toBe(0)
    expect(skipped.stdout.toString()).toBe('live\n')
    expect(retainedOnly.code).toBe(0)
    expect(retainedOnly.stdout.toString().split('\n').sort()).toEqual(['', 'old one', 'old two'])
  }, 90_000)

  it('--remove-retained clears every retained message it receives (empty retained publish) [MQTT-3.3.1-10]', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port)
    for (const t of ['cfg/a', 'cfg/b', 'cfg/c/d']) await peer.publishAsync(t, `value of ${t}`, {qos: 1, retain: true})
    const clear = await cli__run(['sub', ...host, '-p', port, '-t', 'cfg/#', '--remove-retained', '--retained-only', '-W', '1', '--json'])
    expect(clear.code, clear.stderr).toBe(0)
    expect(JSON.parse(clear.stdout.toString())).toMatchObject({count: 3, cleared: 3})
    const again = await cli__run(['sub', ...host, '-p', port, '-t', 'cfg/#', '-W', '1'])
    expect(again.stdout.toString()).toBe('')
  }, 90_000)

  it('--no-local drops my own publications; --retain-as-published keeps the flag; --retain-handling 2 sends no retained [MQTT-3.8.3-3] [MQTT-3.3.1-12] [MQTT-3.3.1-11]', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('opt/kept', 'retained before', {qos: 1, retain: true})
    // -F '%r %p' shows the retain flag as delivered.
    const rh2 = await cli__subscribed([...host, '-p', port, '-t', 'opt/#', '--retain-handling', '2', '--retain-as-published', '-F', '%r %p', '-C', '1'])
    const plain = await cli__subscribed([...host, '-p', port, '-t', 'opt/#', '-F', '%r %p', '-C', '2'])
    await peer.publishAsync('opt/live', 'live retained', {qos: 1, retain: true})
    const [a, b] = await Promise.all([rh2.exited, plain.exited])
    // retain-handling 2: no 'retained before'; retain-as-published: the live message keeps retain=1.
    expect(a.stdout.toString()).toBe('1 live retained\n')
    // Without RAP a live message arrives with retain 0 [MQTT-3.3.1-12]; the stored one with retain 1 [MQTT-3.3.1-9].
    expect(b.stdout.toString()).toBe('1 retained before\n0 live retained\n')

    // No Local [MQTT-3.8.3-3]: --remove-retained makes sub publish an empty retained message on a topic it is
    // subscribed to; without --no-local that publication comes back to it as a live message, with it not.
    await peer.publishAsync('nl/t', 'to clear', {qos: 1, retain: true})
    const args = ['sub', ...host, '-p', port, '-t', 'nl/#', '--remove-retained', '-W', '2', '--json', '-q', '1']
    const withNl = await cli__run([...args, '--no-local'])
    await peer.publishAsync('nl/t', 'to clear', {qos: 1, retain: true})
    const withoutNl = await cli__run(args)
    const payloads = (r: {stdout: Buffer}): string[] =>
      JSON.parse(r.stdout.toString()).messages.map((m: {payload: string}) => m.payload)
    expect(payloads(withNl)).toEqual(['to clear'])
    expect(payloads(withoutNl)).toEqual(['to clear', ''])
  }, 90_000)

  it('Ctrl-C (SIGINT) and SIGTERM end sub cleanly with exit 0', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const a = await cli__subscribed([...host, '-p', port, '-t', 'sig'])
    const b = await cli__subscribed([...host, '-p', port, '-t', 'sig'])
    a.child.kill('SIGINT')
    b.child.kill('SIGTERM')
    const [ra, rb] = await Promise.all([a.exited, b.exited])
    expect(ra.code, ra.stderr).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
  }, 90_000)

  it('refused subscriptions: a note when some are refused, exit 3 when all are (SUBACK 0x87)', async () => {
    const broker = await cli__startMqttkit({
      hooks: {authorizeSubscribe: (_c: unknown, s: {filter: string}) => !s.filter.startsWith('secret')},
    })
    const port = String(broker.port)
    const [all, some] = await Promise.all([
      cli__run(['sub', ...host, '-p', port, '-t', 'secret/a', '-W', '1']),
      cli__run(['sub', ...host, '-p', port, '-t', 'secret/a', '-t', 'open/a', '-W', '1']),
    ])
    expect(all.code).toBe(3)
    expect(all.stderr).toMatch(/Error: the broker refused every subscription: not authorized \(0x87\)/)
    expect(some.code).toBe(0)
    expect(some.stderr).toMatch(/subscription to "secret\/a" refused: not authorized \(0x87\)/)
  }, 90_000)
})

describe('sub against mosquitto', () => {
  it('receives from mosquitto with -v and --jsonl, MQTT 5 and 3.1.1', async (ctx) => {
    if (!requireProgram(ctx, mosquittoPath, 'mosquitto')) return
    const broker = await cli__startMosquitto()
    const port = String(broker.port)
    const v5 = await cli__subscribed([...host, '-p', port, '-t', 'm/#', '-v', '-C', '1'])
    const v311 = await cli__subscribed([...host, '-p', port, '-t', 'm/#', '--jsonl', '-C', '1', '-V', 'mqttv311', '-q', '1'])
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('m/x', 'hello', {qos: 1})
    const [a, b] = await Promise.all([v5.exited, v311.exited])
    expect(a.stdout.toString()).toBe('m/x hello\n')
    expect(JSON.parse(b.stdout.toString())).toMatchObject({topic: 'm/x', payload: 'hello', qos: 1, retain: false, encoding: 'utf8'})
  }, 90_000)
})
