/**
 * What the broker's parts share: one object built by Broker and handed to connections, handlers, sessions and
 * the router, so none of them imports Broker itself (no cycles, and each part can be tested on its own).
 */
import type {EventEmitter} from 'node:events'
import type {AckBatcher} from './connection/acks.js'
import type {Connection} from './connection/connection.js'
import type {Hooks} from './hooks.js'
import type {QueueBudget} from './limits/queue-budget.js'
import type {Logger} from './logger.js'
import type {ResolvedOptions} from './options.js'
import type {Router} from './router.js'
import type {SessionRegistry} from './session/registry.js'
import type {Store, StoredMessage} from './store/store.js'

/** Counters the broker keeps as it runs; `broker.stats` adds the table sizes, and $SYS publishes both. */
export interface BrokerStats {
  startedAt: number
  clientsConnected: number
  clientsMaximum: number
  /** Every connection that completed CONNECT since start. */
  clientsTotal: number
  messagesReceived: number
  messagesSent: number
  publishReceived: number
  publishSent: number
  bytesReceived: number
  bytesSent: number
  /** QoS 1/2 messages dropped because a session queue was full, and QoS 0 dropped for slow readers. */
  messagesDropped: number
  /** Messages that expired before they could be delivered (MQTT 5 message expiry). */
  messagesExpired: number
  /** New retained topics refused by --max-retained / --max-retained-bytes. */
  retainedRefused: number
  /** Retained messages deleted because their TTL or message expiry passed. */
  retainedExpired: number
}

/**
 * What the cluster (cluster/node.ts) is told by the router and CONNECT; absent on a single node. Kept to these
 * few calls so the core does not know how the cluster works.
 */
export interface ClusterHooks {
  /** A message accepted on this node (a client's, a will, the broker's own): forward it to the nodes it concerns. */
  published(message: StoredMessage, from: string | null): void
  /** May this delivery happen here (the cluster restricts messages forwarded for some sessions only)? */
  admitPlain(message: StoredMessage, clientId: string): boolean
  admitShared(message: StoredMessage, filter: string, clientId: string): boolean
  /** A (client, filter) subscription appeared in or left the router. */
  subscribed(filter: string): void
  unsubscribed(filter: string): void
  /** Before CONNECT takes the session: make this node its owner (resolves), or refuse (rejects with a reason). */
  claim(connection: Connection): Promise<void>
}

export interface BrokerContext {
  readonly options: ResolvedOptions
  readonly store: Store
  readonly hooks: Hooks
  readonly logger: Logger
  readonly stats: BrokerStats
  readonly router: Router
  readonly sessions: SessionRegistry
  /** Connections that completed CONNECT, by client id. */
  readonly clients: Map<string, Connection>
  /** Every open socket, connected or not (shutdown closes them all). */
  readonly connections: Set<Connection>
  readonly acks: AckBatcher
  /** Messages queued past --max-queued, broker-wide, and the publisher pausing it drives. */
  readonly budget: QueueBudget
  readonly events: EventEmitter
  /** Set when the broker is a cluster node (a Redis store with `cluster` options). */
  cluster?: ClusterHooks
  closing: boolean
}

export function stats__create(): BrokerStats {
  return {
    startedAt: Date.now(),
    clientsConnected: 0,
    clientsMaximum: 0,
    clientsTotal: 0,
    messagesReceived: 0,
    messagesSent: 0,
    publishReceived: 0,
    publishSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    messagesDropped: 0,
    messagesExpired: 0,
    retainedRefused: 0,
    retainedExpired: 0,
  }
}
