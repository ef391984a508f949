/**
 * The shared connection flags through pub and sub: -h (not help) and --help, -L with credentials and topic, the
 * --broker alias, -V spellings, -k, -i/-I, persistent sessions (-c / --no-clean, -x), will messages, and sub's
 * reconnection with back-off.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {
  cli__cleanup,
  cli__collect,
  cli__mqttjs,
  cli__run,
  cli__spawn,
  cli__startMosquitto,
  cli__startMqttkit,
  cli__subscribed,
  mosquittoPath,
} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

describe('connection flags', () => {
  it('-h is the host, --help is help; -L carries user, password and topic; --broker is an alias of -h', async (ctx) => {
    if (!requireProgram(ctx, mosquittoPath, 'mosquitto')) return
    const broker = await cli__startMosquitto({passwords: {'u@x': 'p:w/d'}})
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port, {username: 'u@x', password: 'p:w/d'})
    const wait = await cli__collect(peer, 'via/#', 2)
    const [help, hostless, url, alias] = await Promise.all([
      cli__run(['sub', '--help']),
      cli__run(['pub', '-h']),
      // Percent-encoded user and password; the URL path is the topic, as with mosquitto's -L.
      cli__run(['pub', '-L', `mqtt://u%40x:p%3Aw%2Fd@127.0.0.1:${port}/via/url`, '-m', 'from url', '-q', '1']),
      cli__run(['pub', '--broker', '127.0.0.1', '--port', port, '-u', 'u@x', '-P', 'p:w/d', '-t', 'via/alias', '-m', 'alias', '-q', '1']),
    ])
    expect(help.code).toBe(0)
    expect(help.stdout.toString()).toMatch(/USAGE[\s\S]*-h, --host=<value>/)
    expect(hostless.code).toBe(1)
    expect(hostless.stderr).toMatch(/^Error: Flag --host expects a value/)
    expect(url.code, url.stderr).toBe(0)
    expect(alias.code, alias.stderr).toBe(0)
    const got = Object.fromEntries((await wait()).map((m) => [m.topic, m.payload.toString()]))
    expect(got).toEqual({'via/url': 'from url', 'via/alias': 'alias'})
  })

  it('-V accepts 3.1, 31, 3.1.1, 311, mqttv311, 4, 5 and sends that protocol level; -k and -i/-I reach CONNECT [MQTT-3.1.2-2]', async (ctx) => {
    if (!requireProgram(ctx, mosquittoPath, 'mosquitto')) return
    const broker = await cli__startMosquitto()
    const base = ['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'v', '-m', 'x', '-d']
    const spellings: Array<[string, number]> = [['3.1', 3], ['31', 3], ['3.1.1', 4], ['311', 4], ['mqttv311', 4], ['4', 4], ['5', 5]]
    const runs = await Promise.all([
      ...spellings.map(([v]) => cli__run([...base, '-V', v])),
      cli__run([...base, '-k', '17', '-i', 'my-client']),
      cli__run([...base, '-I', 'fleet-']),
    ])
    spellings.forEach(([v, level], i) => {
      expect(runs[i]!.code, `${v}: ${runs[i]!.stderr}`).toBe(0)
      expect(runs[i]!.stderr).toMatch(new RegExp(`sent {5}CONNECT \\(c1, k60, v${level}, `))
    })
    expect(runs[7]!.stderr).toMatch(/sent {5}CONNECT \(c1, k17, v5, id 'my-client'\)/)
    expect(runs[8]!.stderr).toMatch(/sent {5}CONNECT \(c1, k60, v5, id 'fleet-[0-9a-f]{8}'\)/)
  })

  it('-c / --no-clean with -x keeps the session: QoS 1 messages sent while away are delivered on return [MQTT-3.1.2-4] [MQTT-3.1.2-23]', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const session = ['-h', '127.0.0.1', '-p', port, '-i', 'persistent-cli', '-q', '1', '-t', 'away/+', '-x', '300']
    // Subscribe once, then leave.
    const first = await cli__run(['sub', ...session, '-c', '-W', '1'])
    expect(first.code, first.stderr).toBe(0)
    const pub = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '-t', 'away/1', '-m', 'while you were out', '-q', '1'])
    expect(pub.code).toBe(0)
    const back = await cli__run(['sub', ...session, '--no-clean', '-C', '1', '-W', '10'])
    expect(back.code, back.stderr).toBe(0)
    expect(back.stdout.toString()).toBe('while you were out\n')
  })

  it('--will-topic/--will-payload/--will-qos/--will-retain: the will is published when the client dies [MQTT-3.1.2-8]', async () => {
    const broker = await cli__startMqttkit()
    const peer = await cli__mqttjs(broker.port)
    const wait = await cli__collect(peer, 'wills/#', 1)
    const dying = await cli__subscribed([
      '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'x', '-k', '5',
      '--will-topic', 'wills/cli', '--will-payload', 'gone', '--will-qos', '1', '--will-retain',
    ])
    dying.child.kill('SIGKILL')
    const [will] = await wait()
    expect(will!.payload.toString()).toBe('gone')
    expect(will!.packet.qos).toBe(1)
    // Retained: a later subscriber still sees it.
    const later = await cli__run(['sub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'wills/cli', '-C', '1', '-W', '10', '-F', '%r %p'])
    expect(later.stdout.toString()).toBe('1 gone\n')
  })

  it('--will-delay and -D will properties: the will waits for the delay and carries its properties [MQTT-3.1.3-9]; --repeat-delay', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const peer = await cli__mqttjs(broker.port, {protocolVersion: 5})
    const wait = await cli__collect(peer, 'delayed/will', 1)
    const dying = await cli__subscribed([
      '-h', '127.0.0.1', '-p', port, '-t', 'x', '--will-topic', 'delayed/will', '--will-payload', 'late',
      // The session must outlive the delay: a session that ends at disconnect sends the will at once [MQTT-3.1.3-9].
      '--will-delay', '2', '-x', '30', '-D', 'will', 'content-type', 'text/plain', '-D', 'will', 'user-property', 'why', 'crash',
    ])
    dying.child.kill('SIGKILL')
    const killedAt = Date.now()
    const [will] = await wait()
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1500)
    expect(will!.payload.toString()).toBe('late')
    expect(will!.packet.properties).toMatchObject({contentType: 'text/plain', userProperties: {why: 'crash'}})

    const started = Date.now()
    const repeated = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '-t', 'r', '-m', 'x', '--repeat', '3', '--repeat-delay', '0.3', '--json'])
    expect(repeated.code, repeated.stderr).toBe(0)
    expect(JSON.parse(repeated.stdout.toString())).toMatchObject({messages: 3})
    expect(Date.now() - started).toBeGreaterThanOrEqual(600)
  })

  it('sub reconnects with back-off after the broker goes away, reports it on stderr, and receives again', async () => {
    const first = await cli__startMqttkit()
    const port = first.port
    const sub = await cli__subscribed(['-h', '127.0.0.1', '-p', String(port), '-t', 'back/#', '-q', '1'])
    await first.stop()
    await sub.waitForStderr(/connection to mqtt:\/\/127\.0\.0\.1:\d+ lost; reconnecting in 1s/, 30_000)
    await sub.waitForStderr(/reconnecting to mqtt:\/\/127\.0\.0\.1/, 30_000)
    const second = await cli__startMqttkit({}, port)
    await sub.waitForStderr(/reconnected to mqtt:\/\/127\.0\.0\.1/, 60_000)
    // The subscription is made again on the new broker (clean session).
    await sub.waitForStderr(/received SUBACK[\s\S]*received SUBACK/, 30_000)
    const peer = await cli__mqttjs(second.port)
    await peer.publishAsync('back/again', 'hello again', {qos: 1})
    await sub.waitForStdout(/hello again\n/, 30_000)
    sub.child.kill('SIGINT')
    expect((await sub.exited).code).toBe(0)
  })

  it('--no-reconnect: losing the broker ends sub with exit 2', async () => {
    const broker = await cli__startMqttkit()
    const sub = cli__spawn(['sub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'x', '--no-reconnect', '-d'])
    await sub.waitForStderr(/received SUBACK/, 45_000)
    await broker.stop()
    const r = await sub.exited
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Error: connection to mqtt:\/\/127\.0\.0\.1:\d+ lost \(--no-reconnect\)\n$/)
  })
})
