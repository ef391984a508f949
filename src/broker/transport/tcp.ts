import net from 'node:net'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'

type TcpSpec = Extract<ListenerSpec, {type: 'tcp'}>

export async function tcp__listen(spec: TcpSpec, onConnection: ConnectionHandler): Promise<RunningListener> {
  const server = net.createServer((socket) => {
    // MQTT packets are small and latency matters more than segment count.
    socket.setNoDelay(true)
    onConnection(socket, {transport: 'tcp', remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(spec.port, spec.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address() as net.AddressInfo
  return {
    spec,
    address: {host: bound.address, port: bound.port},
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
      }),
  }
}
