/**
 * The yardstick for the load generator: a plain mqtt.js QoS 0 publish loop from one process, as a typical
 * JavaScript MQTT benchmark tool drives it. It publishes 32-byte messages on `bench/0` for a fixed time, in
 * batches that yield to the event loop, and counts the messages mqtt.js reports written.
 *
 *   npx tsx bench/mqttjs-baseline.ts --url mqtt://127.0.0.1:1883 --duration 10 [--publishers 1] [--size 32]
 *
 * Prints one JSON line: {"publishers", "sent", "elapsedSec", "msgPerSec", "cpuSec", "cpuUsPerMsg"} (CPU of this
 * process while publishing: what one core's worth of this loop can drive is 1e6 / cpuUsPerMsg).
 */
import mqtt from 'mqtt'
import {parseArgs} from 'node:util'

const {values} = parseArgs({
  options: {
    url: {type: 'string', default: 'mqtt://127.0.0.1:1883'},
    duration: {type: 'string', default: '10'},
    publishers: {type: 'string', default: '1'},
    size: {type: 'string', default: '32'},
  },
})
const durationMs = Number(values.duration) * 1000
const payload = Buffer.alloc(Number(values.size))
const clients = await Promise.all(
  Array.from({length: Number(values.publishers)}, (_, i) =>
    mqtt.connectAsync(values.url!, {clientId: `baseline-${i}-${process.pid}`, reconnectPeriod: 0}),
  ),
)

let sent = 0
const start = performance.now()
const cpuStart = process.cpuUsage()
await Promise.all(
  clients.map(
    (client, i) =>
      new Promise<void>((resolve) => {
        const topic = `bench/${i}`
        const loop = (): void => {
          if (performance.now() - start >= durationMs) return resolve()
          // A batch per turn keeps the loop responsive (mqtt.js needs its own callbacks to run) yet fast.
          for (let k = 0; k < 1000; k++) client.publish(topic, payload, {qos: 0}, () => sent++)
          // Respect backpressure as a real tool must, or memory grows without bound.
          if ((client.stream as unknown as {writableNeedDrain: boolean}).writableNeedDrain)
            client.stream.once('drain', loop)
          else setImmediate(loop)
        }
        loop()
      }),
  ),
)
const elapsed = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpuStart)
await Promise.all(clients.map((c) => c.endAsync()))
console.log(JSON.stringify({publishers: clients.length, sent, elapsedSec: Math.round(elapsed * 1000) / 1000, msgPerSec: Math.round(sent / elapsed), cpuSec: (cpu.user + cpu.system) / 1e6, cpuUsPerMsg: Math.round(((cpu.user + cpu.system) / sent) * 1000) / 1000}))
