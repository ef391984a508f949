/**
 * The pure parts of src/client/ without a process per case: URL and flag interpretation, protocol version names,
 * template compilation and rendering, byte-level line splitting, payload formats, -D parsing.
 */
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {input__lines} from '../../src/client/input.js'
import {client__mqttOptions, client__parseProtocolVersion, client__settingsFromFlags} from '../../src/client/options.js'
import {payload__decode, payload__encode, payload__toJson} from '../../src/client/payload.js'
import {properties__fromFlags} from '../../src/client/properties.js'
import {template__compile, template__render} from '../../src/client/template.js'
import type {ReceivedMessage} from '../../src/client/record.js'

describe('options', () => {
  it('URLs: schemes and aliases, default ports, IPv6, percent-decoded credentials, topic path, ws path', () => {
    const s = (url: string, extra = {}) => client__settingsFromFlags({url, ...extra}, 'pub')
    expect(s('mqtt://u%40x:p%3A1@example.com/a/b/%23').target).toMatchObject({protocol: 'mqtt', host: 'example.com', port: 1883, urlTopic: 'a/b/#'})
    expect(s('mqtt://u%40x:p%3A1@example.com/a').username).toBe('u@x')
    expect(s('mqtt://u%40x:p%3A1@example.com/a').password).toBe('p:1')
    expect(s('mqtt://h/sensors/#').target.urlTopic).toBe('sensors/#')
    expect(s('tcp://h').target.protocol).toBe('mqtt')
    expect(s('ssl://h').target).toMatchObject({protocol: 'mqtts', port: 8883, tls: {rejectUnauthorized: true, servername: 'h'}})
    expect(s('wss://[::1]:9001').target).toMatchObject({protocol: 'wss', host: '::1', port: 9001, path: '/mqtt', display: 'wss://[::1]:9001/mqtt'})
    expect(s('wss://[::1]:9001').target.tls!.servername).toBeUndefined()
    expect(s('ws://h/custom').target).toMatchObject({port: 80, path: '/custom', urlTopic: undefined})
    // Explicit flags win over the URL.
    expect(s('mqtt://u:p@h:1000/t', {host: 'other', port: 2000, username: 'v'}).target).toMatchObject({host: 'other', port: 2000})
    expect(s('mqtt://u:p@h:1000/t', {username: 'v'}).username).toBe('v')
    expect(() => s('mqtt://h/%E0%A4%A')).toThrow(/malformed percent-encoding/)
  })

  it('--tls, --cafile and --cert imply TLS; --insecure alone is refused; defaults', () => {
    const base = client__settingsFromFlags({}, 'sub')
    expect(base.target).toMatchObject({protocol: 'mqtt', host: 'localhost', port: 1883})
    expect(base).toMatchObject({protocolVersion: 5, protocolVersionGiven: false, keepalive: 60, clean: true, connectTimeoutMs: 10_000})
    expect(base.clientId).toMatch(/^mqttkit-sub-[0-9a-f]{8}$/)
    expect(client__settingsFromFlags({tls: true, insecure: true}, 'pub').target).toMatchObject({protocol: 'mqtts', port: 8883, tls: {rejectUnauthorized: false}})
    expect(() => client__settingsFromFlags({insecure: true}, 'pub')).toThrow(/--insecure only applies to TLS/)
    expect(() => client__settingsFromFlags({cafile: '/nonexistent'}, 'pub')).toThrow(/cannot read --cafile \/nonexistent: ENOENT/)
    expect(client__settingsFromFlags({'disable-clean-session': true}, 'pub').clean).toBe(false)
    expect(() => client__settingsFromFlags({'session-expiry': 5, 'protocol-version': 4}, 'pub')).toThrow(/needs MQTT 5/)
    expect(() => client__settingsFromFlags({'will-topic': 'a/+'}, 'pub')).toThrow(/must not contain/)
  })

  it('mqtt.js options: 3.1 uses MQIsdp, session expiry and will delay only in MQTT 5, reconnection off by default', () => {
    const v31 = client__mqttOptions(client__settingsFromFlags({'protocol-version': 3}, 'pub'))
    expect(v31).toMatchObject({protocolVersion: 3, protocolId: 'MQIsdp', reconnectPeriod: 0})
    const v5 = client__mqttOptions(
      client__settingsFromFlags({'session-expiry': 60, 'will-topic': 'w', 'will-payload': 'bye', 'will-qos': 1, 'will-delay': 5}, 'pub'),
    )
    expect(v5.properties).toEqual({sessionExpiryInterval: 60})
    expect(v5.will).toMatchObject({topic: 'w', qos: 1, retain: false, properties: {willDelayInterval: 5}})
    const fallback = client__mqttOptions(client__settingsFromFlags({'session-expiry': 60}, 'pub'), {version: 4})
    expect(fallback.properties).toBeUndefined()
  })

  it('protocol version names', () => {
    for (const name of ['3', '3.1', '31', 'mqttv31', 'MQTTv31']) expect(client__parseProtocolVersion(name)).toBe(3)
    for (const name of ['4', '3.1.1', '311', 'mqttv311']) expect(client__parseProtocolVersion(name)).toBe(4)
    for (const name of ['5', '5.0', 'mqttv5', 'v5']) expect(client__parseProtocolVersion(name)).toBe(5)
    for (const name of ['6', '', '3.2', 'mqtt']) expect(client__parseProtocolVersion(name)).toBeUndefined()
  })
})

describe('templates', () => {
  const message: ReceivedMessage = {
    topic: 'a/b', payload: Buffer.from([0x68, 0x69, 0x00]), qos: 2, retain: true, messageId: 7,
    properties: {userProperties: {k: ['1', '2'], z: 'y'}, topicAlias: 3}, timeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 0.25,
  }
  const render = (t: string) => template__render(template__compile(t), message)
  it('fields, widths, precision, escapes, literal % and @', () => {
    expect(render('%t %q %r %m %l %x %X')).toEqual(Buffer.from('a/b 2 1 7 3 686900 686900'))
    expect(render('[%-5t][%5t][%03q][%.1t][%-3.1t]')).toEqual(Buffer.from('[a/b  ][  a/b][002][a][a  ]'))
    expect(render('%p')).toEqual(message.payload)
    expect(render('%P|%A|%C')).toEqual(Buffer.from('k:1 k:2 z:y|3|'))
    expect(render('100%% @@ \\t\\n\\\\ \\q')).toEqual(Buffer.from('100% @ \t\n\\ \\q'))
    expect(render('%U')).toEqual(Buffer.from('1767323045.678250000'))
    expect(render('@s @N')).toEqual(Buffer.from('1767323045 678250000'))
    expect(JSON.parse(render('%J').toString())).toMatchObject({topic: 'a/b', qos: 2, retain: 1, mid: 7, payloadlen: 3, tst: '2026-01-02T03:04:05.678250Z'})
  })

  it('unknown fields are errors', () => {
    expect(() => template__compile('%Z')).toThrow(/unknown field "%Z"/)
    expect(() => template__compile('%')).toThrow(/unknown field "%"/)
    expect(() => template__compile('@Q')).toThrow(/unknown time field "@Q"/)
  })
})

describe('input and payloads', () => {
  it('-l splits on bytes across chunk boundaries, strips CR, skips empty lines, keeps a last line without newline', async () => {
    const chunks = [Buffer.from('on'), Buffer.from('e\r'), Buffer.from('\n\n\ntw'), Buffer.from([0x6f, 0x0a, 0xff, 0x00, 0x0a]), Buffer.from('last')]
    const got: Buffer[] = []
    for await (const line of input__lines(Readable.from(chunks), 'text')) got.push(line)
    expect(got).toEqual([Buffer.from('one'), Buffer.from('two'), Buffer.from([0xff, 0x00]), Buffer.from('last')])
    await expect(async () => {
      for await (const _ of input__lines(Readable.from([Buffer.from('00\nzz\n')]), 'hex'));
    }).rejects.toThrow(/line 2 is not hex/)
  })

  it('formats in and out', () => {
    expect(payload__decode(Buffer.from('0x00 FF\n10'), 'hex', '-m')).toEqual(Buffer.from([0, 255, 16]))
    expect(() => payload__decode(Buffer.from('abc'), 'hex', '-m')).toThrow(/-m is not hex/)
    expect(() => payload__decode(Buffer.from('a$b'), 'base64', '-m')).toThrow(/-m is not base64/)
    expect(payload__encode(Buffer.from('{"a":[1]}'), 'json', true).toString()).toBe('{\n  "a": [\n    1\n  ]\n}')
    expect(payload__encode(Buffer.from('not json'), 'json', false).toString()).toBe('not json')
    expect(payload__toJson(Buffer.from([0xff]), 'text')).toEqual({payload: '/w==', encoding: 'base64'})
    expect(payload__toJson(Buffer.from('[1]'), 'json')).toEqual({payload: [1], encoding: 'json'})
  })

  it('-D and named properties merge; user properties keep duplicates in order', () => {
    const props = properties__fromFlags(
      {property: ['publish', 'user-property', 'k', '1', 'connect', 'receive-maximum', '5', 'will', 'will-delay-interval', '9'], 'user-property': ['k=2', 'x: y z']},
      ['connect', 'publish', 'will'],
      'publish',
    )
    expect(props.publish.userProperties).toEqual({k: ['1', '2'], x: 'y z'})
    expect(props.connect).toEqual({receiveMaximum: 5})
    expect(props.will).toEqual({willDelayInterval: 9})
    expect(() => properties__fromFlags({property: ['connect', 'receive-maximum', '0']}, ['connect'], 'publish')).toThrow(/from 1 to 65535/)
  })
})
