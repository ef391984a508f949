/**
 * A DISCONNECT that arrives, with the socket's end, while an async hook still holds the client's earlier packets
 * back must end the connection normally: no will.
 */
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {cleanup, connect, delay, noMessage, startBroker} from './helpers.js'

afterEach(cleanup)

describe('will and a DISCONNECT waiting behind an async handler', () => {
  it('[MQTT-3.1.2-10] [MQTT-3.14.4-3] SUBSCRIBE, DISCONNECT and FIN in one write: the will is discarded', async () => {
    // authorizeSubscribe answers later, so the DISCONNECT behind the SUBSCRIBE waits in the connection's backlog.
    const {port} = await startBroker({hooks: {authorizeSubscribe: () => delay(200).then(() => true)}})
    const watcher = await connect(port)
    await watcher.subscribeAsync('backlog/will', {qos: 1})

    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const connectPacket = mqttPacket.generate({
      cmd: 'connect', protocolVersion: 4, clientId: 'backlog-will', clean: true, keepalive: 60,
      will: {topic: 'backlog/will', payload: Buffer.from('must-not-appear'), qos: 1, retain: false},
    })
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve())
      socket.write(connectPacket)
    })
    socket.end(Buffer.concat([
      mqttPacket.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'backlog/other', qos: 0}]}),
      mqttPacket.generate({cmd: 'disconnect'}),
    ]))
    expect(await noMessage(watcher, 800)).toBe(true)
  })
})
