/**
 * `broker.subscriptions`: every subscription filter held by a session, with its subscribers. Built from the
 * sessions (which own their subscriptions) rather than by walking the router's trie, so the trie keeps only what
 * routing needs.
 */
import type {BrokerContext} from '../context.js'
import {topic__parseShared} from '../topics/index.js'

export interface SubscriberView {
  clientId: string
  qos: 0 | 1 | 2
  connected: boolean
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionId?: number
}

export interface FilterView {
  /** As the clients sent it, `$share/group/` prefix included. */
  filter: string
  /** The topic filter without a `$share/group/` prefix. */
  topicFilter: string
  /** The `$share` group name, for a shared subscription. */
  shareGroup?: string
  subscribers: SubscriberView[]
}

export class BrokerSubscriptions {
  constructor(private readonly ctx: BrokerContext) {}

  /** Every filter, sorted, each with its subscribers sorted by client id. */
  list(): FilterView[] {
    const byFilter = new Map<string, FilterView>()
    for (const session of this.ctx.sessions.values()) {
      const connected = session.connection !== null && session.connection.state === 'connected'
      for (const sub of session.subscriptions.values()) {
        let view = byFilter.get(sub.filter)
        if (view === undefined) {
          view = filterView(sub.filter)
          byFilter.set(sub.filter, view)
        }
        const subscriber: SubscriberView = {
          clientId: session.clientId,
          qos: sub.qos,
          connected,
          noLocal: sub.noLocal,
          retainAsPublished: sub.retainAsPublished,
          retainHandling: sub.retainHandling,
        }
        if (sub.subscriptionId !== undefined) subscriber.subscriptionId = sub.subscriptionId
        view.subscribers.push(subscriber)
      }
    }
    const out = [...byFilter.values()].sort((a, b) => (a.filter < b.filter ? -1 : 1))
    for (const view of out) view.subscribers.sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
    return out
  }

  /** Subscriptions of all sessions together (one per session and filter). */
  get count(): number {
    return this.ctx.router.subscriptionCount
  }
}

function filterView(filter: string): FilterView {
  const shared = topic__parseShared(filter)
  if (shared === null) return {filter, topicFilter: filter, subscribers: []}
  return {filter, topicFilter: shared.filter, shareGroup: shared.group, subscribers: []}
}
