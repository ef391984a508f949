import type {Connection} from '../connection/connection.js'

const PINGRESP = Buffer.from([0xd0, 0x00])

/** [MQTT-3.12.4-1] answer every PINGREQ with a PINGRESP (the same two bytes for every protocol level). */
export function handlePingreq(connection: Connection): void {
  connection.write(PINGRESP)
}
