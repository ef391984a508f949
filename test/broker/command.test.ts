/** `mqttkit broker` as users run it: the built CLI in a child process (run `npm run build` first). */
import {type ChildProcess, spawn} from 'node:child_process'
import net from 'node:net'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {broker__normalizeArgv} from '../../src/commands/broker.js'
import {cleanup, connect} from './helpers.js'

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

describe('--allow-anonymous parsing', () => {
  it('accepts `--allow-anonymous false`, `--allow-anonymous=false` and `--no-allow-anonymous`', () => {
    expect(broker__normalizeArgv(['--allow-anonymous', 'false'])).toEqual(['--no-allow-anonymous'])
    expect(broker__normalizeArgv(['--allow-anonymous=false'])).toEqual(['--no-allow-anonymous'])
    expect(broker__normalizeArgv(['--allow-anonymous', 'true', '-x'])).toEqual(['--allow-anonymous', '-x'])
    expect(broker__normalizeArgv(['--no-allow-anonymous'])).toEqual(['--no-allow-anonymous'])
  })
})

describe('mqttkit broker', () => {
  it('prints a banner with the listener, warns about anonymous access on 0.0.0.0, exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const r = run(['--mqtt-port', String(port)])
    await waitFor(r, /listening on mqtt:\/\/0\.0\.0\.0:\d+/)
    expect(r.output()).toMatch(/warning: anonymous/)
    const client = await connect(port, {protocolVersion: 5, clientId: 'v5'})
    const disconnect = new Promise<number | undefined>((resolve) => client.once('disconnect', (p) => resolve(p.reasonCode)))
    r.child.kill('SIGTERM')
    expect(await r.exited).toBe(0)
    // Server shutting down [MQTT-4.13.2-1].
    expect(await disconnect).toBe(0x8b)
  })

  it('exits 0 on SIGINT and does not warn when bound to loopback', async () => {
    const port = await freePort()
    const r = run(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1'])
    await waitFor(r, /listening on/)
    expect(r.output()).not.toMatch(/warning: anonymous/)
    r.child.kill('SIGINT')
    expect(await r.exited).toBe(0)
  })

  it('EADDRINUSE gives a clear message naming mqttkit doctor, no stack trace, exit 1', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const r = run(['--mqtt-port', String(port), '--mqtt-host', '127.0.0.1'])
      expect(await r.exited).toBe(1)
      expect(r.output()).toMatch(/already in use/)
      expect(r.output()).toMatch(/mqttkit doctor/)
      expect(r.output()).not.toMatch(/\n\s+at /)
    } finally {
      blocker.close()
    }
  })

})
