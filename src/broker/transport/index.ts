import {tcp__listen} from './tcp.js'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'

export type {ConnectionHandler, ConnectionMeta, ListenerSpec, RunningListener, TlsOptions} from './types.js'

/** Starts one listener of any kind; rejects with the socket error (EADDRINUSE, EACCES…) when it cannot bind. */
export async function transport__listen(spec: ListenerSpec, onConnection: ConnectionHandler): Promise<RunningListener> {
  switch (spec.type) {
    case 'tcp':
      return tcp__listen(spec, onConnection)
    default:
      throw new Error(`the ${spec.type} listener is not available in this build`)
  }
}
