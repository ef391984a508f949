import {gateway__attach} from '../gateway/json.js'
import {tcp__listen} from './tcp.js'
import {tls__listen} from './tls.js'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'
import {type PlainSocketHandler, ws__listen} from './ws.js'
import {wss__listen} from './wss.js'

export type {ConnectionHandler, ConnectionMeta, ListenerSpec, RunningListener, TlsOptions, WebSocketOptions} from './types.js'
export {WS_DEFAULT_MAX_FRAME, WS_DEFAULT_PATH} from './ws.js'

/** Starts one listener of any kind; rejects with the socket error (EADDRINUSE, EACCES…) when it cannot bind. */
export async function transport__listen(spec: ListenerSpec, onConnection: ConnectionHandler): Promise<RunningListener> {
  switch (spec.type) {
    case 'tcp':
      return tcp__listen(spec, onConnection)
    case 'tls':
      return tls__listen(spec, onConnection)
    case 'ws':
      return ws__listen(spec, onConnection, transport__gateway(spec.jsonGateway, onConnection))
    case 'wss':
      return wss__listen(spec, onConnection, transport__gateway(spec.jsonGateway, onConnection))
  }
}

/** WebSocket clients asking for no subprotocol get the JSON gateway, which feeds the same broker. */
function transport__gateway(enabled: boolean | undefined, onConnection: ConnectionHandler): PlainSocketHandler | undefined {
  if (enabled === false) return undefined
  return (ws, meta) => gateway__attach(ws, meta, onConnection)
}
