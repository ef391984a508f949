/** The child process of local-broker.ts: one mqttkit Broker on 127.0.0.1, port chosen by the system. */
import {Broker} from '../index.js'

process.on('SIGINT', () => {}) // Ctrl-C goes to bench; bench stops this broker once the summary is printed.

const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent'})
try {
  const listeners = await broker.listen()
  process.send?.({type: 'listening', port: listeners[0]!.address.port})
} catch (error) {
  process.send?.({type: 'error', message: (error as Error).message})
  process.exit(1)
}
const stop = async (): Promise<void> => {
  await broker.close().catch(() => {})
  process.exit(0)
}
process.on('message', (m: {type: string}) => {
  if (m.type === 'stop') void stop()
})
process.on('disconnect', () => void stop())
