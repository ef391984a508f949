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

/** Stops accepting; resolves once the connections still open have closed (the broker ends those). */
export function server__close(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
  })
}

export function server__address(server: net.Server): {host: string; port: number} {
  const bound = server.address() as net.AddressInfo
  return {host: bound.address, port: bound.port}
}
