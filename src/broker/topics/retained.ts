/**
 * Retained messages, one per topic name, in a tree of topic levels so a SUBSCRIBE with wildcards visits only the
 * branches its filter can reach instead of scanning every retained topic (MQTT §3.3.1.3).
 *
 * A PUBLISH with retain set and an empty payload deletes the topic's retained message and is not stored
 * [MQTT-3.3.1-10] [MQTT-3.3.1-11]; the filter rules are the subscription trie's, `$` topics included
 * [MQTT-4.7.2-1]. Expiry (MQTT 5) is the caller's decision at delivery time: the tree only stores.
 */
import type {StoredMessage} from '../store/store.js'

/** The least a retained message needs: the topic it is stored under and a payload (empty = delete). */
export interface RetainableMessage {
  topic: string
  payload: Uint8Array
}

class RetainNode<M> {
  children: Map<string, RetainNode<M>> | null = null
  message: M | null = null
  /** Messages stored in this subtree, so `#` can stop early and empty branches can be pruned. */
  count = 0

  constructor(
    readonly parent: RetainNode<M> | null,
    readonly level: string,
  ) {}
}

const DOLLAR = 0x24

export class RetainedTree<M extends RetainableMessage = StoredMessage> {
  private readonly root = new RetainNode<M>(null, '')

  get size(): number {
    return this.root.count
  }

  /**
   * Stores, replaces or (empty payload) deletes the topic's retained message. Returns 'stored', 'replaced',
   * 'deleted' or 'absent' (an empty payload for a topic with nothing retained) so callers can count and persist.
   */
  set(message: M): 'stored' | 'replaced' | 'deleted' | 'absent' {
    if (message.payload.length === 0) return this.delete(message.topic) ? 'deleted' : 'absent'
    let node = this.root
    for (const level of message.topic.split('/')) {
      node.children ??= new Map()
      let child = node.children.get(level)
      if (child === undefined) {
        child = new RetainNode<M>(node, level)
        node.children.set(level, child)
      }
      node = child
    }
    const replaced = node.message !== null
    node.message = message
    if (!replaced) for (let n: RetainNode<M> | null = node; n !== null; n = n.parent) n.count++
    return replaced ? 'replaced' : 'stored'
  }

  /** The retained message of exactly this topic name. */
  get(topic: string): M | undefined {
    return this.find(topic)?.message ?? undefined
  }

  /** Deletes the topic's retained message; true when there was one. */
  delete(topic: string): boolean {
    const node = this.find(topic)
    if (node === null || node.message === null) return false
    node.message = null
    for (let n: RetainNode<M> | null = node; n !== null; n = n.parent) n.count--
    // Prune the branch that no longer holds anything.
    let n: RetainNode<M> = node
    while (n.parent !== null && n.count === 0) {
      n.parent.children!.delete(n.level)
      n = n.parent
    }
    return true
  }

  /** Calls `visit` for every retained message whose topic matches the filter (wildcards allowed). */
  match(filter: string, visit: (message: M) => void): void {
    const levels = filter.split('/')
    const first = levels[0]
    if (first === '#' || first === '+') {
      // [MQTT-4.7.2-1] a wildcard at the first level skips topics starting with `$`.
      const children = this.root.children
      if (children === null) return
      for (const child of children.values()) {
        if (child.level.charCodeAt(0) === DOLLAR) continue
        if (first === '#') visitAll(child, visit)
        else matchFrom(child, levels, 1, visit)
      }
      return
    }
    const child = this.root.children?.get(first!)
    if (child !== undefined) matchFrom(child, levels, 1, visit)
  }

  /** Every retained message, for persistence and inspection. */
  *values(): IterableIterator<M> {
    const stack: RetainNode<M>[] = [this.root]
    while (stack.length > 0) {
      const node = stack.pop()!
      if (node.message !== null) yield node.message
      if (node.children !== null) for (const c of node.children.values()) stack.push(c)
    }
  }

  [Symbol.iterator](): IterableIterator<M> {
    return this.values()
  }

  clear(): void {
    this.root.children = null
    this.root.count = 0
  }

  private find(topic: string): RetainNode<M> | null {
    let node: RetainNode<M> | undefined = this.root
    for (const level of topic.split('/')) {
      node = node.children?.get(level)
      if (node === undefined) return null
    }
    return node
  }
}

function matchFrom<M>(node: RetainNode<M>, levels: string[], i: number, visit: (message: M) => void): void {
  if (i === levels.length) {
    if (node.message !== null) visit(node.message)
    return
  }
  const level = levels[i]!
  if (level === '#') {
    // `a/#` matches `a` itself and everything below it.
    visitAll(node, visit)
    return
  }
  const children = node.children
  if (children === null) return
  if (level === '+') {
    for (const child of children.values()) matchFrom(child, levels, i + 1, visit)
    return
  }
  const child = children.get(level)
  if (child !== undefined) matchFrom(child, levels, i + 1, visit)
}

function visitAll<M>(node: RetainNode<M>, visit: (message: M) => void): void {
  if (node.count === 0) return
  if (node.message !== null) visit(node.message)
  if (node.children !== null) for (const child of node.children.values()) visitAll(child, visit)
}
