/**
 * Node leases and node death: each incarnation registers itself and renews `lease:<inc>` every quarter lease; when
 * a lease lapses one survivor adopts the dead incarnation (Lua, once): its sessions, their wills, what is left in
 * its inbox. A node that finds itself adopted while alive (fenced) drops its clients and rejoins afresh.
 */
import {randomBytes} from 'node:crypto'
import type {InflightRecord, QueuedRecord, SessionRecord, StoredMessage} from '../store/store.js'
import {ReasonCode} from '../../protocol/index.js'
import {MOVE_WINDOW_MS, forward__expireArrived, forward__expireMoved} from './forward.js'
import {inbox__drain} from './inbox.js'
import {GROUP} from './keys.js'
import type {ClusterNode} from './node.js'
import {SubscriptionIndex} from './subscription-index.js'

/** A new incarnation of a node id: each start (and each rejoin) gets its own inbox, lease and index. */
export function lease__newInc(nodeId: string): string {
  return `${nodeId}~${randomBytes(4).toString('hex')}`
}

/** Registers this incarnation with its lease and an empty inbox, then publishes its subscription index. */
export async function lease__register(node: ClusterNode): Promise<void> {
  await node.control
    .multi()
    .hset(node.keys.nodes, node.inc, JSON.stringify({nodeId: node.nodeId, startedAt: Date.now()}))
    .set(node.keys.lease(node.inc), '1', 'PX', node.leaseMs)
    .xgroup('CREATE', node.keys.inbox(node.inc), GROUP, '$', 'MKSTREAM')
    .exec()
  node.index.republish()
}

/** Every quarter lease: renew, learn who is alive, adopt whose lease lapsed, expire the move windows. */
export async function lease__tick(node: ClusterNode): Promise<void> {
  if (!node.running) return
  try {
    const renewed = await node.control.mqttkitRenew(node.keys.base, node.inc, String(node.leaseMs))
    if (renewed === 0) {
      await fenced(node)
      return
    }
    if (node.outage) {
      node.outage = false
      node.healthySince = Date.now()
      node.ctx.logger.info('cluster: Redis reachable again')
    }
    node.healthySince ??= Date.now()
    const nodes = await node.control.hgetall(node.keys.nodes)
    const others = Object.keys(nodes).filter((inc) => inc !== node.inc)
    const leases = others.length === 0 ? [] : ((await node.control.pipeline(others.map((inc) => ['exists', node.keys.lease(inc)])).exec()) ?? [])
    node.alive = new Set(others)
    // Only a node that has itself seen Redis for a whole lease judges others dead: after an outage of Redis
    // every node renews within a quarter lease, before anyone may adopt anyone.
    const judge = Date.now() - node.healthySince >= node.leaseMs
    for (let i = 0; i < others.length; i++) {
      if (leases[i]?.[1] === 0 && judge) void lease__adopt(node, others[i]!, false)
    }
    forward__expireMoved(node, Date.now())
    forward__expireArrived(node, Date.now())
  } catch (error) {
    node.trouble(error)
  }
}

/** Adopts a dead incarnation once: its sessions, its inbox, its wills. False when another node did or it lives. */
export function lease__adopt(node: ClusterNode, dead: string, force: boolean): Promise<boolean> {
  let running = node.adopting.get(dead)
  if (running === undefined) {
    running = adoptNow(node, dead, force).finally(() => node.adopting.delete(dead))
    node.adopting.set(dead, running)
  }
  return running
}

async function adoptNow(node: ClusterNode, dead: string, force: boolean): Promise<boolean> {
  const members = await node.control.mqttkitAdopt(node.keys.base, dead, node.inc, force ? '1' : '0')
  if (members === null) return false
  node.stats.adoptions++
  const snapshot = {retained: [] as StoredMessage[], sessions: [] as SessionRecord[], queued: [] as QueuedRecord[], inflight: [] as InflightRecord[]}
  for (let i = 0; i < members.length; i += 100) {
    const batch = members.slice(i, i + 100).filter((c) => node.ctx.sessions.get(c) === undefined)
    for (const data of await Promise.all(batch.map((c) => node.store.loadClient(c)))) {
      if (data.session === undefined) continue
      snapshot.sessions.push(data.session)
      snapshot.queued.push(...data.queued)
      snapshot.inflight.push(...data.inflight)
    }
  }
  const until = Date.now() + MOVE_WINDOW_MS
  for (const session of snapshot.sessions) {
    node.adopted.add(session.clientId)
    node.arrived.set(session.clientId, {until, seen: new Map()})
  }
  node.ctx.logger.info(`cluster: node ${dead} is gone; ${node.nodeId} adopts its ${snapshot.sessions.length} session(s)`)
  // Sessions that were connected there count as disconnected now: their wills go out (or wait for their delay)
  // here, once, because only one node adopts [MQTT-3.1.2-8].
  node.ctx.sessions.restore(snapshot)
  await inbox__drain(node, dead)
  node.index.dropNode(dead)
  node.alive.delete(dead)
  const k = node.keys
  node.store.command((multi) => multi.del(k.index(dead), k.inbox(dead)).xadd(k.indexLog, '*', 'n', dead, 'o', 'drop'))
  await node.store.flush().catch(() => undefined)
  return true
}

/** This node was presumed dead and adopted: its clients and sessions are elsewhere now; start afresh. */
async function fenced(node: ClusterNode): Promise<void> {
  node.ctx.logger.error(`cluster: this node (${node.inc}) was declared dead and adopted by another node; closing its clients and rejoining`)
  for (const connection of [...node.ctx.connections]) connection.close(ReasonCode.SessionTakenOver, 'node rejoining the cluster')
  for (const session of [...node.ctx.sessions.values()]) node.ctx.sessions.release(session)
  // What those closes and this node's clients changed before belongs to the sessions the adopter holds now.
  node.store.discardPending()
  node.inc = lease__newInc(node.nodeId)
  node.index = new SubscriptionIndex(node.keys, node.inc, (add) => node.store.command(add))
  await lease__register(node)
}
