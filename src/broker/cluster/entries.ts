/**
 * Entries of a node's inbox stream, as XADD field/value lists and back. Kinds:
 *   m    a message published on another node: deliver to the plain subscriptions here (`p` = 1) and/or to one
 *        member of each listed shared group (`g`); also updates the retained tree when it is retained
 *   f    a message forwarded for one client whose session moved here (the old node still matched it)
 *   rel  "release client c to node n": the owner closes it (0x8E) and hands its session over
 *   ok   "client c is yours": the session in Redis is complete, load it
 * `via` (added by the route script) names the dead node whose inbox the entry was meant for.
 */
import {redisCodec__message, redisCodec__toMessage} from '../store/redis-codec.js'
import type {StoredMessage} from '../store/store.js'

export type Entry =
  | {k: 'm'; id: string; from: string | null; plain: boolean; groups: string[]; message: StoredMessage; via?: string}
  | {k: 'f'; id: string; client: string; message: StoredMessage; via?: string}
  | {k: 'rel'; client: string; node: string; via?: string}
  | {k: 'ok'; client: string; node: string; via?: string}

export type Fields = Array<string | Buffer>

const SEP = '\u0000'

export function entry__message(id: string, from: string | null, plain: boolean, groups: string[], message: StoredMessage): Fields {
  const fields: Fields = ['k', 'm', 'id', id, 'm', redisCodec__message(message)]
  if (from !== null) fields.push('from', from)
  if (plain) fields.push('p', '1')
  if (groups.length > 0) fields.push('g', groups.join(SEP))
  return fields
}

export function entry__forward(id: string, client: string, message: StoredMessage): Fields {
  return ['k', 'f', 'id', id, 'c', client, 'm', redisCodec__message(message)]
}

export function entry__control(k: 'rel' | 'ok', client: string, node: string): Fields {
  return ['k', k, 'c', client, 'n', node]
}

/** A stream entry's field list (Buffers, as read with xreadgroupBuffer) -> Entry; null for an unknown kind. */
export function entry__decode(raw: Buffer[]): Entry | null {
  const f = new Map<string, Buffer>()
  for (let i = 0; i + 1 < raw.length; i += 2) f.set(raw[i]!.toString(), raw[i + 1]!)
  const text = (name: string) => f.get(name)?.toString()
  const k = text('k')
  const via = text('via')
  const extra = via === undefined ? {} : {via}
  if (k === 'm') {
    const groups = text('g')
    return {k, id: text('id') ?? '', from: text('from') ?? null, plain: text('p') === '1', groups: groups ? groups.split(SEP) : [], message: redisCodec__toMessage(f.get('m')!), ...extra}
  }
  if (k === 'f') return {k, id: text('id') ?? '', client: text('c') ?? '', message: redisCodec__toMessage(f.get('m')!), ...extra}
  if (k === 'rel' || k === 'ok') return {k, client: text('c') ?? '', node: text('n') ?? '', ...extra}
  return null
}
