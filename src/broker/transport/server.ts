import type net from 'node:net'

/** Binds any listening server; rejects with the socket error (EADDRINUSE, EACCES…) instead of emitting it. */
export function server__bind(server: net.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Stops accepting and resolves at once. Connections already accepted stay open: the broker ends them itself (with
 * DISCONNECT 0x8B to MQTT 5 clients) after closing its listeners, so waiting for them here would never end.
 */
export function server__close(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close()
    // HTTP keep-alive sockets that never upgraded carry no client: don't let them hold the port.
    if ('closeIdleConnections' in server && typeof server.closeIdleConnections === 'function') server.closeIdleConnections()
    setImmediate(resolve)
  })
}

export function server__address(server: net.Server): {host: string; port: number} {
  const bound = server.address() as net.AddressInfo
  return {host: bound.address, port: bound.port}
}
