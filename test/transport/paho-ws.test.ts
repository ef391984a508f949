/**
 * Python paho-mqtt (Debian's python3-paho-mqtt, run with /usr/bin/python3) over WebSocket and secure WebSocket:
 * a third-party client whose framing differs from mqtt.js's (it writes the WebSocket frames itself).
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Broker} from '../../src/broker/broker.js'
import {requirePythonModule} from '../helpers/system.js'
import {pki__make, type TestPki} from './certs.js'
import {broker__start, mqtt__closeAll, mqtt__connect, mqtt__next, portOf} from './harness.js'

const run = promisify(execFile)

// Subscribes to `topic`, publishes `payload` to it at QoS 1 and prints what came back (MQTT 3.1.1 or 5).
const SCRIPT = `
import sys, ssl, threading
import paho.mqtt.client as mqtt
port, path, version, ca, topic, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
got = threading.Event()
result = {}
c = mqtt.Client(client_id="paho-ws-" + str(version), transport="websockets",
                protocol=mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311)
c.ws_set_options(path=path)
if ca:
    c.tls_set(ca_certs=ca)
def on_connect(client, userdata, flags, rc, properties=None):
    client.subscribe(topic, qos=1)
def on_subscribe(client, userdata, mid, granted, properties=None):
    client.publish(topic, payload, qos=1)
    client.publish("paho/out", "from paho", qos=1)
def on_message(client, userdata, message):
    result["payload"] = message.payload.decode()
    got.set()
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("127.0.0.1", int(port), keepalive=30)
c.loop_start()
ok = got.wait(10)
c.disconnect()
c.loop_stop()
print(result.get("payload", "") if ok else "TIMEOUT")
`

let pki: TestPki
let broker: Broker

beforeAll(async () => {
  pki = pki__make()
  broker = await broker__start([
    {type: 'tcp', host: '127.0.0.1', port: 0},
    {type: 'ws', host: '127.0.0.1', port: 0},
    {type: 'wss', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey},
  ])
})

afterAll(async () => {
  await mqtt__closeAll()
  await broker?.close()
  pki?.cleanup()
})

describe('paho-mqtt over WebSocket', () => {
  const cases = [
    {name: 'ws:// MQTT 3.1.1 on /mqtt', type: 'ws', path: '/mqtt', version: 4},
    {name: 'ws:// MQTT 5 on /', type: 'ws', path: '/', version: 5},
    {name: 'wss:// MQTT 5 on /mqtt', type: 'wss', path: '/mqtt', version: 5},
  ] as const
  for (const c of cases) {
    it(`paho ${c.name}: its own message comes back and an mqtt.js client on TCP sees it`, async (ctx) => {
      if (!requirePythonModule(ctx, 'paho.mqtt.client', 'python3-paho-mqtt')) return
      const watcher = await mqtt__connect(`mqtt://127.0.0.1:${portOf(broker, 'tcp')}`)
      await watcher.subscribeAsync('paho/out', {qos: 1})
      const seen = mqtt__next(watcher, 'paho/out')
      const ca = c.type === 'wss' ? pki.ca : ''
      const args = ['-c', SCRIPT, String(portOf(broker, c.type)), c.path, String(c.version), ca, `paho/${c.type}/${c.version}`, `hello ${c.name}`]
      const {stdout} = await run('/usr/bin/python3', args, {timeout: 20_000})
      expect(stdout.trim()).toBe(`hello ${c.name}`)
      expect((await seen).payload.toString()).toBe('from paho')
    })
  }
})
