/**
 * aedes (the reference Node.js broker, a devDependency) on one TCP port, for bench/brokers.ts.
 *
 *   node --import tsx bench/aedes-server.ts --port 1884     prints {"port": N} once listening
 */
import net from 'node:net'
import {parseArgs} from 'node:util'
import {Aedes} from 'aedes'

const {values} = parseArgs({options: {port: {type: 'string', default: '0'}}})
const aedes = await Aedes.createBroker()
const server = net.createServer(aedes.handle)
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(JSON.stringify({port: (server.address() as net.AddressInfo).port}))
})
const stop = (): void => {
  server.close()
  aedes.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
