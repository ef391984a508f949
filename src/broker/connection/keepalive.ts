/**
 * Keepalive [MQTT-3.1.2-24]: a connected client silent for 1.5 times its keepalive is disconnected. One sweep a
 * second over each broker's connected clients does it, instead of a timer per connection: a Node timer with its
 * argument list costs ~0.2 KiB per connection, which at tens of thousands of idle clients is most of what
 * keeping them costs after the socket itself (docs/benchmarks.md, memory per idle connection). A sweep reads two
 * numbers per client, ~0.2 ms for 20,000 clients. A silent client is closed between 1.5 × keepalive and that plus
 * one sweep interval, never before.
 */
import type {BrokerContext} from '../context.js'
import type {Connection} from './connection.js'

export const KEEPALIVE_SWEEP_MS = 1000

/** Brokers with connected clients that have a keepalive; the sweep forgets a broker once it has no client. */
const watched = new Set<BrokerContext>()
let sweeper: NodeJS.Timeout | null = null

/** Called when a connection with a keepalive completed CONNECT. */
export function keepalive__watch(ctx: BrokerContext): void {
  watched.add(ctx)
  if (sweeper === null) {
    sweeper = setInterval(keepalive__sweep, KEEPALIVE_SWEEP_MS)
    sweeper.unref()
  }
}

let sweepNow = 0

function sweepOne(connection: Connection): void {
  const keepalive = connection.keepalive
  if (keepalive === 0 || sweepNow - connection.lastActivity < keepalive * 1500) return
  try {
    connection.checkKeepalive(sweepNow)
  } catch (error) {
    // One client's failure must neither end the process nor stop the sweep for the others.
    connection.ctx.logger.error(`client ${connection.label}: keepalive check failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    connection.stream.destroy()
  }
}

/** @internal one pass: every client past its deadline is asked to check and close itself. */
export function keepalive__sweep(): void {
  const now = Date.now()
  for (const ctx of watched) {
    if (ctx.clients.size === 0) {
      watched.delete(ctx)
      continue
    }
    // forEach, not for-of: the iterator allocated a result object per client (~0.8 MB/s at 20,000 idle clients),
    // which kept the young generation from ever going quiet. Closing a connection during the loop is allowed.
    sweepNow = now
    ctx.clients.forEach(sweepOne)
  }
  if (watched.size === 0 && sweeper !== null) {
    clearInterval(sweeper)
    sweeper = null
  }
}
