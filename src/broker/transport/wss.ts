import https from 'node:https'
import type {TLSSocket} from 'node:tls'
import {certs__peerMeta} from './certs.js'
import {tls__bind, tls__serverOptions} from './tls.js'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'
import {type PlainSocketHandler, ws__notUpgrade, ws__serve} from './ws.js'

type WssSpec = Extract<ListenerSpec, {type: 'wss'}>

/** MQTT over WebSocket over TLS: ws.ts's upgrade logic on an HTTPS server, with tls.ts's certificate handling. */
export async function wss__listen(
  spec: WssSpec,
  onConnection: ConnectionHandler,
  onPlain?: PlainSocketHandler,
): Promise<RunningListener> {
  const server = https.createServer(await tls__serverOptions(spec), ws__notUpgrade(spec))
  ws__serve(server, spec, 'wss', onConnection, onPlain, (request) => certs__peerMeta(request.socket as TLSSocket, spec))
  return tls__bind(server, spec)
}
