/**
 * What `sub` prints: -F templates, --format, --jsonl, -N, --output, colours on request, binary safety.
 * One subscriber per layout, all fed by the same mqtt.js publications.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {cli__cleanup, cli__mqttjs, cli__run, cli__startMqttkit, cli__subscribed} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

const host = ['-h', '127.0.0.1']
const binary = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80, 0x41])

describe('sub output', () => {
  it('-F fields %t %p %q %r %l %x %X %% escapes and widths; %j JSON; -N; --format; binary payloads stay raw', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const args = [...host, '-p', port, '-t', 'out/#', '-q', '1', '-C', '2']
    const [template, json, noNewline, hex, b64, jsonFormat] = await Promise.all([
      cli__subscribed([...args, '-F', '%t|%p|%q|%r|%l|%x|%X|100%%|[%-6q]|[%5l]|[%05l]|[%.3t]\\t.']),
      cli__subscribed([...args, '-F', '%j']),
      cli__subscribed([...args, '-N']),
      cli__subscribed([...args, '--format', 'hex', '-v']),
      cli__subscribed([...args, '--format', 'base64']),
      cli__subscribed([...args, '--format', 'json']),
    ])
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('out/text', '{"a": 1}', {qos: 1, retain: true})
    await peer.publishAsync('out/bin', binary, {qos: 1})
    const results = await Promise.all([template, json, noNewline, hex, b64, jsonFormat].map((p) => p.exited))
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const [t, j, n, h, b, jf] = results.map((x) => x.stdout)

    // A delivered QoS 1 message keeps its QoS; the first arrives live, so retain is 0 [MQTT-3.3.1-12].
    expect(t!.toString('latin1').split('\n')[0]).toBe(
      `out/text|{"a": 1}|1|0|8|7b2261223a20317d|7B2261223A20317D|100%|[1     ]|[    8]|[00008]|[out]\t.`,
    )
    // The binary payload is written byte for byte inside the template.
    expect(t!.includes(Buffer.concat([Buffer.from('out/bin|'), binary, Buffer.from('|1|0|6|00ff0a0d8041|00FF0A0D8041|')]))).toBe(true)

    const records = j!.toString().trim().split('\n').map((line) => JSON.parse(line))
    expect(records[0]).toMatchObject({topic: 'out/text', qos: 1, retain: 0, payloadlen: 8, payload: '{"a": 1}'})
    expect(records[0].tst).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(typeof records[0].mid).toBe('number')

    expect(Buffer.compare(n!, Buffer.concat([Buffer.from('{"a": 1}'), binary]))).toBe(0)
    expect(h!.toString()).toBe('out/text 7b2261223a20317d\nout/bin 00ff0a0d8041\n')
    expect(b!.toString()).toBe(`${Buffer.from('{"a": 1}').toString('base64')}\n${binary.toString('base64')}\n`)
    // --format json in a pipe: compact JSON; not-JSON payloads as they are.
    expect(Buffer.compare(jf!, Buffer.concat([Buffer.from('{"a":1}\n'), binary, Buffer.from('\n')]))).toBe(0)
  })

  it('--jsonl: one JSON object per message with time, topic, qos, retain, payload, encoding, properties', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const sub = await cli__subscribed([...host, '-p', port, '-t', 'jl/#', '-q', '2', '-C', '3', '--jsonl'])
    const hexSub = await cli__subscribed([...host, '-p', port, '-t', 'jl/#', '-q', '2', '-C', '3', '--jsonl', '--format', 'json'])
    const peer = await cli__mqttjs(broker.port, {protocolVersion: 5})
    await peer.publishAsync('jl/a', 'plain', {qos: 2, properties: {contentType: 'text/plain', userProperties: {k: ['v1', 'v2']}}})
    await peer.publishAsync('jl/b', binary, {qos: 1, properties: {correlationData: Buffer.from('corr')}})
    await peer.publishAsync('jl/c', '{"deep": [1, {"x": null}]}', {qos: 0})
    const [r, rj] = await Promise.all([sub.exited, hexSub.exited])
    // mqtt.js hands a QoS 2 message over only at PUBREL, so a QoS 1 message sent after it may be printed first:
    // the order MQTT keeps is per topic (§4.6), so compare them by topic.
    const byTopic = (out: Buffer) =>
      out.toString().trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.topic.localeCompare(b.topic))
    const lines = byTopic(r.stdout)
    expect(lines[0]).toMatchObject({
      topic: 'jl/a', qos: 2, retain: false, payload: 'plain', encoding: 'utf8',
      properties: {contentType: 'text/plain', userProperties: {k: ['v1', 'v2']}},
    })
    expect(new Date(lines[0].time).getTime()).toBeGreaterThan(Date.now() - 120_000)
    expect(lines[1]).toMatchObject({topic: 'jl/b', qos: 1, payload: binary.toString('base64'), encoding: 'base64', properties: {correlationData: 'corr'}})
    expect(lines[2]).toMatchObject({topic: 'jl/c', qos: 0, payload: '{"deep": [1, {"x": null}]}'})
    const parsed = byTopic(rj.stdout)
    expect(parsed[2]).toMatchObject({payload: {deep: [1, {x: null}]}, encoding: 'json'})
  })

  it('MQTT 5 property fields of -F: %C %D %E %F %R %P %S, and %U %I time fields', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const sub = await cli__subscribed([
      ...host, '-p', port, '-t', 'props', '-q', '1', '-C', '1', '--subscription-identifier', '42',
      '-F', '%C|%D|%E|%F|%R|%P|%S|%U|%I|@Y-@m-@d @@',
    ])
    const peer = await cli__mqttjs(broker.port, {protocolVersion: 5})
    await peer.publishAsync('props', 'x', {
      qos: 1,
      properties: {
        contentType: 'text/x', correlationData: Buffer.from('c-1'), messageExpiryInterval: 300, payloadFormatIndicator: true,
        responseTopic: 'reply/here', userProperties: {a: '1', b: '2'},
      },
    })
    const r = await sub.exited
    const fields = r.stdout.toString().trimEnd().split('|')
    expect(fields.slice(0, 7)).toEqual(['text/x', 'c-1', expect.stringMatching(/^(300|29\d)$/), '1', 'reply/here', 'a:1 b:2', '42'])
    expect(fields[7]).toMatch(/^\d{10}\.\d{9}$/)
    expect(Math.abs(Number(fields[7]) - Date.now() / 1000)).toBeLessThan(120)
    expect(fields[8]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$/)
    expect(fields[9]).toMatch(/^\d{4}-\d\d-\d\d @$/)
  })

  it('--output appends plain lines to a file; an unwritable --output or a bad -F field exits 1', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-sub-'))
    const file = join(dir, 'messages.log')
    writeFileSync(file, 'earlier\n')
    const sub = await cli__subscribed([...host, '-p', port, '-t', 'o', '-C', '1', '-v', '--output', file], {env: {FORCE_COLOR: '1'}})
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('o', 'to the file', {qos: 1})
    const r = await sub.exited
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.length).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe('earlier\no to the file\n')

    const [noDir, badField, badTime] = await Promise.all([
      cli__run(['sub', ...host, '-p', '9', '-t', 'o', '--output', join(dir, 'missing', 'x.log')]),
      cli__run(['sub', ...host, '-p', '9', '-t', 'o', '-F', '%t %Z']),
      cli__run(['sub', ...host, '-p', '9', '-t', 'o', '-F', '@Q']),
    ])
    expect(noDir.code).toBe(1)
    expect(noDir.stderr).toMatch(/^Error: cannot write --output .*missing\/x\.log: ENOENT\n$/)
    expect(badField.code).toBe(1)
    expect(badField.stderr).toBe('Error: -F: unknown field "%Z" (see docs/cli.md for the table)\n')
    expect(badTime.stderr).toBe('Error: -F: unknown time field "@Q"\n')
  })

  it('colours follow chalk: FORCE_COLOR gives the readable coloured layout, plain otherwise; bad -t filters exit 1', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const coloured = await cli__subscribed([...host, '-p', port, '-t', 'c', '-C', '1', '-v', '-q', '1'], {env: {FORCE_COLOR: '1'}})
    const plain = await cli__subscribed([...host, '-p', port, '-t', 'c', '-C', '1', '-v', '-q', '1'], {env: {NO_COLOR: '1'}})
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('c', binary, {qos: 1, retain: true})
    const [c, p] = await Promise.all([coloured.exited, plain.exited])
    const text = c.stdout.toString()
    expect(text).toMatch(/\u001b\[/)
    // Readable layout: time, topic, QoS and retain tags, binary shown as hex instead of raw bytes.
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\u001b\[[\d;]*m/g, '')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} c q1 <6 bytes, binary, as hex> 00ff0a0d8041\n$/)
    expect(Buffer.compare(p.stdout, Buffer.concat([Buffer.from('c '), binary, Buffer.from('\n')]))).toBe(0)

    const [badPlus, badHash] = await Promise.all([
      cli__run(['sub', ...host, '-p', '9', '-t', 'a/b+']),
      cli__run(['sub', ...host, '-p', '9', '-t', 'a/#/b']),
    ])
    expect(badPlus.code).toBe(1)
    expect(badPlus.stderr).toMatch(/^Error: bad topic filter "a\/b\+": '\+' must occupy a whole level/)
    expect(badHash.code).toBe(1)
    expect(badHash.stderr).toMatch(/^Error: bad topic filter "a\/#\/b": '#' must be the last/)
  })
})
