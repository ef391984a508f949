/**
 * `mqttkit broker` with every listener, as a user runs it (bin/run.js against dist/: `npm run build` first): the
 * banner names each listener, SIGHUP reloads the certificate without dropping connections, bad flag combinations
 * are refused with a clear message.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {copyFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {pki__make, type TestPki} from './certs.js'
import {mqtt__closeAll, mqtt__connect, mqtt__next} from './harness.js'

const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

let pki: TestPki
const children: ChildProcess[] = []

beforeAll(() => {
  pki = pki__make()
})

afterAll(async () => {
  await mqtt__closeAll()
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  pki.cleanup()
})

interface Started {
  child: ChildProcess
  output: () => string
  urls: Record<string, string>
}

/** `mqttkit broker` on 127.0.0.1, a system-chosen MQTT port and the memory store; output is stdout and stderr. */
function spawnBroker(args: string[]): {child: ChildProcess; output: () => string} {
  const child = spawn(process.execPath, [RUN, 'broker', '--store', 'memory', '--mqtt-host', '127.0.0.1', '--mqtt-port', '0', '--no-web', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1'},
  })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  return {child, output: () => output}
}

/** Starts the CLI broker and resolves once its banner listed `expected` listeners. */
async function startBroker(args: string[], expected: number): Promise<Started> {
  const {child, output} = spawnBroker(args)
  const urls: Record<string, string> = {}
  const deadline = Date.now() + 15_000
  for (;;) {
    for (const match of output().matchAll(/listening on (\w+):\/\/([\d.]+:\d+)(\/\S*)?/g)) urls[match[1]!] = `${match[1]}://${match[2]}${match[3] ?? ''}`
    if (Object.keys(urls).length >= expected) return {child, output, urls}
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}:\n${output()}`)
    if (Date.now() > deadline) throw new Error(`broker banner incomplete:\n${output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function exitOf(args: string[]): Promise<{code: number | null; output: string}> {
  const {child, output} = spawnBroker(['--no-ws', ...args])
  return new Promise((resolve) => child.on('exit', (code) => resolve({code, output: output()})))
}

function serverCn(url: string): Promise<string> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host: hostname, port: Number(port), ca: [pki.caPem]}, () => {
      const cn = socket.getPeerCertificate().subject.CN
      socket.destroy()
      resolve(String(cn))
    })
    socket.once('error', reject)
  })
}

describe('mqttkit broker with TLS, WS and WSS listeners', () => {
  it('prints every listener, and SIGHUP swaps the certificate without dropping connections', async () => {
    // The broker reads the paths again on SIGHUP: renew the files in place, as certbot would.
    const cert = path.join(pki.dir, 'live.crt')
    const key = path.join(pki.dir, 'live.key')
    copyFileSync(pki.serverCert, cert)
    copyFileSync(pki.serverKey, key)
    const broker = await startBroker(['--ws-port', '0', '--tls-port', '0', '--wss-port', '0', '--cert', cert, '--key', key], 4)
    expect(broker.urls.ws).toMatch(/\/mqtt$/)
    expect(broker.output()).toMatch(/ws:\/\/127\.0\.0\.1:\d+\/mqtt \(JSON gateway\)/)
    expect(Object.keys(broker.urls).sort()).toEqual(['mqtt', 'mqtts', 'ws', 'wss'])

    const old = await mqtt__connect(broker.urls.mqtts!, {ca: pki.caPem, protocolVersion: 5})
    const oldWss = await mqtt__connect(broker.urls.wss!, {ca: pki.caPem})
    await old.subscribeAsync('reload/t', {qos: 1})
    expect(await serverCn(broker.urls.mqtts!)).toBe('localhost')

    copyFileSync(pki.otherCert, cert)
    copyFileSync(pki.otherKey, key)
    broker.child.kill('SIGHUP')
    await expect.poll(() => serverCn(broker.urls.mqtts!), {timeout: 10_000}).toBe('reloaded.localhost')
    await expect.poll(() => serverCn(broker.urls.wss!), {timeout: 10_000}).toBe('reloaded.localhost')

    // A broken renewal (key no longer matches) keeps the current certificate and the broker running.
    writeFileSync(key, 'not a key')
    broker.child.kill('SIGHUP')
    await expect.poll(() => broker.output(), {timeout: 10_000}).toMatch(/certificate reload failed for mqtts:/)
    expect(await serverCn(broker.urls.mqtts!)).toBe('reloaded.localhost')

    // Connections made before the reloads were kept.
    const arrival = mqtt__next(old, 'reload/t')
    await oldWss.publishAsync('reload/t', 'still connected', {qos: 1})
    expect((await arrival).payload.toString()).toBe('still connected')
    expect(broker.child.exitCode).toBeNull()

    const exited = new Promise<number | null>((resolve) => broker.child.once('exit', resolve))
    broker.child.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 60_000) // four listeners, TLS handshakes and two reloads in a child process: slow on a loaded CI machine

  it('refuses flags that do not fit together, with a message naming them', async () => {
    const [noKey, noCa, missing] = await Promise.all([
      exitOf(['--tls-port', '0', '--cert', pki.serverCert]),
      exitOf(['--tls-port', '0', '--cert', pki.serverCert, '--key', pki.serverKey, '--require-certificate']),
      exitOf(['--tls-port', '0', '--cert', '/nonexistent/server.crt', '--key', pki.serverKey]),
    ])
    expect(noKey.code).toBe(1)
    expect(noKey.output).toContain('need both --cert and --key')
    expect(noCa.code).toBe(1)
    expect(noCa.output).toContain('--require-certificate needs --ca')
    expect(missing.code).toBe(1)
    expect(missing.output).toContain('/nonexistent/server.crt')
  }, 60_000)
})
