/**
 * GET /topics (subscription filters with subscribers, retained topics), GET /retained and DELETE /retained/{topic}
 * (broker.retained), POST /publish (a message published as the broker itself).
 */
import type {FastifyInstance} from 'fastify'
import type {Broker} from '../../broker/broker.js'
import type {RetainedMessage} from '../../broker/retained/api.js'
import type {MessageProperties, StoredMessage} from '../../broker/store/store.js'
import {ApiError, api__object} from '../errors.js'

export function routes__messages(app: FastifyInstance, broker: Broker): void {
  app.get('/topics', async () => {
    const retained: Array<{topic: string; size: number; qos: number}> = []
    for await (const m of broker.retained) retained.push({topic: m.topic, size: m.payload.length, qos: m.qos})
    retained.sort((a, b) => (a.topic < b.topic ? -1 : 1))
    return {subscriptions: broker.subscriptions.list(), retained}
  })

  app.get('/retained', async (request) => {
    const q = request.query as Record<string, string | undefined>
    const filter = q.filter || '#'
    const limit = Number(q.limit ?? 100)
    const page = Number(q.page ?? 1)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ApiError(400, 'invalid_query', 'limit must be an integer from 1 to 1000', 'limit')
    if (!Number.isInteger(page) || page < 1) throw new ApiError(400, 'invalid_query', 'page must be an integer from 1', 'page')
    const all: RetainedView[] = []
    try {
      await broker.retained.forEach(filter, (m) => {
        all.push(retained__view(m))
      })
    } catch (error) {
      throw new ApiError(400, 'invalid_query', (error as Error).message, 'filter')
    }
    all.sort((a, b) => (a.topic < b.topic ? -1 : 1))
    return {data: all.slice((page - 1) * limit, page * limit), meta: {page, limit, count: all.length, total: broker.retained.count, bytes: broker.retained.bytes}}
  })

  // The topic is the rest of the path (it has slashes of its own); URL-encode what is not a plain path character.
  app.delete('/retained/*', async (request, reply) => {
    const topic = (request.params as {'*': string})['*']
    let deleted: boolean
    try {
      deleted = await broker.retained.delete(topic)
    } catch (error) {
      throw new ApiError(400, 'invalid_topic', (error as Error).message, 'topic')
    }
    if (!deleted) throw new ApiError(404, 'no_such_retained', `no retained message on ${topic}`)
    return reply.code(204).send()
  })

  app.post('/publish', async (request) => {
    const message = publish__message(api__object(request.body))
    let reached: number
    try {
      reached = await broker.publish(message)
    } catch (error) {
      throw new ApiError(400, 'invalid_topic', (error as Error).message, 'topic')
    }
    return {reached}
  })
}

interface RetainedView {
  topic: string
  qos: number
  size: number
  /** The payload as text when it is valid UTF-8, else base64 (`encoding` says which); cut at 4 KiB. */
  payload: string
  encoding: 'plain' | 'base64'
  truncated: boolean
  storedAt?: number
  expiresAt?: number
  properties?: unknown
}

const SHOWN = 4096

function retained__view(m: RetainedMessage): RetainedView {
  const head = m.payload.subarray(0, SHOWN)
  const text = head.toString('utf8')
  const plain = Buffer.from(text, 'utf8').equals(head) && !text.includes('\u0000')
  const view: RetainedView = {topic: m.topic, qos: m.qos, size: m.payload.length, payload: plain ? text : head.toString('base64'), encoding: plain ? 'plain' : 'base64', truncated: m.payload.length > SHOWN}
  if (m.storedAt !== undefined) view.storedAt = m.storedAt
  if (m.expiresAt !== undefined) view.expiresAt = m.expiresAt
  if (m.properties !== undefined) view.properties = {...m.properties, correlationData: m.properties.correlationData?.toString('base64')}
  return view
}

/** The body of POST /publish as a message; a 400 naming the field for anything wrong. */
export function publish__message(body: Record<string, unknown>): StoredMessage {
  const {topic, payload = '', qos = 0, retain = false, encoding = 'plain', properties} = body
  if (typeof topic !== 'string' || topic === '') throw new ApiError(400, 'invalid_value', 'topic must be a non-empty string', 'topic')
  if (typeof payload !== 'string') throw new ApiError(400, 'invalid_value', 'payload must be a string (plain text, or base64 with encoding "base64")', 'payload')
  if (encoding !== 'plain' && encoding !== 'base64') throw new ApiError(400, 'invalid_value', 'encoding must be "plain" or "base64"', 'encoding')
  if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new ApiError(400, 'invalid_value', 'payload is not valid base64', 'payload')
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new ApiError(400, 'invalid_value', 'qos must be 0, 1 or 2', 'qos')
  if (typeof retain !== 'boolean') throw new ApiError(400, 'invalid_value', 'retain must be true or false', 'retain')
  const message: StoredMessage = {topic, payload: Buffer.from(payload, encoding === 'base64' ? 'base64' : 'utf8'), qos, retain}
  if (properties !== undefined) {
    message.properties = publish__properties(properties)
    const expiry = message.properties.messageExpiryInterval
    if (expiry !== undefined && expiry > 0) message.expiresAt = Date.now() + expiry * 1000
  }
  return message
}

function publish__properties(value: unknown): MessageProperties {
  const bad = (name: string, what: string) => new ApiError(400, 'invalid_value', `properties.${name} must be ${what}`, `properties.${name}`)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError(400, 'invalid_value', 'properties must be an object', 'properties')
  const out: MessageProperties = {}
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    switch (key) {
      case 'contentType':
      case 'responseTopic':
        if (typeof v !== 'string') throw bad(key, 'a string')
        out[key] = v
        break
      case 'correlationData':
        if (typeof v !== 'string') throw bad(key, 'a string')
        out.correlationData = Buffer.from(v, 'utf8')
        break
      case 'payloadFormatIndicator':
        if (typeof v !== 'boolean') throw bad(key, 'true or false')
        out.payloadFormatIndicator = v
        break
      case 'messageExpiryInterval':
        if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff_ffff) throw bad(key, 'an integer number of seconds')
        out.messageExpiryInterval = v as number
        break
      case 'userProperties': {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad(key, 'an object of strings')
        const props: Record<string, string | string[]> = {}
        for (const [name, item] of Object.entries(v as Record<string, unknown>)) {
          if (typeof item === 'string' || (Array.isArray(item) && item.every((x) => typeof x === 'string'))) props[name] = item as string | string[]
          else throw bad(`${key}.${name}`, 'a string or an array of strings')
        }
        out.userProperties = props
        break
      }
      default:
        throw new ApiError(400, 'invalid_value', `unknown property ${key} (contentType, responseTopic, correlationData, payloadFormatIndicator, messageExpiryInterval, userProperties)`, `properties.${key}`)
    }
  }
  return out
}
