/** GET /clients (paged, filtered), GET /clients/{id}, DELETE /clients/{id} (kick; ?session=true discards the session). */
import type {FastifyInstance} from 'fastify'
import type {Broker} from '../../broker/broker.js'
import {ApiError} from '../errors.js'

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new ApiError(400, 'invalid_query', `${name} must be an integer from ${min} to ${max}`, name)
  return n
}

function flag(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ApiError(400, 'invalid_query', `${name} must be true or false`, name)
}

export function routes__clients(app: FastifyInstance, broker: Broker): void {
  app.get('/clients', async (request) => {
    const q = request.query as Record<string, string | undefined>
    const page = integer(q.page, 'page', 1, 1, 1_000_000)
    const limit = integer(q.limit, 'limit', 100, 1, 1000)
    const all = broker.clients.list({clientid: q.clientid || undefined, username: q.username || undefined, connected: flag(q.connected, 'connected')})
    return {data: all.slice((page - 1) * limit, page * limit), meta: {page, limit, count: all.length}}
  })

  app.get('/clients/:id', async (request) => {
    const {id} = request.params as {id: string}
    const view = broker.clients.get(id)
    if (view === undefined) throw new ApiError(404, 'no_such_client', `no client ${id}`)
    return view
  })

  app.delete('/clients/:id', async (request, reply) => {
    const {id} = request.params as {id: string}
    const discardSession = flag((request.query as Record<string, string | undefined>).session, 'session') ?? false
    if (!broker.clients.kick(id, {discardSession})) throw new ApiError(404, 'no_such_client', `no client ${id}`)
    return reply.code(204).send()
  })
}
