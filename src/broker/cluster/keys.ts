/**
 * The cluster's Redis keys, beside the store's (store/redis.ts) under the same `{<cluster-name>}:` prefix. A node
 * incarnation ("inc") is `<node id>~<random>`: a node restarted with the same id is a new incarnation that adopts
 * the old one at once (docs/cluster.md, node death).
 */
import type {RedisKeys} from '../store/redis.js'

export class ClusterKeys {
  readonly base: string
  /** HASH inc -> JSON {nodeId, startedAt}: every registered incarnation, alive or waiting to be adopted. */
  readonly nodes: string
  /** HASH client id -> inc: which node holds a client's session. */
  readonly owner: string
  /** STREAM of subscription index changes (+ / - / drop), read by every node. */
  readonly indexLog: string

  constructor(store: RedisKeys) {
    this.base = store.base
    this.nodes = this.base + 'nodes'
    this.owner = this.base + 'owner'
    this.indexLog = this.base + 'index-log'
  }

  /** STRING with a TTL: the node is alive while it exists. */
  lease(inc: string): string {
    return `${this.base}lease:${inc}`
  }

  /** STREAM: messages and control entries for the node (consumer group `g`). */
  inbox(inc: string): string {
    return `${this.base}inbox:${inc}`
  }

  /** HASH filter key -> 1: the node's subscription index (`p<filter>`, `s$share/<group>/<filter>`). */
  index(inc: string): string {
    return `${this.base}index:${inc}`
  }

  /** SET of the client ids the node owns. */
  members(inc: string): string {
    return `${this.base}members:${inc}`
  }

  /** STRING: the incarnation that adopted a dead one (XADDs to the dead inbox go there instead). */
  sealed(inc: string): string {
    return `${this.base}sealed:${inc}`
  }
}

export const GROUP = 'g'
