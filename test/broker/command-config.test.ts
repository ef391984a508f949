/** `mqttkit broker` configuration sources (env, config files, flags): the built CLI in a child process. */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {RawClient, cleanup, connect} from './helpers.js'

const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const children: ChildProcess[] = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await cleanup()
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
}

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function run(args: string[], env: Record<string, string> = {}): Run {
  let output = ''
  const child = spawn(process.execPath, [RUN, 'broker', '--store', 'memory', '--no-ws', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1', ...env},
  })
  children.push(child)
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, output: () => output, exited}
}

async function waitFor(r: Run, pattern: RegExp, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!pattern.test(r.output())) {
    if (r.child.exitCode !== null) throw new Error(`broker exited ${r.child.exitCode}:\n${r.output()}`)
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${r.output()}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

describe('mqttkit broker configuration', () => {
  it('takes the port from MQTT_PORT', async () => {
    const port = await freePort()
    const r = run(['--mqtt-host', '127.0.0.1'], {MQTT_PORT: String(port)})
    await waitFor(r, new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port}`))
  })

  it('reads a YAML config file; flags override it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const port = await freePort()
    const file = join(dir, 'broker.yaml')
    writeFileSync(file, `mqtt-host: 127.0.0.1\nmqtt-port: 1\nmaxConnections: 1\n`)
    const r = run(['--config', file, '--mqtt-port', String(port)])
    await waitFor(r, new RegExp(`listening on mqtt://127\\.0\\.0\\.1:${port}`))
    await connect(port, {clientId: 'one'})
    const raw = await RawClient.connect(port)
    expect((await raw.handshake({clientId: 'two'})).returnCode).toBe(3)
  })

  it('reads a JSON config file and rejects unknown settings by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const good = join(dir, 'ok.json')
    const port = await freePort()
    writeFileSync(good, JSON.stringify({'mqtt-host': '127.0.0.1', 'mqtt-port': port}))
    const r = run(['--config', good])
    await waitFor(r, new RegExp(`:${port}`))
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({'mqtt-prot': 1}))
    const b = run(['--config', bad])
    expect(await b.exited).toBe(1)
    expect(b.output()).toMatch(/unknown setting "mqtt-prot"/)
  })

  it('--allow-anonymous false refuses clients without credentials', async () => {
    const port = await freePort()
    const r = run(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1', '--allow-anonymous', 'false'])
    await waitFor(r, /listening on/)
    const raw = await RawClient.connect(port)
    const connack = await raw.handshake({clientId: 'anon'})
    expect(connack.returnCode).not.toBe(0)
  })

  it('a value out of range in the config file is named by its flag', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-config-'))
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'max-inflight: 0\n')
    const r = run(['--config', file, '--mqtt-host', '127.0.0.1', '--mqtt-port', '0'])
    expect(await r.exited).toBe(1)
    expect(r.output()).toMatch(/--max-inflight must be an integer from 1 to 65535, got 0/)
  })
})
