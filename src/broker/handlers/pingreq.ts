import type {Connection} from '../connection/connection.js'
import {events__emit, hooks__notify, hooks__observed} from './hook-call.js'

const PINGRESP = Buffer.from([0xd0, 0x00])

/** [MQTT-3.12.4-1] answer every PINGREQ with a PINGRESP (the same two bytes for every protocol level). */
export function handlePingreq(connection: Connection): void {
  const ctx = connection.ctx
  if (hooks__observed(ctx, 'onPing', 'ping')) {
    hooks__notify(ctx, 'onPing', connection.client!)
    events__emit(ctx, 'ping', connection.client)
  }
  connection.write(PINGRESP)
}
