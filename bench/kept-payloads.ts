/**
 * Memory held by messages the broker keeps when they arrive amid other traffic: a raw client writes bursts of
 * QoS 0 messages with one retained message in the middle of each, to a distinct topic per burst, as a busy device
 * reporting telemetry and now and then its status would. Prints how much `arrayBuffers` memory the broker process
 * still holds after forced GCs, against the payload bytes actually retained.
 *
 *   node --expose-gc --import tsx bench/kept-payloads.ts [--retained 2000] [--traffic 500]
 */
import net from 'node:net'
import {parseArgs} from 'node:util'
import mqttPacket from 'mqtt-packet'
import {Broker} from '../src/broker/broker.js'

const {values} = parseArgs({options: {retained: {type: 'string', default: '2000'}, traffic: {type: 'string', default: '500'}}})
const RETAINED = Number(values.retained)
const TRAFFIC = Number(values.traffic)
const gc = (globalThis as {gc?: () => void}).gc
if (gc === undefined) throw new Error('run with node --expose-gc')

const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent', sysInterval: 0, raiseFileLimit: false})
const [listener] = await broker.listen()
const socket = net.connect(listener!.address.port, '127.0.0.1')
await new Promise((resolve) => socket.once('connect', resolve))
socket.on('data', () => undefined)
socket.write(mqttPacket.generate({cmd: 'connect', clientId: 'busy', clean: true, keepalive: 0, protocolVersion: 4, protocolId: 'MQTT'}))

const payload = Buffer.alloc(64, 0x2e)
const noise = mqttPacket.generate({cmd: 'publish', topic: 'telemetry', payload, qos: 0, retain: false, dup: false})
gc()
const before = process.memoryUsage().arrayBuffers
for (let k = 0; k < RETAINED; k++) {
  const status = mqttPacket.generate({cmd: 'publish', topic: `status/${k}`, payload, qos: 0, retain: true, dup: false})
  socket.write(Buffer.concat([...Array<Buffer>(TRAFFIC / 2).fill(noise), status, ...Array<Buffer>(TRAFFIC / 2).fill(noise)]))
  if (k % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
}
const deadline = Date.now() + 30_000
while (broker.stats.retained < RETAINED && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
await new Promise((resolve) => setTimeout(resolve, 300))
gc()
const held = process.memoryUsage().arrayBuffers - before
console.log(
  `${broker.stats.retained} retained messages of ${payload.length} bytes, each amid ${TRAFFIC} QoS 0 messages: ` +
    `the broker holds ${(held / 1_048_576).toFixed(1)} MiB of buffers (payloads: ${((RETAINED * payload.length) / 1_048_576).toFixed(2)} MiB)`,
)
socket.destroy()
await broker.close()
