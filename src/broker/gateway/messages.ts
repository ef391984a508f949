/**
 * The JSON gateway's wire format: parsing and checking what a client sends, and the shapes it gets back.
 * Everything a client can get wrong is answered with a readable reason; nothing here throws.
 */
import {isUtf8} from 'node:buffer'
import {topic__validateFilter, topic__validateName} from '../topics/validate.js'

export type QoS = 0 | 1 | 2
type RequestId = string | number

export type GatewayRequest =
  | {type: 'connect'; id?: RequestId; clientId?: string; username?: string; password?: string}
  | {type: 'subscribe'; id?: RequestId; topic: string; qos: QoS}
  | {type: 'unsubscribe'; id?: RequestId; topic: string}
  | {type: 'publish'; id?: RequestId; topic: string; payload: Buffer; qos: QoS; retain: boolean}
  | {type: 'ping'; id?: RequestId}

export type GatewayReply =
  | {type: 'connected'; clientId: string}
  | {type: 'subscribed'; id?: RequestId; topic: string; qos: QoS}
  | {type: 'unsubscribed'; id?: RequestId; topic: string}
  | {type: 'published'; id?: RequestId; topic: string}
  | {type: 'message'; topic: string; payload: string; encoding?: 'base64'; qos: QoS; retain: boolean}
  | {type: 'pong'; id?: RequestId}
  | {type: 'error'; id?: RequestId; message: string}

export type ParseResult = {ok: true; request: GatewayRequest} | {ok: false; id?: RequestId; message: string}

const TYPES = new Set(['connect', 'subscribe', 'unsubscribe', 'publish', 'ping'])

export function messages__parse(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return {ok: false, message: `not valid JSON: ${(error as Error).message}`}
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {ok: false, message: 'a message must be a JSON object with a "type"'}
  }
  const m = value as Record<string, unknown>
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined
  const fail = (message: string): ParseResult => (id === undefined ? {ok: false, message} : {ok: false, id, message})
  if (typeof m.type !== 'string' || !TYPES.has(m.type)) {
    return fail(`unknown "type" ${JSON.stringify(m.type)}: use ${[...TYPES].join(', ')}`)
  }
  const withId = <T extends object>(request: T): T => (id === undefined ? request : {...request, id})
  if (m.type === 'ping') return {ok: true, request: withId({type: 'ping'})}
  if (m.type === 'connect') {
    for (const key of ['clientId', 'username', 'password'] as const) {
      if (m[key] !== undefined && typeof m[key] !== 'string') return fail(`"${key}" must be a string`)
    }
    const request = {type: 'connect' as const, ...pick(m, ['clientId', 'username', 'password'])}
    return {ok: true, request: withId(request)}
  }
  if (typeof m.topic !== 'string') return fail('"topic" must be a string')
  const topic = m.topic
  const qos = m.qos === undefined ? 0 : m.qos
  if (qos !== 0 && qos !== 1 && qos !== 2) return fail('"qos" must be 0, 1 or 2')
  if (m.type === 'subscribe' || m.type === 'unsubscribe') {
    // Checked here, not left to the broker: an invalid filter would make it end the whole session.
    const problem = topic__validateFilter(topic)
    if (problem !== null) return fail(`${JSON.stringify(topic)}: ${problem}`)
    return {ok: true, request: withId(m.type === 'subscribe' ? {type: 'subscribe', topic, qos} : {type: 'unsubscribe', topic})}
  }
  const problem = topic__validateName(topic)
  if (problem !== null) return fail(`${JSON.stringify(topic)}: ${problem}`)
  if (m.retain !== undefined && typeof m.retain !== 'boolean') return fail('"retain" must be true or false')
  const payload = m.payload === undefined ? '' : m.payload
  if (typeof payload !== 'string') return fail('"payload" must be a string (send JSON as text, binary as base64)')
  if (m.encoding !== undefined && m.encoding !== 'utf8' && m.encoding !== 'base64') {
    return fail('"encoding" must be "utf8" or "base64"')
  }
  if (m.encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) return fail('"payload" is not valid base64')
  const bytes = Buffer.from(payload, m.encoding === 'base64' ? 'base64' : 'utf8')
  return {ok: true, request: withId({type: 'publish', topic, payload: bytes, qos, retain: m.retain === true})}
}

/** A payload is sent as text when it is valid UTF-8, otherwise as base64 with `"encoding":"base64"`. */
export function messages__message(topic: string, payload: Buffer, qos: QoS, retain: boolean): GatewayReply {
  if (payload.length === 0 || isUtf8(payload)) return {type: 'message', topic, payload: payload.toString('utf8'), qos, retain}
  return {type: 'message', topic, payload: payload.toString('base64'), encoding: 'base64', qos, retain}
}

function pick(m: Record<string, unknown>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of keys) if (typeof m[key] === 'string') out[key] = m[key] as string
  return out
}
