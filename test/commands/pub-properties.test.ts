/**
 * MQTT 5 on `pub`: properties by name and by mosquitto's -D, topic aliases, the payload format check, and the one
 * MQTT 5 → 3.1.1 retry when a broker refuses the protocol version.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {
  cli__cleanup,
  cli__collect,
  cli__mqttjs,
  cli__run,
  cli__startMqttkit,
  cli__startV311Only,
} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

const host = ['-h', '127.0.0.1']

describe('pub MQTT 5 properties', () => {
  it('named flags and -D set user properties, content type, expiry, response topic, correlation data, payload format [MQTT-3.3.2-15] [MQTT-3.3.2-18]', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port, {protocolVersion: 5})
    const wait = await cli__collect(peer, 'props/+', 2, {qos: 1})
    const [named, dashD] = await Promise.all([
      cli__run([
        'pub', ...host, '-p', port, '-t', 'props/named', '-m', 'hello', '-q', '1',
        '--user-property', 'a=1', '--user-property', 'b: two', '--user-property', 'a=3',
        '--content-type', 'text/plain', '--message-expiry', '120', '--response-topic', 'reply/to',
        '--correlation-data', 'req-7', '--payload-format-indicator',
      ]),
      cli__run([
        'pub', ...host, '-p', port, '-t', 'props/dashd', '-m', 'hi', '-q', '1',
        '-D', 'publish', 'user-property', 'k', 'v', '-D', 'publish', 'content-type', 'application/json',
        '-D', 'publish', 'message-expiry-interval', '60', '-D', 'publish', 'response-topic', 'r/t',
        '-D', 'publish', 'correlation-data', 'c', '-D', 'publish', 'payload-format-indicator', '1',
        '-D', 'connect', 'session-expiry-interval', '30', '-D', 'connect', 'receive-maximum', '10',
      ]),
    ])
    expect(named.code, named.stderr).toBe(0)
    expect(dashD.code, dashD.stderr).toBe(0)
    const got = Object.fromEntries((await wait()).map((m) => [m.topic, m.packet.properties]))
    expect(got['props/named']).toMatchObject({
      userProperties: {a: ['1', '3'], b: 'two'},
      contentType: 'text/plain',
      responseTopic: 'reply/to',
      correlationData: Buffer.from('req-7'),
      payloadFormatIndicator: true,
    })
    // The broker forwards the remaining lifetime [MQTT-3.3.2-6].
    expect(got['props/named']!.messageExpiryInterval).toBeGreaterThan(100)
    expect(got['props/named']!.messageExpiryInterval).toBeLessThanOrEqual(120)
    expect(got['props/dashd']).toMatchObject({
      userProperties: {k: 'v'},
      contentType: 'application/json',
      responseTopic: 'r/t',
      correlationData: Buffer.from('c'),
      payloadFormatIndicator: true,
    })
  })

  it('bad -D forms, a wildcard response topic and a non-UTF-8 payload with --payload-format-indicator exit 1', async () => {
    const base = ['pub', '-p', '9', '-t', 'a']
    const results = await Promise.all([
      cli__run([...base, '-m', 'x', '-D', 'publish', 'no-such-property', '1']),
      cli__run([...base, '-m', 'x', '-D', 'subscribe', 'user-property', 'k', 'v']),
      cli__run([...base, '-m', 'x', '-D', 'publish', 'message-expiry-interval', 'soon']),
      cli__run([...base, '-m', 'x', '-D', 'publish', 'user-property', 'only-key']),
      cli__run([...base, '-m', 'x', '--response-topic', 'a/#']),
      cli__run([...base, '-m', 'x', '--user-property', 'novalue']),
    ])
    const messages = [
      /-D publish: unknown property "no-such-property"/,
      /-D "subscribe": this command sends properties with connect, publish, will/,
      /-D message-expiry-interval needs a whole number/,
      /-D publish user-property needs a key and a value/,
      /--response-topic "a\/#" must not contain \+ or #/,
      /--user-property "novalue" must look like key=value/,
    ]
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(messages[i]!)
    })
    const broker = await cli__startMqttkit()
    const binary = await cli__run(['pub', ...['-h', '127.0.0.1'], '-p', String(broker.port), '-t', 'a', '-m', 'ff', '--format', 'hex', '--payload-format-indicator'])
    expect(binary.code).toBe(1)
    expect(binary.stderr).toBe('Error: message 1 is not UTF-8 but --payload-format-indicator says it is\n')
  })

  it('--topic-alias: the first PUBLISH carries topic and alias, the next ones only the alias [MQTT-3.3.2-12]; above the broker maximum exits 3', async () => {
    const broker = await cli__startMqttkit({topicAliasMaximum: 4})
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port, {protocolVersion: 5})
    const wait = await cli__collect(peer, 'alias/t', 3, {qos: 1})
    const r = await cli__run(['pub', ...host, '-p', port, '-t', 'alias/t', '-m', 'm', '-q', '1', '--topic-alias', '2', '--repeat', '3', '-d'])
    expect(r.code, r.stderr).toBe(0)
    const sent = r.stderr.split('\n').filter((l) => l.startsWith('sent     PUBLISH'))
    expect(sent).toHaveLength(3)
    expect(sent[0]).toMatch(/'alias\/t'/)
    expect(sent[1]).toMatch(/, '',/)
    expect(sent[2]).toMatch(/, '',/)
    // The subscriber sees the full topic every time: the broker resolved the alias.
    expect((await wait()).map((m) => m.topic)).toEqual(['alias/t', 'alias/t', 'alias/t'])

    const tooHigh = await cli__run(['pub', ...host, '-p', port, '-t', 'alias/t', '-m', 'm', '--topic-alias', '5'])
    expect(tooHigh.code).toBe(3)
    expect(tooHigh.stderr).toBe("Error: --topic-alias 5 is above the broker's Topic Alias Maximum (4)\n")
  })
})

describe('pub respects the limits of the CONNACK', () => {
  it('QoS above Maximum QoS and retain without Retain Available exit 3 before sending [MQTT-3.2.2-11] [MQTT-3.2.2-14]', async () => {
    const broker = await cli__startMqttkit({maxQos: 1, retainAvailable: false})
    const base = ['pub', ...host, '-p', String(broker.port), '-t', 'limits', '-m', 'x', '-d']
    const [qos2, retained, fine] = await Promise.all([
      cli__run([...base, '-q', '2']),
      cli__run([...base, '-r']),
      cli__run([...base, '-q', '1']),
    ])
    expect(qos2.code).toBe(3)
    expect(qos2.stderr).toMatch(/Error: the broker accepts QoS up to 1, not 2\n$/)
    expect(qos2.stderr).not.toMatch(/sent {5}PUBLISH/)
    expect(retained.code).toBe(3)
    expect(retained.stderr).toMatch(/Error: the broker does not support retained messages\n$/)
    expect(fine.code, fine.stderr).toBe(0)
  })
})

describe('MQTT 5 → 3.1.1 fallback', () => {
  it('without -V: a refusal of MQTT 5 retries once with 3.1.1, says so on stderr (not with --quiet), delivers [MQTT-3.1.2-2]', async () => {
    const broker = await cli__startMqttkit()
    const old = await cli__startV311Only(broker.port)
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'old/broker', 1)
    const r = await cli__run(['pub', ...host, '-p', String(old.port), '-t', 'old/broker', '-m', 'via 3.1.1', '-q', '1', '--user-property', 'a=b', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/refused MQTT 5 \(unacceptable protocol version \(1\)\); retrying once with MQTT 3\.1\.1/)
    expect(r.stderr).toMatch(/MQTT 5 properties are not sent/)
    expect(JSON.parse(r.stdout.toString())).toMatchObject({protocolVersion: '3.1.1', completed: 1})
    expect(old.versions).toEqual([5, 4])
    expect((await wait())[0]!.payload.toString()).toBe('via 3.1.1')
    // --quiet keeps those notes off stderr.
    const quiet = await cli__run(['pub', ...host, '-p', String(old.port), '-t', 'old/broker', '-m', 'q', '--user-property', 'a=b', '--quiet'])
    expect(quiet.code, quiet.stderr).toBe(0)
    expect(quiet.stderr).toBe('')
  })

  it('with -V 5 there is no retry: exit 3 with the reason; sub falls back too', async () => {
    const broker = await cli__startMqttkit()
    const old = await cli__startV311Only(broker.port)
    const [explicit, sub] = await Promise.all([
      cli__run(['pub', ...host, '-p', String(old.port), '-t', 't', '-m', 'x', '-V', '5']),
      cli__run(['sub', ...host, '-p', String(old.port), '-t', 't', '-W', '1']),
    ])
    expect(explicit.code).toBe(3)
    expect(explicit.stderr).toBe(`Error: mqtt://127.0.0.1:${old.port} refused the connection: unacceptable protocol version (1)\n`)
    expect(sub.code, sub.stderr).toBe(0)
    expect(sub.stderr).toMatch(/retrying once with MQTT 3\.1\.1/)
    expect(old.versions.filter((v) => v === 4)).toHaveLength(1)
  })
})
