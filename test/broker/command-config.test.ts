/** `mqttkit broker` configuration sources (env, config files, flags): the built CLI in a child process. */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {brokers__freePort} from '../helpers/brokers.js'
import {brokerCli__cleanup, brokerCli__spawn, brokerCli__waitFor} from './broker-cli.js'
import {RawClient, cleanup, connect} from './helpers.js'

afterEach(async () => {
  brokerCli__cleanup()
  await cleanup()
})

describe('mqttkit broker configuration', () => {
  it('takes the port from MQTT_PORT', async () => {
    const port = await brokers__freePort()
    const r = brokerCli__spawn(['--mqtt-host', '127.0.0.1'], {MQTT_PORT: String(port)})
    await brokerCli__waitFor(r, new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port}`))
  })

  it('reads a YAML config file; flags override it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const port = await brokers__freePort()
    const file = join(dir, 'broker.yaml')
    writeFileSync(file, `mqtt-host: 127.0.0.1\nmqtt-port: 1\nmaxConnections: 1\n`)
    const r = brokerCli__spawn(['--config', file, '--mqtt-port', String(port)])
    await brokerCli__waitFor(r, new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port}`))
    await connect(port, {clientId: 'one'})
    const raw = await RawClient.connect(port)
    expect((await raw.handshake({clientId: 'two'})).returnCode).toBe(3)
  })

  it('reads a JSON config file and rejects unknown settings by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const good = join(dir, 'ok.json')
    const port = await brokers__freePort()
    writeFileSync(good, JSON.stringify({'mqtt-host': '127.0.0.1', 'mqtt-port': port}))
    const r = brokerCli__spawn(['--config', good])
    await brokerCli__waitFor(r, new RegExp(`:${port}`))
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({'mqtt-prot': 1}))
    const b = brokerCli__spawn(['--config', bad])
    expect(await b.exited).toBe(1)
    expect(b.output()).toMatch(/unknown setting "mqtt-prot"/)
  })

  it('--allow-anonymous false refuses clients without credentials', async () => {
    const port = await brokers__freePort()
    const r = brokerCli__spawn(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1', '--allow-anonymous', 'false'])
    await brokerCli__waitFor(r, /listening on/)
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: 'anon'})
    expect(connack.returnCode).not.toBe(0)
  })

  it('a value out of range in the config file is named by its flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'max-inflight: 0\n')
    const r = brokerCli__spawn(['--config', file, '--mqtt-host', '127.0.0.1', '--mqtt-port', '0'])
    expect(await r.exited).toBe(1)
    expect(r.output()).toMatch(/--max-inflight must be an integer from 1 to 65535, got 0/)
  })
})
