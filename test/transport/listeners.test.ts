/**
 * The listeners on their own, with an echo handler in place of the broker: what reaches the handler (bytes,
 * metadata, certificates) and what a misbehaving WebSocket client gets. MQTT itself is tested in the other files.
 */
import {readFileSync} from 'node:fs'
import net from 'node:net'
import type {Duplex} from 'node:stream'
import tls from 'node:tls'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import WebSocket from 'ws'
import {transport__listen} from '../../src/broker/transport/index.js'
import type {ConnectionMeta, RunningListener} from '../../src/broker/transport/index.js'
import {pki__make, type TestPki} from './certs.js'

let pki: TestPki
const listeners: RunningListener[] = []
const metas: ConnectionMeta[] = []
const open = new Set<Duplex>()

function echo(stream: Duplex, meta: ConnectionMeta): void {
  metas.push(meta)
  open.add(stream)
  stream.on('error', () => {})
  stream.on('close', () => open.delete(stream))
  stream.on('data', (chunk: Buffer) => stream.write(chunk))
}

beforeAll(() => {
  pki = pki__make()
})

afterAll(async () => {
  for (const stream of open) stream.destroy()
  await Promise.all(listeners.map((l) => l.close()))
  pki.cleanup()
})

async function listen(spec: Parameters<typeof transport__listen>[0]): Promise<RunningListener> {
  const listener = await transport__listen(spec, echo)
  listeners.push(listener)
  return listener
}

function wsConnect(url: string, protocols?: string | string[], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options)
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
  })
}

function nextMessage(ws: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(data as Buffer)))
}

function closed(ws: WebSocket): Promise<{code: number; reason: string}> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({code, reason: reason.toString()})))
}

describe('ws listener', () => {
  let url: string
  beforeAll(async () => {
    const l = await listen({type: 'ws', host: '127.0.0.1', port: 0, maxFrameSize: 4096, jsonGateway: false})
    url = `ws://127.0.0.1:${l.address.port}`
  })

  it('accepts the mqtt subprotocol on /mqtt and on / and carries binary frames both ways', async () => {
    for (const p of ['/mqtt', '/', '/mqtt?token=x']) {
      const ws = await wsConnect(url + p, 'mqtt')
      expect(ws.protocol).toBe('mqtt')
      ws.send(Buffer.from([0xc0, 0x00]))
      expect(await nextMessage(ws)).toEqual(Buffer.from([0xc0, 0x00]))
      ws.close()
    }
    expect(metas.at(-1)).toMatchObject({transport: 'ws', remoteAddress: '127.0.0.1'})
  })

  it('accepts the legacy mqttv3.1 subprotocol', async () => {
    const ws = await wsConnect(`${url}/mqtt`, ['mqttv3.1'])
    expect(ws.protocol).toBe('mqttv3.1')
    ws.close()
  })

  it('[MQTT-6.0.0-2] hands the broker one byte stream whatever the framing', async () => {
    const ws = await wsConnect(`${url}/mqtt`, 'mqtt')
    const received: Buffer[] = []
    ws.on('message', (d) => received.push(d as Buffer))
    for (const part of ['ab', 'c', 'def']) ws.send(Buffer.from(part))
    await expect.poll(() => Buffer.concat(received).toString()).toBe('abcdef')
    ws.close()
  })

  it('[MQTT-6.0.0-1] closes a connection that sends a text frame on the mqtt subprotocol (1003), others unharmed', async () => {
    const good = await wsConnect(`${url}/mqtt`, 'mqtt')
    const bad = await wsConnect(`${url}/mqtt`, 'mqtt')
    const badClosed = closed(bad)
    bad.send('{"hello":1}')
    expect((await badClosed).code).toBe(1003)
    good.send(Buffer.from('still here'))
    expect((await nextMessage(good)).toString()).toBe('still here')
    good.close()
  })

  it('closes a connection that sends a frame over maxFrameSize (1009), others unharmed', async () => {
    const good = await wsConnect(`${url}/mqtt`, 'mqtt')
    const bad = await wsConnect(`${url}/mqtt`, 'mqtt')
    const badClosed = closed(bad)
    bad.send(Buffer.alloc(5000))
    expect((await badClosed).code).toBe(1009)
    good.send(Buffer.from('ok'))
    expect((await nextMessage(good)).toString()).toBe('ok')
    good.close()
  })

  it('answers 404 on other paths and refuses unknown subprotocols', async () => {
    await expect(wsConnect(`${url}/elsewhere`, 'mqtt')).rejects.toThrow('HTTP 404')
    await expect(wsConnect(`${url}/mqtt`, 'stomp')).rejects.toThrow()
  })

  it('closes a client without subprotocol with 1002 when the JSON gateway is off', async () => {
    const ws = await wsConnect(`${url}/mqtt`)
    const {code, reason} = await closed(ws)
    expect(code).toBe(1002)
    expect(reason).toContain('mqtt')
  })

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const response = await fetch(`${url.replace('ws:', 'http:')}/mqtt`)
    expect(response.status).toBe(426)
    expect(await response.text()).toContain('/mqtt')
  })
})

function tlsConnect(port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host: '127.0.0.1', port, ca: pki.caPem, ...options}, () => resolve(socket))
    socket.once('error', reject)
  })
}

async function echoOver(socket: tls.TLSSocket, text: string): Promise<string> {
  socket.write(text)
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => resolve(d.toString()))
    socket.once('error', reject)
    socket.once('close', () => reject(new Error('closed')))
  })
}

describe('tls listener', () => {
  it('serves the certificate and carries bytes', async () => {
    const l = await listen({type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey})
    const socket = await tlsConnect(l.address.port)
    expect(socket.authorized).toBe(true)
    expect(await echoOver(socket, 'hello')).toBe('hello')
    expect(metas.at(-1)).toMatchObject({transport: 'tls', remoteAddress: '127.0.0.1'})
    expect(metas.at(-1)?.certificate).toBeUndefined()
    socket.destroy()
  })

  it('mutual TLS: refuses a client without a certificate, passes the verified one and its CN as username', async () => {
    const l = await listen({
      type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca,
      requireCertificate: true, useCertificateCnAsUsername: true,
    })
    const anonymous = await tlsConnect(l.address.port).catch((error: Error) => error)
    // TLS 1.3 reports the refusal on the first read rather than in the handshake.
    const refused = anonymous instanceof Error ? anonymous : await echoOver(anonymous, 'x').catch((e: Error) => e)
    expect(refused).toBeInstanceOf(Error)
    const alice = pki.client('alice')
    const socket = await tlsConnect(l.address.port, {cert: readFileSync(alice.cert), key: readFileSync(alice.key)})
    expect(await echoOver(socket, 'hi')).toBe('hi')
    const meta = metas.at(-1)!
    expect(meta.certificateUsername).toBe('alice')
    expect(meta.certificate?.subject.CN).toBe('alice')
    socket.destroy()
  })

  it('with the CN as username, drops a certificate that has no CN or several', async () => {
    const l = await listen({
      type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca,
      requireCertificate: true, useCertificateCnAsUsername: true,
    })
    const before = metas.length
    for (const subject of ['/O=No common name', '/CN=alice/CN=bob']) {
      const made = pki.clientWithSubject(subject)
      const socket = await tlsConnect(l.address.port, {cert: readFileSync(made.cert), key: readFileSync(made.key)})
      await expect(echoOver(socket, 'x')).rejects.toThrow('closed')
    }
    expect(metas.length).toBe(before) // never handed to the broker
  })

  it('a plain TCP client on the TLS port fails alone; the listener keeps serving', async () => {
    const l = await listen({type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey})
    const plain = net.connect(l.address.port, '127.0.0.1')
    plain.on('error', () => {})
    plain.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]))
    await new Promise((resolve) => plain.once('close', resolve))
    const socket = await tlsConnect(l.address.port)
    expect(await echoOver(socket, 'fine')).toBe('fine')
    socket.destroy()
  })

  it('refuses the mutual TLS options without a CA', async () => {
    await expect(
      listen({type: 'tls', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, requireCertificate: true}),
    ).rejects.toThrow('--ca')
  })

  it('names the file it cannot read', async () => {
    await expect(listen({type: 'tls', host: '127.0.0.1', port: 0, cert: '/nonexistent.pem', key: pki.serverKey})).rejects.toThrow(
      'cannot read the TLS certificate (--cert) /nonexistent.pem: ENOENT',
    )
  })

  it('reload swaps the certificate for new connections and keeps established ones', async () => {
    const spec = {type: 'tls' as const, host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey}
    const l = await listen(spec)
    const before = await tlsConnect(l.address.port)
    expect(before.getPeerCertificate().subject.CN).toBe('localhost')
    // The listener re-reads the paths in its spec: point them at the other pair as a renewal would.
    Object.assign(spec, {cert: pki.otherCert, key: pki.otherKey})
    await l.reload!()
    const after = await tlsConnect(l.address.port)
    expect(after.getPeerCertificate().subject.CN).toBe('reloaded.localhost')
    expect(await echoOver(before, 'old connection')).toBe('old connection')
    before.destroy()
    after.destroy()
  })

  it('a failed reload keeps the old certificate', async () => {
    const spec = {type: 'tls' as const, host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey}
    const l = await listen(spec)
    Object.assign(spec, {key: pki.otherKey}) // does not match the certificate
    await expect(l.reload!()).rejects.toThrow()
    const socket = await tlsConnect(l.address.port)
    expect(socket.getPeerCertificate().subject.CN).toBe('localhost')
    socket.destroy()
  })
})

describe('closing a listener', () => {
  it('stops accepting at once and leaves accepted connections to the broker', async () => {
    const l = await transport__listen({type: 'ws', host: '127.0.0.1', port: 0}, echo)
    const url = `ws://127.0.0.1:${l.address.port}/mqtt`
    const ws = await wsConnect(url, 'mqtt')
    await l.close() // would never resolve if it waited for `ws`
    await expect(wsConnect(url, 'mqtt')).rejects.toThrow()
    ws.send(Buffer.from('after close'))
    expect((await nextMessage(ws)).toString()).toBe('after close')
    const gone = closed(ws)
    for (const stream of open) stream.end() // what the broker does next
    expect((await gone).code).toBe(1000)
  })
})

describe('wss listener', () => {
  it('carries binary frames over TLS and passes the client certificate', async () => {
    const l = await listen({
      type: 'wss', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.ca,
      requireCertificate: true, useCertificateCnAsUsername: true,
    })
    const bob = pki.client('bob')
    const ws = await wsConnect(`wss://127.0.0.1:${l.address.port}/mqtt`, 'mqtt', {
      ca: pki.caPem, cert: readFileSync(bob.cert), key: readFileSync(bob.key),
    })
    ws.send(Buffer.from('secure'))
    expect((await nextMessage(ws)).toString()).toBe('secure')
    expect(metas.at(-1)).toMatchObject({transport: 'wss', certificateUsername: 'bob'})
    ws.close()
    await expect(wsConnect(`wss://127.0.0.1:${l.address.port}/mqtt`, 'mqtt', {ca: pki.caPem})).rejects.toThrow()
  })
})
