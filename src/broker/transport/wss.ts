import https from 'node:https'
import type {TLSSocket} from 'node:tls'
import {certs__peerMeta, certs__read, certs__serverOptions} from './certs.js'
import {server__address, server__bind, server__close} from './server.js'
import {tls__reload} from './tls.js'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'
import {type PlainSocketHandler, ws__notUpgrade, ws__serve} from './ws.js'

type WssSpec = Extract<ListenerSpec, {type: 'wss'}>

const HANDSHAKE_TIMEOUT_MS = 10_000

/** MQTT over WebSocket over TLS: ws.ts's upgrade logic on an HTTPS server, with tls.ts's certificate handling. */
export async function wss__listen(
  spec: WssSpec,
  onConnection: ConnectionHandler,
  onPlain?: PlainSocketHandler,
): Promise<RunningListener> {
  const context = await certs__read(spec)
  const server = https.createServer(
    {...certs__serverOptions(spec, context), handshakeTimeout: HANDSHAKE_TIMEOUT_MS},
    ws__notUpgrade(spec),
  )
  server.on('tlsClientError', wss__ignore)
  ws__serve(server, spec, 'wss', onConnection, onPlain, (request) => certs__peerMeta(request.socket as TLSSocket, spec))
  await server__bind(server, spec.port, spec.host)
  return {
    spec,
    address: server__address(server),
    close: () => server__close(server),
    reload: () => tls__reload(server, spec),
  }
}

function wss__ignore(): void {}
