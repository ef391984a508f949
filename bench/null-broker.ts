/**
 * A sink that speaks just enough MQTT to be published to: it answers CONNECT with a success CONNACK and then reads
 * and discards everything. It measures how fast a client can *drive* messages when the broker is not the limit
 * (see docs/benchmarks.md, "Load generator").
 *
 *   npx tsx bench/null-broker.ts [--port 0]     prints {"port": N} once listening; Ctrl-C stops it
 */
import net from 'node:net'
import {parseArgs} from 'node:util'

const {values} = parseArgs({options: {port: {type: 'string', default: '0'}}})
let received = 0
const server = net.createServer((socket) => {
  let greeted = false
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (greeted) return
    greeted = true
    // CONNECT's protocol level is byte 8 of "MQTT" CONNECTs (after the fixed header, length and the name).
    let i = 1
    while (chunk[i]! & 0x80) i++
    const level = chunk[i + 1 + 2 + 4]
    socket.write(level === 5 ? Buffer.from([0x20, 3, 0, 0, 0]) : Buffer.from([0x20, 2, 0, 0]))
  })
  socket.on('error', () => socket.destroy())
})
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(JSON.stringify({port: (server.address() as net.AddressInfo).port}))
})
process.on('SIGINT', () => {
  console.error(`null broker: ${received} bytes discarded`)
  process.exit(0)
})
