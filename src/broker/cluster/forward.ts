/**
 * Cross-node routing, the router's side of a cluster node: which other nodes a PUBLISH goes to (one inbox entry
 * each, in the store's next commit), which local deliveries a routed message may make, and the move window that
 * keeps a session from losing or doubling messages while it changes nodes (takeover.ts, lease.ts open it).
 */
import type {StoredMessage} from '../store/store.js'
import {entry__forward, entry__message} from './entries.js'
import type {ClusterNode} from './node.js'
import type {ClusterRedis} from './scripts.js'

/** What restricts one routed message to some deliveries (absent: every matching subscription). */
export interface Restriction {
  plain: boolean
  /** Shared groups (`$share/g/filter`) to deliver to; null: all. */
  groups: Set<string> | null
  /** Shared groups another node takes this message for. */
  skip: Set<string> | null
  /** Only these clients (a forwarded message, or what a dead node's inbox held: its adopted sessions). */
  only: ((clientId: string) => boolean) | null
}

/** How long a moved session's old node forwards what it still matches, and the new one drops duplicates. */
export const MOVE_WINDOW_MS = 60_000
/** Pending store mutations past which QoS 0 is not forwarded to other nodes (the slow-reader policy, cluster-wide). */
const QOS0_BACKLOG = 20_000

/** A message accepted on this node: one inbox entry for each other node whose subscription index matches. */
export function forward__published(node: ClusterNode, message: StoredMessage, from: string | null): void {
  // $SYS topics describe one node: they stay on it.
  if (!node.running || message.topic.startsWith('$SYS/')) return
  const id = `${node.inc}:${++node.seq}`
  node.ids.set(message, id)
  const targets = new Map<string, {plain: boolean; groups: string[]}>()
  const target = (inc: string) => {
    let t = targets.get(inc)
    if (t === undefined) targets.set(inc, (t = {plain: false, groups: []}))
    return t
  }
  node.index.plain.match(message.topic, (inc) => {
    target(inc).plain = true
  })
  let groups: Map<string, string[]> | undefined
  node.index.shared.match(message.topic, (_key, {group, inc}) => {
    const list = (groups ??= new Map()).get(group)
    if (list === undefined) groups!.set(group, [inc])
    else list.push(inc)
  })
  if (groups !== undefined) {
    let skip: Set<string> | null = null
    for (const [group, incs] of groups) {
      // [MQTT-4.8.2] one member of the group cluster-wide: first a node (this one included when it has
      // members), taking turns per group, then that node's own strategy picks the member.
      if (node.index.hasLocalGroup(group)) incs.push(node.inc)
      incs.sort()
      const turn = node.rr.get(group) ?? 0
      node.rr.set(group, turn + 1)
      const pick = incs[turn % incs.length]!
      if (pick === node.inc) continue
      target(pick).groups.push(group)
      ;(skip ??= new Set()).add(group)
    }
    if (skip !== null) node.restrictions.set(message, {plain: true, groups: null, skip, only: null})
  }
  // Every node keeps every retained message in memory: a retained PUBLISH goes to all of them.
  if (message.retain && node.ctx.options.retainAvailable) for (const inc of node.alive) target(inc)
  forward__moved(node, message, id, from)
  if (targets.size === 0) return
  // While Redis is away (or behind by more than a few commits) QoS 0 to other nodes is dropped rather than
  // piled up in memory; QoS 1/2 waits, since its acknowledgement waits for the commit.
  if (message.qos === 0 && (node.store.unavailable || node.store.pendingCount > QOS0_BACKLOG)) {
    node.ctx.stats.messagesDropped += targets.size
    return
  }
  for (const [inc, t] of targets) forward__send(node, inc, entry__message(id, from, t.plain, t.groups, message))
}

export function forward__admitPlain(node: ClusterNode, message: StoredMessage, clientId: string): boolean {
  const r = node.restrictions.get(message)
  if (r !== undefined && (!r.plain || (r.only !== null && !r.only(clientId)))) return false
  return firstCopy(node, message, clientId)
}

export function forward__admitShared(node: ClusterNode, message: StoredMessage, filter: string, clientId: string): boolean {
  const r = node.restrictions.get(message)
  if (r !== undefined) {
    if (r.skip !== null && r.skip.has(filter)) return false
    if (r.groups !== null && !r.groups.has(filter)) return false
    if (r.only !== null && !r.only(clientId)) return false
  }
  return firstCopy(node, message, clientId)
}

/** One cluster-wide message id delivered once to a session that just arrived (moved or adopted). */
function firstCopy(node: ClusterNode, message: StoredMessage, clientId: string): boolean {
  if (node.arrived.size === 0) return true
  const window = node.arrived.get(clientId)
  if (window === undefined) return true
  if (window.until < Date.now()) {
    node.arrived.delete(clientId)
    return true
  }
  const id = node.ids.get(message)
  if (id === undefined) return true
  const seen = window.seen.get(id)
  if (seen === undefined) window.seen.set(id, message)
  return seen === undefined || seen === message
}

/** One entry into another node's inbox, in the store's next commit (so PUBACK, which waits for it, covers it). */
function forward__send(node: ClusterNode, inc: string, fields: Array<string | Buffer>): void {
  node.stats.forwarded++
  const prefix = node.keys.base
  node.store.command((multi) => (multi as unknown as ClusterRedis).mqttkitRoute(prefix, inc, ...fields))
}

/** A session that moved away still matches here for a while: what it matches follows it to its new node. */
export function forward__moved(node: ClusterNode, message: StoredMessage, id: string, from: string | null): void {
  if (node.moved.size === 0) return
  const now = Date.now()
  const to = new Map<string, string>()
  node.movedTrie.match(message.topic, (clientId, sub) => {
    if (sub.noLocal && clientId === from) return
    const move = node.moved.get(clientId)
    if (move !== undefined && move.until >= now) to.set(clientId, move.to)
  })
  for (const [clientId, inc] of to) forward__send(node, inc, entry__forward(id, clientId, message))
  if (to.size === 0) forward__expireMoved(node, now)
}

/** Sessions that arrived more than MOVE_WINDOW_MS ago need no duplicate check, nor the adopted-only rule. */
export function forward__expireArrived(node: ClusterNode, now: number): void {
  for (const [clientId, window] of node.arrived) {
    if (window.until >= now) continue
    node.arrived.delete(clientId)
    node.adopted.delete(clientId)
  }
}

export function forward__expireMoved(node: ClusterNode, now: number): void {
  for (const [clientId, move] of node.moved) {
    if (move.until >= now) continue
    node.moved.delete(clientId)
    for (const filter of move.filters) node.movedTrie.remove(filter, clientId)
  }
}
