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
  /** The client certificate, present only when the listener required one and it verified against the CA. */
  certificate?: PeerCertificate
  /**
   * The verified client certificate's subject CN, set only when the listener has `useCertificateCnAsUsername`.
   * The CONNECT handler uses it as the client's username in place of the one in CONNECT (the password is still
   * given to the `authenticate` hook), so that ACLs written per user apply to certificate holders.
   */
  certificateUsername?: string
  /**
   * The session queue limit for this connection's session in place of `maxQueued`, for in-process clients that an
   * embedding application hands to `broker.handle()` (a bridge keeps what it has not forwarded yet in its session,
   * docs/bridges.md). Transports never set it, so a network client cannot choose its own limit.
   */
  maxQueued?: number
}

export type ConnectionHandler = (stream: Duplex, meta: ConnectionMeta) => void

export interface TlsOptions {
  /** PEM file paths (read at start and again on reload). */
  cert: string
  key: string
  ca?: string
  /** Mutual TLS: ask for and verify a client certificate; connections without a valid one fail the handshake. */
  requireCertificate?: boolean
  /** With `requireCertificate`: the certificate's subject CN becomes the client's username (see ConnectionMeta). */
  useCertificateCnAsUsername?: boolean
}

export interface WebSocketOptions {
  /** The HTTP path MQTT is served on (default `/mqtt`); `/` is always accepted as well. */
  path?: string
  /** Largest WebSocket message accepted, in bytes (default 1 MiB); a larger one closes the connection (1009). */
  maxFrameSize?: number
  /** Negotiate per-message deflate (default off: MQTT payloads are small and compression costs CPU per message). */
  perMessageDeflate?: boolean
  /** Serve the JSON gateway to clients that ask for no subprotocol (default on). */
  jsonGateway?: boolean
}

export type ListenerSpec =
  | {type: 'tcp'; host?: string; port: number}
  | ({type: 'tls'; host?: string; port: number} & TlsOptions)
  | ({type: 'ws'; host?: string; port: number} & WebSocketOptions)
  | ({type: 'wss'; host?: string; port: number} & WebSocketOptions & TlsOptions)

export interface RunningListener {
  readonly spec: ListenerSpec
  /** The bound address (port resolved when 0 was asked for). */
  readonly address: {host: string; port: number}
  close(): Promise<void>
  /** Re-reads certificate files without dropping connections (TLS and WSS; a no-op elsewhere). */
  reload?(): Promise<void>
}
