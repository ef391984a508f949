/**
 * What happens when a connection ends, whatever the cause (DISCONNECT, socket loss, keepalive timeout, takeover,
 * protocol error, shutdown): the will decision, the session's fate, counters, hooks and events.
 */
import {events__emit, hooks__notify} from '../handlers/hook-call.js'
import type {Connection} from './connection.js'

export function connection__closed(connection: Connection, wasConnected: boolean): void {
  const ctx = connection.ctx
  ctx.connections.delete(connection)
  if (!wasConnected) return
  const session = connection.session
  const client = connection.client!
  ctx.stats.clientsConnected--
  // A taken-over connection is no longer the registered one: the new connection owns the id and the session.
  if (ctx.clients.get(connection.clientId) === connection) ctx.clients.delete(connection.clientId)

  const will = connection.will
  connection.will = null
  if (session !== null && session.connection === connection) {
    // [MQTT-3.1.2-8] the will goes out when the connection ends without a normal DISCONNECT; MQTT 5 may delay it
    // until the will delay passes or the session ends, whichever comes first [MQTT-3.1.3-9].
    if (will !== null && !connection.willDiscarded) {
      if (will.delayInterval > 0 && session.persistent) session.will = will
      else ctx.sessions.publishWill(connection.clientId, will, client)
    }
    ctx.sessions.disconnected(session)
  } else if (will !== null && !connection.willDiscarded) {
    ctx.sessions.publishWill(connection.clientId, will, client)
  }
  ctx.logger.info(`client ${connection.label} disconnected: ${connection.closeReason}`)
  hooks__notify(ctx, 'onDisconnect', client, connection.closeReason)
  events__emit(ctx, 'clientDisconnected', client, connection.closeReason)
}
