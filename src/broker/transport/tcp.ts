import net from 'node:net'
import {server__address, server__bind, server__close} from './server.js'
import type {ConnectionHandler, ListenerSpec, RunningListener} from './types.js'

type TcpSpec = Extract<ListenerSpec, {type: 'tcp'}>

export async function tcp__listen(spec: TcpSpec, onConnection: ConnectionHandler): Promise<RunningListener> {
  const server = net.createServer((socket) => {
    // MQTT packets are small and latency matters more than segment count.
    socket.setNoDelay(true)
    onConnection(socket, {transport: 'tcp', remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort})
  })
  await server__bind(server, spec.port, spec.host)
  return {spec, address: server__address(server), close: () => server__close(server)}
}
