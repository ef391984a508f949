/**
 * Transports accept connections and hand the broker a Duplex plus what is known about the peer. They know
 * nothing of MQTT: the broker's `handle(stream, meta)` does the rest.
 */
import type {Duplex} from 'node:stream'
import type {PeerCertificate} from 'node:tls'
import type {Transport} from '../hooks.js'

export interface ConnectionMeta {
  transport: Transport
  remoteAddress: string
  remotePort?: number
  certificate?: PeerCertificate
}

export type ConnectionHandler = (stream: Duplex, meta: ConnectionMeta) => void

export interface TlsOptions {
  /** PEM file paths (read at start and again on reload). */
  cert: string
  key: string
  ca?: string
  /** Mutual TLS: ask for and verify a client certificate. */
  requireCertificate?: boolean
}

export type ListenerSpec =
  | {type: 'tcp'; host?: string; port: number}
  | ({type: 'tls'; host?: string; port: number} & TlsOptions)
  | {type: 'ws'; host?: string; port: number; path?: string}
  | ({type: 'wss'; host?: string; port: number; path?: string} & TlsOptions)

export interface RunningListener {
  readonly spec: ListenerSpec
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: {host: string; port: number}
  close(): Promise<void>
  /** Re-reads certificate files without dropping connections (TLS and WSS; a no-op elsewhere). */
  reload?(): Promise<void>
}
