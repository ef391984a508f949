/** GET /stats (counters and rates), GET /metrics (Prometheus), GET /events (the page's live stream, server-sent events). */
import type {FastifyInstance} from 'fastify'
import type {Registry} from 'prom-client'
import type {Broker} from '../../broker/broker.js'
import type {StatsSampler} from '../sampler.js'

export function routes__live(app: FastifyInstance, broker: Broker, sampler: StatsSampler, registry: Registry, version: string): void {
  app.get('/stats', async () => {
    const stats = broker.stats
    return {
      version,
      uptimeSeconds: Math.round((Date.now() - stats.startedAt) / 1000),
      store: broker.store.name,
      counters: stats,
      rates: sampler.latest ?? null,
    }
  })

  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })

  // Server-sent events rather than a WebSocket: one-way is all the page needs, EventSource reconnects by itself and
  // sends the session cookie like any same-origin request. `history` first (for the charts), then `stats` every
  // second and `clients` when a client connects or disconnects (at most every 250 ms).
  app.get('/events', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no'})
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    send('history', sampler.history)
    const onSample = (sample: unknown) => send('stats', sample)
    let pending: NodeJS.Timeout | undefined
    const onClients = () => {
      pending ??= setTimeout(() => {
        pending = undefined
        send('clients', {count: broker.clients.count})
      }, 250)
    }
    sampler.on('sample', onSample)
    broker.on('clientConnected', onClients)
    broker.on('clientDisconnected', onClients)
    broker.on('subscribe', onClients)
    broker.on('unsubscribe', onClients)
    request.raw.on('close', () => {
      clearTimeout(pending)
      sampler.off('sample', onSample)
      broker.off('clientConnected', onClients)
      broker.off('clientDisconnected', onClients)
      broker.off('subscribe', onClients)
      broker.off('unsubscribe', onClients)
    })
  })
}
