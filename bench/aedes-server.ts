/**
 * aedes (the reference Node.js broker, a devDependency) on one TCP port, for bench/brokers.ts and bench/cluster.ts.
 * With --redis, it is one aedes cluster node: mqemitter-redis between nodes and aedes-persistence-redis for state,
 * the setup aedes documents for clusters (both devDependencies, benchmarks only).
 *
 *   node --import tsx bench/aedes-server.ts --port 1884 [--redis redis://127.0.0.1:6379]     prints {"port": N}
 */
import net from 'node:net'
import {parseArgs} from 'node:util'
import {Aedes} from 'aedes'
// @ts-expect-error -- no type declarations shipped
import aedesPersistenceRedis from 'aedes-persistence-redis'
// @ts-expect-error -- no type declarations shipped
import mqemitterRedis from 'mqemitter-redis'

const {values} = parseArgs({options: {port: {type: 'string', default: '0'}, redis: {type: 'string'}}})
let options = {}
if (values.redis !== undefined) {
  const url = new URL(values.redis)
  const where = {host: url.hostname, port: Number(url.port || 6379)}
  options = {mq: mqemitterRedis(where), persistence: aedesPersistenceRedis(where)}
}
const aedes = await Aedes.createBroker(options)
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
