/**
 * `mqttkit broker` with bridges, as users run it (the built CLI): a bad bridge entry stops the start with one line
 * naming the entry and the field; `--bridge`/`--bridge-topic` flags bridge to a real mosquitto; SIGHUP applies a
 * changed `bridges` list without restarting the broker.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {mqttjs__cleanup, mqttjs__connect} from '../helpers/mqttjs.js'
import {brokerCli__cleanup, brokerCli__spawn, brokerCli__waitFor} from '../broker/broker-cli.js'
import {bridge__cleanup, bridge__mosquitto, bridge__requireMosquitto, bridge__subscriber, bridge__until} from './helpers.js'

afterEach(async () => {
  brokerCli__cleanup()
  await mqttjs__cleanup()
  await bridge__cleanup()
})

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mqttkit-bridge-cli-')), 'broker.yaml')
  writeFileSync(file, text)
  return file
}

async function refused(args: string[]): Promise<string> {
  const r = brokerCli__spawn(['--mqtt-host', '127.0.0.1', '--mqtt-port', String(await brokers__freePort()), ...args])
  expect(await r.exited).toBe(1)
  // oclif wraps long errors over lines starting with "›".
  return r.output().replace(/\s*\n\s*›\s*/g, ' ')
}

describe('mqttkit broker --config bridges / --bridge', () => {
  it('refuses a bad bridge entry at start with one line naming the entry and the field', async () => {
    const bad = configFile(`bridges:\n  - name: cloud\n    url: mqtt://127.0.0.1:1884\n    topics:\n      - pattern: 'sensors/#'\n        direction: sideways\n`)
    const line = configFile(`bridges:\n  - name: cloud\n    url: mqtt://127.0.0.1:1884\n    topics: ['sensors/# both 3']\n`)
    const scheme = configFile(`bridges:\n  - name: cloud\n    url: http://127.0.0.1:1884\n    topics: ['a/#']\n`)
    const unknown = configFile(`bridges:\n  - name: cloud\n    url: mqtt://127.0.0.1:1884\n    topic: ['a/#']\n`)
    // Started together: each is a CLI start of its own (a couple of seconds on a busy machine).
    const [o1, o2, o3, o4, o5, o6] = await Promise.all([
      refused(['--config', bad]),
      refused(['--config', line]),
      refused(['--config', scheme]),
      refused(['--config', unknown]),
      refused(['--bridge', 'cloud=mqtt://127.0.0.1:1884', '--bridge-topic', 'other=a/# out 1']),
      refused(['--bridge', 'cloud=mqtt://127.0.0.1:1884', '--bridge-topic', 'cloud=a/# out 1 local/#']),
    ])
    expect(o1).toMatch(/bridge "cloud" \(bridges\[0\]\)\.topics\[0\]\.direction must be out, in or both, got "sideways"/)
    expect(o1).not.toMatch(/listening on/)
    expect(o2).toMatch(/bridge "cloud" \(bridges\[0\]\)\.topics\[0\]\.qos must be 0, 1 or 2, got 3/)
    expect(o3).toMatch(/bridge "cloud" \(bridges\[0\]\)\.url: unsupported scheme http:/)
    expect(o4).toMatch(/bridge "cloud" \(bridges\[0\]\): unknown field "topic"/)
    expect(o5).toMatch(/--bridge-topic "other=a\/# out 1": no bridge named "other"/)
    expect(o6).toMatch(/--bridge-topic cloud: topic rule .* has 4 words/)
  }, 90_000)

  it('--bridge NAME=URL --bridge-topic bridges to mosquitto; SIGHUP applies a new bridges list', async (ctx) => {
    if (!bridge__requireMosquitto(ctx)) return
    const remote = await bridge__mosquitto()
    const port = await brokers__freePort()
    const file = configFile(`sys-interval: 1\n`)
    const r = brokerCli__spawn(['--config', file, '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--bridge', `cloud=mqtt://127.0.0.1:${remote.port}`, '--bridge-topic', 'cloud=cmd/# in 1 "" site1/'])
    await brokerCli__waitFor(r, /bridge cloud: connected to/)
    expect(r.output()).toMatch(/bridge cloud to mqtt:\/\/127\.0\.0\.1:\d+ \(cmd\/# in 1\)/)
    const here = await bridge__subscriber(port, 'cmd/#')
    const state = await bridge__subscriber(port, '$SYS/broker/bridges/+/state')
    const there = await mqttjs__connect(remote.port, {protocolVersion: 5})
    await there.publishAsync('site1/cmd/reboot', 'now', {qos: 1})
    await bridge__until(() => here.got.length === 1, () => `got ${JSON.stringify(here.got)}`)
    expect(here.got[0]).toMatchObject({topic: 'cmd/reboot', payload: 'now'})
    expect(state.got.map((m) => [m.topic, m.payload])).toContainEqual(['$SYS/broker/bridges/cloud/state', '1'])

    // SIGHUP: a second bridge from the file joins; the flag bridge keeps running.
    writeFileSync(file, `sys-interval: 1\nbridges:\n  - name: second\n    url: mqtt://127.0.0.1:${remote.port}\n    topics: ['alerts/# out 1 "" site1/']\n`)
    const remoteSub = await bridge__subscriber(remote.port, 'site1/alerts/#')
    r.child.kill('SIGHUP')
    await brokerCli__waitFor(r, /bridges reloaded: second started/)
    await brokerCli__waitFor(r, /bridge second: connected to/)
    const pub = await mqttjs__connect(port, {protocolVersion: 5})
    await pub.publishAsync('alerts/fire', 'x', {qos: 1})
    await bridge__until(() => remoteSub.got.length === 1, () => `remote got ${JSON.stringify(remoteSub.got)}`)
    expect(remoteSub.got[0]).toMatchObject({topic: 'site1/alerts/fire', payload: 'x'})
    // A bad file on SIGHUP keeps what runs.
    writeFileSync(file, `bridges:\n  - name: second\n    url: nope\n    topics: ['a/#']\n`)
    r.child.kill('SIGHUP')
    await brokerCli__waitFor(r, /bridges not reloaded, the running ones are kept: .*bridge "second" \(bridges\[0\]\)\.url/)
  }, 60_000)
})
