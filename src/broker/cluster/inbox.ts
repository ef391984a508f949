/**
 * A node's readers: its inbox (a Stream, consumer group `g`) whose entries it routes to its own sessions and
 * acknowledges in the commit holding what they caused, a dead node's inbox when adopting it, and the subscription
 * index log that tells it what the other nodes subscribe to.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {type Entry, entry__decode} from './entries.js'
import {forward__moved} from './forward.js'
import {GROUP} from './keys.js'
import type {ClusterNode} from './node.js'
import {takeover__received, takeover__release} from './takeover.js'

const READ_COUNT = 256

type StreamReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]>

/** This node's inbox, until the node stops. */
export async function inbox__read(node: ClusterNode): Promise<void> {
  while (node.running) {
    // Read each time: a node that rejoins after being fenced has a new incarnation and inbox.
    const stream = node.keys.inbox(node.inc)
    try {
      const reply = (await node.reader!.callBuffer('XREADGROUP', 'GROUP', GROUP, node.inc, 'COUNT', READ_COUNT, 'BLOCK', 1000, 'STREAMS', stream, '>')) as StreamReply | null
      if (reply === null) continue
      await process(node, stream, entriesOf(reply), null)
    } catch (error) {
      if (!node.running) return
      // NOGROUP: this node was adopted and its inbox deleted; the next lease tick finds out and rejoins.
      node.trouble(error)
      await sleep(1000)
    }
  }
}

/** What the dead node read but did not acknowledge, then what it never read. */
export async function inbox__drain(node: ClusterNode, dead: string): Promise<void> {
  const stream = node.keys.inbox(dead)
  try {
    let cursor = '0-0'
    do {
      const reply = (await node.redis.callBuffer('XAUTOCLAIM', stream, GROUP, node.inc, 0, cursor, 'COUNT', READ_COUNT)) as unknown as [Buffer, Array<[Buffer, Buffer[]] | null>]
      cursor = reply[0].toString()
      await process(node, stream, reply[1].filter((e): e is [Buffer, Buffer[]] => e !== null).map(([id, f]) => [id.toString(), f]), dead)
    } while (cursor !== '0-0')
    for (;;) {
      const reply = (await node.redis.callBuffer('XREADGROUP', 'GROUP', GROUP, node.inc, 'COUNT', READ_COUNT, 'STREAMS', stream, '>')) as StreamReply | null
      const entries = reply === null ? [] : entriesOf(reply)
      if (entries.length === 0) break
      await process(node, stream, entries, dead)
    }
  } catch (error) {
    if (!/NOGROUP|no such key/i.test(String(error))) throw error
  }
}

/** The subscription index log: the other nodes' subscriptions as they change, and nodes joining or dropped. */
export async function inbox__readLog(node: ClusterNode): Promise<void> {
  while (node.running) {
    try {
      const reply = (await node.logReader!.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', node.keys.indexLog, node.index.lastLogId)) as
        | Array<[string, Array<[string, string[]]>]>
        | null
      if (reply === null) continue
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          node.index.lastLogId = id
          const f = fieldsOf(fields)
          const inc = f.get('n')
          if (inc === undefined) continue
          if (inc !== node.inc && f.get('o') !== 'drop') node.alive.add(inc)
          if (f.get('o') === 'drop') node.alive.delete(inc)
          node.index.apply(inc, f.get('o') ?? '', f.get('k'))
        }
      }
    } catch (error) {
      if (!node.running) return
      node.trouble(error)
      await sleep(1000)
    }
  }
}

/** Handles entries in order, then acknowledges and deletes them in the commit holding what they caused. */
async function process(node: ClusterNode, stream: string, entries: Array<[string, Buffer[]]>, deadInc: string | null): Promise<void> {
  if (entries.length === 0) return
  for (const [, fields] of entries) {
    const entry = entry__decode(fields)
    if (entry === null) continue
    try {
      await handle(node, entry, deadInc)
    } catch (error) {
      node.ctx.logger.error(`cluster: entry ${entry.k} failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const ids = entries.map(([id]) => id)
  node.store.command((multi) => multi.xack(stream, GROUP, ...ids).xdel(stream, ...ids))
  // Backpressure: the next read waits until this batch's effects are in Redis.
  await node.store.flush().catch(() => undefined)
}

async function handle(node: ClusterNode, entry: Entry, deadInc: string | null): Promise<void> {
  const fromDead = deadInc !== null || entry.via !== undefined
  if (entry.k === 'rel') return takeover__release(node, entry.client, entry.node)
  if (entry.k === 'ok') {
    if (!fromDead) await takeover__received(node, entry.client)
    return
  }
  node.stats.received++
  const message = entry.message
  node.ids.set(message, entry.id)
  const only = entry.k === 'f' ? (clientId: string) => clientId === entry.client : fromDead ? (clientId: string) => node.adopted.has(clientId) : null
  if (entry.k === 'm') {
    if (message.retain && node.ctx.options.retainAvailable && !fromDead) {
      if (message.payload.length === 0) node.ctx.router.retained.delete(message.topic, false)
      else node.ctx.router.retained.restore(message)
    }
    node.restrictions.set(message, {plain: entry.plain, groups: new Set(entry.groups), skip: null, only})
    if (entry.plain || entry.groups.length > 0) node.ctx.router.route(message, entry.from)
  } else {
    node.restrictions.set(message, {plain: true, groups: null, skip: null, only})
    node.ctx.router.route(message, null)
  }
  forward__moved(node, message, entry.id, entry.k === 'm' ? entry.from : null)
}

function entriesOf(reply: StreamReply): Array<[string, Buffer[]]> {
  const out: Array<[string, Buffer[]]> = []
  for (const [, entries] of reply) for (const [id, fields] of entries) out.push([id.toString(), fields])
  return out
}

function fieldsOf(fields: string[]): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!)
  return map
}
