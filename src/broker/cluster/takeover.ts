/**
 * Session ownership between nodes: a client's session lives on one node (the `owner` hash). CONNECT on another
 * node claims it (Lua, scripts.ts); a live owner is asked to release it, closes the old connection with 0x8E and
 * hands the session over in the same commit as its last writes; the claimer then loads it from Redis.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import type {Connection} from '../connection/connection.js'
import {topic__parseShared} from '../topics/index.js'
import {ReasonCode} from '../../protocol/index.js'
import {entry__control} from './entries.js'
import {MOVE_WINDOW_MS} from './forward.js'
import type {ClusterNode} from './node.js'

export interface PendingClaim {
  done: Promise<void>
  released: () => void
  /** Release requests that came while the claim was running, answered once it is settled. */
  deferred: string[]
}

const CLAIM_TIMEOUT_MS = 15_000

/** Before CONNECT takes the session: make this node its owner, or reject with the reason CONNACK gives. */
export async function takeover__claim(node: ClusterNode, connection: Connection): Promise<void> {
  const clientId = connection.clientId
  if (!node.running || node.store.unavailable) throw new Error('server unavailable: the cluster store (Redis) cannot be reached')
  const earlier = node.claims.get(clientId)
  if (earlier !== undefined) await earlier.done
  let released!: () => void
  const pending: PendingClaim = {done: new Promise<void>((resolve) => (released = resolve)), released: () => released(), deferred: []}
  let signal: (() => void) | null = null
  pending.released = () => signal?.()
  node.claims.set(clientId, pending)
  const deadline = Date.now() + CLAIM_TIMEOUT_MS
  try {
    for (;;) {
      if (connection.state === 'closed') return
      if (Date.now() > deadline) throw new Error(`server unavailable: the node holding session ${clientId} did not hand it over`)
      let answer: string[]
      try {
        answer = await node.control.mqttkitClaim(node.keys.base, clientId, node.inc)
      } catch {
        throw new Error('server unavailable: the cluster store (Redis) cannot be reached')
      }
      const [state, owner] = answer
      if (state === 'new' || state === 'self') {
        if (node.ctx.sessions.get(clientId) === undefined) await install(node, clientId, false)
        return
      }
      if (state === 'live') {
        node.stats.takeovers++
        const handed = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1000)
          signal = () => {
            clearTimeout(timer)
            resolve(true)
          }
        })
        await node.control.mqttkitRoute(node.keys.base, owner!, ...entry__control('rel', clientId, node.inc)).catch(() => undefined)
        const ok = await handed
        signal = null
        if (ok && node.ctx.sessions.get(clientId) !== undefined) return
        continue
      }
      if (state === 'dead') {
        // Through the node, not lease.ts: adoption drains inboxes, whose entries call back into this module.
        await node.adopt(owner!, false)
        continue
      }
      await sleep(100)
    }
  } finally {
    node.claims.delete(clientId)
    released()
    // Requests to release it that came meanwhile: after connect__accept ran (the claim's then).
    if (pending.deferred.length > 0) setImmediate(() => {
      for (const to of pending.deferred) void takeover__release(node, clientId, to)
    })
  }
}

/** Another node wants the client: close it here (0x8E), hand the session over through the next commit. */
export async function takeover__release(node: ClusterNode, clientId: string, to: string): Promise<void> {
  // Our own request, found in the inbox of a node we adopted since: we hold the session already.
  if (to === node.inc) return
  const pending = node.claims.get(clientId)
  if (pending !== undefined) {
    pending.deferred.push(to)
    return
  }
  const session = node.ctx.sessions.get(clientId)
  if (session !== undefined) {
    // [MQTT-3.1.4-3] the existing connection is closed; MQTT 5: DISCONNECT 0x8E (Session taken over).
    session.connection?.close(ReasonCode.SessionTakenOver, 'session taken over by another node')
    if (node.ctx.sessions.get(clientId) === session) {
      const filters = [...session.subscriptions.values()]
      node.ctx.sessions.release(session)
      node.moved.set(clientId, {to, until: Date.now() + MOVE_WINDOW_MS, filters: filters.map((f) => f.filter)})
      for (const sub of filters) {
        const shared = topic__parseShared(sub.filter)
        node.movedTrie.add(shared === null ? sub.filter : shared.filter, clientId, sub)
      }
    }
  }
  const k = node.keys
  const me = node.inc
  // Only the owner hands over (a stale request finds the client gone and is ignored; its sender asks again).
  node.store.command((multi) =>
    multi.eval(TRANSFER, 1, k.base, clientId, me, to, ...entry__control('ok', clientId, me)),
  )
}

/** The old owner handed the session over: load it from Redis (its last writes came in the same commit). */
export async function takeover__received(node: ClusterNode, clientId: string): Promise<void> {
  if (node.ctx.sessions.get(clientId) === undefined) await install(node, clientId, true)
  node.claims.get(clientId)?.released()
}

async function install(node: ClusterNode, clientId: string, moved: boolean): Promise<void> {
  const data = await node.store.loadClient(clientId)
  if (data.session === undefined || node.ctx.sessions.get(clientId) !== undefined) return
  node.ctx.sessions.restore({retained: [], sessions: [data.session], queued: data.queued, inflight: data.inflight})
  if (moved) node.arrived.set(clientId, {until: Date.now() + MOVE_WINDOW_MS, seen: new Map()})
}

/** Hands a client over only while `me` owns it; then tells the new owner (ARGV 4.. are the entry's fields). */
const TRANSFER = `
local base = KEYS[1]
if redis.call('HGET', base .. 'owner', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', base .. 'owner', ARGV[1], ARGV[3])
redis.call('SREM', base .. 'members:' .. ARGV[2], ARGV[1])
redis.call('SADD', base .. 'members:' .. ARGV[3], ARGV[1])
local args = {}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
redis.call('XADD', base .. 'inbox:' .. ARGV[3], '*', unpack(args))
return 1
`
