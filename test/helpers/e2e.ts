/** One afterEach for every e2e suite: stops brokers, clients and child processes the test started. */
import {brokers__cleanup} from './brokers.js'
import {mosq__cleanup} from './mosquitto-clients.js'
import {mqttjs__cleanup} from './mqttjs.js'
import {paho__cleanup} from './paho.js'
import {raw__cleanup} from './raw.js'

export async function e2e__cleanup(): Promise<void> {
  raw__cleanup()
  await Promise.allSettled([mqttjs__cleanup(), paho__cleanup(), mosq__cleanup()])
  await brokers__cleanup()
}
