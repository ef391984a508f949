/**
 * Every failure a `pub` user can cause ends with one line on stderr and the documented exit code
 * (docs/cli.md: 1 usage/input, 2 network, 3 refused by the broker, 4 timeout).
 */
import net from 'node:net'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {
  cli__cleanup,
  cli__freePort,
  cli__run,
  cli__startMosquitto,
  cli__startMqttkit,
  mosquittoPath,
  type CliResult,
} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

function expectOneLine(r: CliResult, code: number, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^Error: /)
  expect(lines[0]).toMatch(pattern)
  expect(r.code, r.stderr).toBe(code)
  expect(r.stderr).not.toMatch(/\n\s+at /) // never a stack trace
}

describe('pub: bad input exits 1 with one line, without connecting', () => {
  it('missing topic, wildcard topic [MQTT-3.3.2-2], empty topic, nothing to send, unreadable file, bad hex, bad JSON', async () => {
    // Port 9 (discard) is never contacted: every check happens before connecting.
    const base = ['pub', '-h', '127.0.0.1', '-p', '9']
    const [noTopic, plus, hash, empty, nothing, noFile, badHex, badJson] = await Promise.all([
      cli__run([...base, '-m', 'x']),
      cli__run([...base, '-t', 'a/+/c', '-m', 'x']),
      cli__run([...base, '-t', 'a/#', '-m', 'x']),
      cli__run([...base, '-t', '', '-m', 'x']),
      cli__run([...base, '-t', 'a']),
      cli__run([...base, '-t', 'a', '-f', '/nonexistent/file.bin']),
      cli__run([...base, '-t', 'a', '-m', 'xyz', '--format', 'hex']),
      cli__run([...base, '-t', 'a', '-m', '{nope', '--format', 'json']),
    ])
    expectOneLine(noTopic, 1, /missing topic/)
    expectOneLine(plus, 1, /bad topic "a\/\+\/c".*wildcard/)
    expectOneLine(hash, 1, /bad topic "a\/#".*wildcard/)
    expectOneLine(empty, 1, /bad topic "".*empty/)
    expectOneLine(nothing, 1, /nothing to send/)
    expectOneLine(noFile, 1, /cannot read file \/nonexistent\/file\.bin: ENOENT/)
    expectOneLine(badHex, 1, /-m is not hex/)
    expectOneLine(badJson, 1, /-m is not valid JSON/)
  })

  it('bad URL, unknown scheme, unknown MQTT version, unknown flag, conflicting sources, --repeat with -l', async () => {
    const [badUrl, scheme, version, unknown, conflict, repeatLines, v3props] = await Promise.all([
      cli__run(['pub', '-L', 'not a url', '-t', 'a', '-m', 'x']),
      cli__run(['pub', '-L', 'http://127.0.0.1:9/', '-t', 'a', '-m', 'x']),
      cli__run(['pub', '-p', '9', '-V', '7', '-t', 'a', '-m', 'x']),
      cli__run(['pub', '-p', '9', '-t', 'a', '-m', 'x', '--frobnicate']),
      cli__run(['pub', '-p', '9', '-t', 'a', '-m', 'x', '-n']),
      cli__run(['pub', '-p', '9', '-t', 'a', '-l', '--repeat', '3']),
      cli__run(['pub', '-p', '9', '-t', 'a', '-m', 'x', '-V', '311', '--content-type', 'text/plain']),
    ])
    expectOneLine(badUrl, 1, /bad URL "not a url"/)
    expectOneLine(scheme, 1, /unsupported scheme "http:"/)
    expectOneLine(version, 1, /unknown MQTT version "7"/)
    expectOneLine(unknown, 1, /--frobnicate/)
    expectOneLine(conflict, 1, /cannot also be provided/)
    expectOneLine(repeatLines, 1, /--repeat cannot be combined with -l/)
    expectOneLine(v3props, 1, /MQTT 5 properties need MQTT 5/)
  })

  it('--json puts the error on stdout as JSON with the exit code', async () => {
    const r = await cli__run(['pub', '-p', '9', '-t', 'a/#', '-m', 'x', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout.toString())).toEqual({error: {message: expect.stringMatching(/wildcard/), exitCode: 1}})
  })
})

describe('pub: network failures', () => {
  it('connection refused and DNS failure exit 2', async () => {
    const port = await cli__freePort()
    const [refused, dns] = await Promise.all([
      cli__run(['pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'a', '-m', 'x']),
      cli__run(['pub', '-h', 'no-such-host.invalid', '-t', 'a', '-m', 'x']),
    ])
    expectOneLine(refused, 2, new RegExp(`connection refused by mqtt://127\\.0\\.0\\.1:${port}`))
    expectOneLine(dns, 2, /cannot resolve host name "no-such-host\.invalid"/)
  })

  it('a server that never answers CONNECT: exit 4 after --connect-timeout', async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer((socket) => sockets.push(socket))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const {port} = silent.address() as net.AddressInfo
    try {
      const started = Date.now()
      const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'a', '-m', 'x', '--connect-timeout', '1'])
      expectOneLine(r, 4, /timed out after 1s waiting for mqtt:\/\/127\.0\.0\.1/)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })
})

describe('pub: a QoS 1 message never acknowledged', () => {
  it('the broker drops the connection after PUBLISH, before PUBACK: exit 2, never 0 [MQTT-4.3.2-1]', async () => {
    // Accepts CONNECT (MQTT 5 CONNACK, success), then closes the connection on the first PUBLISH.
    const server = net.createServer((socket) => {
      let connected = false
      socket.on('error', () => {})
      socket.on('data', () => {
        if (connected) return void socket.destroy()
        connected = true
        socket.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const {port} = server.address() as net.AddressInfo
    try {
      const r = await cli__run(['pub', '-h', '127.0.0.1', '-p', String(port), '-t', 'a', '-m', 'x', '-q', '1'])
      expectOneLine(r, 2, new RegExp(`connection to mqtt://127\\.0\\.0\\.1:${port} lost with 1 message\\(s\\) not acknowledged`))
    } finally {
      server.close()
    }
  })
})

describe('pub: refusals by the broker exit 3 with the reason code', () => {
  it('wrong password on mosquitto (password file made by mosquitto_passwd -b)', async (ctx) => {
    if (!requireProgram(ctx, mosquittoPath, 'mosquitto')) return
    const broker = await cli__startMosquitto({passwords: {alice: 'right'}})
    const base = ['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'a', '-m', 'x']
    const [wrong5, wrong311, right] = await Promise.all([
      cli__run([...base, '-u', 'alice', '-P', 'wrong']),
      cli__run([...base, '-u', 'alice', '-P', 'wrong', '-V', '3.1.1']),
      cli__run([...base, '-u', 'alice', '-P', 'right', '-q', '1']),
    ])
    expectOneLine(wrong5, 3, /refused the connection: (bad user name or password \(0x86\)|not authorized \(0x87\))/)
    expectOneLine(wrong311, 3, /refused the connection: (bad user name or password \(4\)|not authorised \(5\))/)
    expect(right.code, right.stderr).toBe(0)
  })

  it('mqttkit broker: authenticate hook refuses (0x86), authorizePublish refuses the QoS 1 message (PUBACK 0x87)', async () => {
    const broker = await cli__startMqttkit({
      hooks: {
        authenticate: (_c: unknown, username?: string) => username !== 'mallory',
        authorizePublish: (_c: unknown, message: {topic: string}) => !message.topic.startsWith('secret/'),
      },
    })
    const base = ['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-m', 'x']
    const [badUser, denied, fine] = await Promise.all([
      cli__run([...base, '-t', 'open', '-u', 'mallory', '-P', 'pw']),
      cli__run([...base, '-t', 'secret/plans', '-q', '1']),
      cli__run([...base, '-t', 'open/plans', '-q', '1']),
    ])
    expectOneLine(badUser, 3, /refused the connection: bad user name or password \(0x86\)/)
    expectOneLine(denied, 3, /refused the message on "secret\/plans": not authorized \(0x87\)/)
    expect(fine.code, fine.stderr).toBe(0)
  })
})
