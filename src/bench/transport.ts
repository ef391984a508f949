/** Opens the byte stream to the broker: TCP, TLS, WebSocket or secure WebSocket, always as a Duplex. */
import net from 'node:net'
import tls from 'node:tls'
import type {Duplex} from 'node:stream'
import WebSocket, {createWebSocketStream} from 'ws'
import type {BenchTarget} from './types.js'

export interface OpenedStream {
  stream: Duplex
  /** The event after which the stream carries bytes ('connect', 'secureConnect' or 'open'). */
  ready: (cb: () => void) => void
}

export function transport__open(target: BenchTarget): OpenedStream {
  const t = target.tls ?? {}
  switch (target.protocol) {
    case 'mqtt': {
      const socket = net.connect({host: target.host, port: target.port})
      socket.setNoDelay(true)
      return {stream: socket, ready: (cb) => socket.once('connect', cb)}
    }
    case 'mqtts': {
      const socket = tls.connect({
        host: target.host,
        port: target.port,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        servername: t.servername ?? (net.isIP(target.host) ? undefined : target.host),
        ALPNProtocols: t.alpn,
      })
      socket.setNoDelay(true)
      return {stream: socket, ready: (cb) => socket.once('secureConnect', cb)}
    }
    case 'ws':
    case 'wss': {
      const url = `${target.protocol}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path ?? '/mqtt'}`
      const ws = new WebSocket(url, 'mqtt', {
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        perMessageDeflate: false,
      })
      const stream = createWebSocketStream(ws)
      return {stream, ready: (cb) => ws.once('open', cb)}
    }
  }
}
