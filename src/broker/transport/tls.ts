import tls from 'node:tls'
import {certs__peerMeta, certs__read, certs__serverOptions} from './certs.js'
import {server__address, server__bind, server__close} from './server.js'
import type {ConnectionHandler, ListenerSpec, RunningListener, TlsOptions} from './types.js'

type TlsSpec = Extract<ListenerSpec, {type: 'tls'}>

/** A client that opens a socket and never finishes the handshake holds a file descriptor; cap how long. */
const HANDSHAKE_TIMEOUT_MS = 10_000

export async function tls__listen(spec: TlsSpec, onConnection: ConnectionHandler): Promise<RunningListener> {
  const server = tls.createServer(await tls__serverOptions(spec))
  server.on('secureConnection', (socket) => {
    socket.setNoDelay(true)
    const peer = certs__peerMeta(socket, spec)
    if (peer === null) {
      socket.destroy()
      return
    }
    onConnection(socket, {transport: 'tls', remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort, ...peer})
  })
  return tls__bind(server, spec)
}

/** Options for a TLS or HTTPS server: the spec's certificate files, mutual TLS if required, a handshake deadline. */
export async function tls__serverOptions(spec: TlsOptions): Promise<tls.TlsOptions> {
  const context = await certs__read(spec)
  return {...certs__serverOptions(spec, context), handshakeTimeout: HANDSHAKE_TIMEOUT_MS}
}

/** Binds a TLS or HTTPS server (tls.ts, wss.ts) as a listener whose certificate `reload()` re-reads. */
export async function tls__bind(server: tls.Server, spec: Extract<ListenerSpec, TlsOptions>): Promise<RunningListener> {
  // Failed handshakes (no client certificate, wrong CA, plain TCP on the TLS port) concern one client only.
  server.on('tlsClientError', tls__ignore)
  await server__bind(server, spec.port, spec.host)
  return {
    spec,
    address: server__address(server),
    close: () => server__close(server),
    reload: () => tls__reload(server, spec),
  }
}

/**
 * Re-reads the certificate files and swaps the context: new handshakes use the new certificate, established
 * connections keep theirs. Files that don't load (or a key that doesn't match) leave the old context in place.
 */
export async function tls__reload(server: tls.Server, options: TlsOptions): Promise<void> {
  const context = await certs__read(options)
  tls.createSecureContext(context) // throws on a bad key/certificate pair before anything changes
  server.setSecureContext(context)
}

function tls__ignore(): void {}
