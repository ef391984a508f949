/**
 * Bytes the broker's outbound topic aliases save (issue 18 item 11): one publisher → one MQTT 5 subscriber, N QoS 0
 * messages round-robin over 10 topics, received twice at once — by a subscriber announcing Topic Alias Maximum 10 and
 * by one announcing none. Counts the bytes each socket received for the PUBLISH packets (every byte after SUBACK).
 *
 *   npm run bench:aliases -- [--messages 10000] [--topic-length 48] [--payload 16] [--alias-maximum 10] [--json]
 */
import net from 'node:net'
import {parseArgs} from 'node:util'
import mqttPacket, {type Packet} from 'mqtt-packet'
import {Broker} from '../src/index.js'

const {values} = parseArgs({
  options: {
    messages: {type: 'string', default: '10000'},
    'topic-length': {type: 'string', default: '48'},
    payload: {type: 'string', default: '16'},
    'alias-maximum': {type: 'string', default: '10'},
    json: {type: 'boolean', default: false},
  },
})
const MESSAGES = Number(values.messages)
const TOPICS = 10
const PAYLOAD = Buffer.alloc(Number(values.payload), 0x61)
// Topics like fleet/sensor-0001/building-07/floor-03/temperature: ten distinct ones of the asked length (>= 18).
const topics = Array.from({length: TOPICS}, (_, i) => {
  const head = `fleet/sensor-${String(i).padStart(4, '0')}/`
  const tail = 'building-07/floor-03/temperature/'.repeat(4)
  return (head + tail).slice(0, Math.max(head.length + 1, Number(values['topic-length'])))
})

interface Counted {
  bytes: number
  publishes: number
  aliased: number
  done: Promise<void>
}

function subscriber(port: number, id: string, topicAliasMaximum: number): Promise<Counted> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const parser = mqttPacket.parser({protocolVersion: 5})
    let subscribed = false
    let finish: () => void = () => {}
    const counted: Counted = {bytes: 0, publishes: 0, aliased: 0, done: new Promise((r) => (finish = r))}
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') socket.write(mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'fleet/#', qos: 0}]}, {protocolVersion: 5}))
      else if (p.cmd === 'suback') {
        subscribed = true
        resolve(counted)
      } else if (p.cmd === 'publish') {
        counted.publishes++
        if (p.properties?.topicAlias !== undefined && p.topic === '') counted.aliased++
        if (counted.publishes === MESSAGES) finish()
      }
    })
    socket.on('data', (chunk: Buffer) => {
      if (subscribed) counted.bytes += chunk.length
      parser.parse(chunk)
    })
    socket.on('error', reject)
    const properties = topicAliasMaximum > 0 ? {topicAliasMaximum} : undefined
    socket.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: id, clean: true, keepalive: 60, properties}, {protocolVersion: 5}))
  })
}

const broker = new Broker({listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], logLevel: 'silent'})
const [listener] = await broker.listen()
const port = listener!.address.port
const ALIAS_MAXIMUM = Number(values['alias-maximum'])
const withAliases = await subscriber(port, 'alias-n', ALIAS_MAXIMUM)
const without = await subscriber(port, 'alias-0', 0)

const pub = net.connect(port, '127.0.0.1')
await new Promise((r) => pub.once('connect', r))
pub.write(mqttPacket.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'alias-pub', clean: true, keepalive: 60}, {protocolVersion: 5}))
for (let i = 0; i < MESSAGES; i++) {
  const ok = pub.write(mqttPacket.generate({cmd: 'publish', topic: topics[i % TOPICS]!, payload: PAYLOAD, qos: 0, retain: false, dup: false}, {protocolVersion: 5}))
  if (!ok) await new Promise((r) => pub.once('drain', r))
}
await Promise.race([Promise.all([withAliases.done, without.done]), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out waiting for deliveries')), 60_000))])

const result = {
  messages: MESSAGES,
  topics: TOPICS,
  topicAliasMaximum: ALIAS_MAXIMUM,
  topicLength: topics[0]!.length,
  payloadBytes: PAYLOAD.length,
  withoutAliases: {bytes: without.bytes, bytesPerMessage: +(without.bytes / MESSAGES).toFixed(2)},
  withAliases: {bytes: withAliases.bytes, bytesPerMessage: +(withAliases.bytes / MESSAGES).toFixed(2), aliasOnly: withAliases.aliased},
  savedBytes: without.bytes - withAliases.bytes,
  savedPercent: +((100 * (without.bytes - withAliases.bytes)) / without.bytes).toFixed(1),
}
if (values.json) console.log(JSON.stringify(result, null, 2))
else {
  console.log(`${MESSAGES} messages over ${TOPICS} topics of ${result.topicLength} bytes, ${PAYLOAD.length}-byte payloads, 1 → 1, MQTT 5 QoS 0`)
  console.log(`  Topic Alias Maximum 0 : ${without.bytes} bytes (${result.withoutAliases.bytesPerMessage} per message)`)
  console.log(`  Topic Alias Maximum ${ALIAS_MAXIMUM}: ${withAliases.bytes} bytes (${result.withAliases.bytesPerMessage} per message; ${withAliases.aliased} sent as alias only)`)
  console.log(`  saved ${result.savedBytes} bytes (${result.savedPercent}%)`)
}
pub.destroy()
await broker.close()
process.exit(0)
