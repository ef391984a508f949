/**
 * MQTT over WebSocket (and, through wss.ts, over HTTPS). This file only upgrades HTTP requests and picks who gets
 * the socket: clients asking for the `mqtt` (or legacy `mqttv3.1`) subprotocol get a byte stream for the broker;
 * clients asking for no subprotocol at all get the JSON gateway, when the listener serves it.
 */
import http from 'node:http'
import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'
import {WebSocketServer, type WebSocket} from 'ws'
import {server__address, server__bind, server__close} from './server.js'
import type {ConnectionHandler, ConnectionMeta, ListenerSpec, RunningListener, WebSocketOptions} from './types.js'
import {WebSocketDuplex, ws__close} from './ws-stream.js'

type WsSpec = Extract<ListenerSpec, {type: 'ws'}>

/** Receives a WebSocket that asked for no subprotocol (the JSON gateway); it owns the socket from then on. */
export type PlainSocketHandler = (ws: WebSocket, meta: ConnectionMeta) => void

/** Per-connection metadata beyond the address (the TLS peer certificate for WSS); null refuses the upgrade. */
export type UpgradeMeta = (request: IncomingMessage) => Partial<ConnectionMeta> | null

export const WS_DEFAULT_PATH = '/mqtt'
export const WS_DEFAULT_MAX_FRAME = 1024 * 1024
const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1']

export async function ws__listen(
  spec: WsSpec,
  onConnection: ConnectionHandler,
  onPlain?: PlainSocketHandler,
): Promise<RunningListener> {
  const server = http.createServer(ws__notUpgrade(spec))
  ws__serve(server, spec, 'ws', onConnection, onPlain, () => ({}))
  await server__bind(server, spec.port, spec.host)
  return {spec, address: server__address(server), close: () => server__close(server)}
}

/** Wires WebSocket upgrades on an HTTP or HTTPS server. */
export function ws__serve(
  server: http.Server,
  options: WebSocketOptions,
  transport: 'ws' | 'wss',
  onConnection: ConnectionHandler,
  onPlain: PlainSocketHandler | undefined,
  upgradeMeta: UpgradeMeta,
): void {
  const paths = new Set([options.path ?? WS_DEFAULT_PATH, '/'])
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameSize ?? WS_DEFAULT_MAX_FRAME,
    perMessageDeflate: options.perMessageDeflate === true,
    handleProtocols: ws__pickProtocol,
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', ws__ignore)
    if (!paths.has(ws__pathOf(request))) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    const extra = upgradeMeta(request)
    if (extra === null) {
      socket.destroy()
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const meta: ConnectionMeta = {
        transport,
        remoteAddress: request.socket.remoteAddress ?? '',
        remotePort: request.socket.remotePort,
        ...extra,
      }
      if (ws.protocol !== '') {
        onConnection(new WebSocketDuplex(ws), meta)
      } else if (request.headers['sec-websocket-protocol'] === undefined && onPlain !== undefined) {
        onPlain(ws, meta)
      } else {
        // The client named only subprotocols we don't speak (or the gateway is off): say so instead of guessing.
        ws__close(ws, 1002, `use the subprotocol ${MQTT_SUBPROTOCOLS.join(' or ')}`)
      }
    })
  })
}

/** Answers plain HTTP requests on the WebSocket port so that a browser or curl learns what the port is. */
export function ws__notUpgrade(options: WebSocketOptions): http.RequestListener {
  const body = `This is an MQTT over WebSocket endpoint: connect a WebSocket to ${options.path ?? WS_DEFAULT_PATH}.\n`
  return (_request, response) => {
    response.writeHead(426, {'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close'})
    response.end(body)
  }
}

function ws__pickProtocol(offered: Set<string>): string | false {
  for (const name of MQTT_SUBPROTOCOLS) if (offered.has(name)) return name
  return false
}

function ws__pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function ws__ignore(): void {}
