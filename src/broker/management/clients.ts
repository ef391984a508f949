/**
 * `broker.clients`: every session the broker holds (connected or not) as plain objects for people and tools
 * (the web admin's GET /clients, embedding applications), and kicking one. Read-only views built on demand:
 * nothing here runs on the message path.
 */
import type {BrokerContext} from '../context.js'
import type {Transport} from '../hooks.js'
import type {Session} from '../session/session.js'
import {EXPIRY_NEVER} from '../session/session.js'
import {ReasonCode} from '../../protocol/index.js'

export interface ClientSubscriptionView {
  /** As the client sent it, `$share/group/` prefix included. */
  filter: string
  qos: 0 | 1 | 2
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionId?: number
}

export interface ClientView {
  id: string
  username?: string
  /** `host:port` of the current connection; the last known one (without port) for a disconnected session. */
  address: string
  transport: Transport
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  protocolVersion: 3 | 4 | 5
  /** '3.1', '3.1.1' or '5.0'. */
  protocol: string
  connected: boolean
  /** Seconds in force (MQTT 5: Server Keep Alive when the broker imposed one); 0 when disconnected. */
  keepalive: number
  /** A clean session ends with its connection; a persistent one outlives it for `sessionExpiry` seconds. */
  clean: boolean
  /** Seconds; null = never expires (3.1.1 clean session 0). */
  sessionExpiry: number | null
  /** ms since the epoch; null while disconnected. */
  connectedSince: number | null
  disconnectedAt: number | null
  subscriptions: ClientSubscriptionView[]
  /** QoS 1/2 messages sent and not yet acknowledged. */
  inflight: number
  /** Messages waiting for the client (offline, or over its receive maximum). */
  queued: number
  /** Messages dropped because its queue was full. */
  dropped: number
  /** PUBLISH packets received from / sent to the current connection. */
  messagesIn: number
  messagesOut: number
}

export interface ClientFilter {
  /** Substring of the client id. */
  clientid?: string
  /** Exact user name. */
  username?: string
  connected?: boolean
}

export interface KickOptions {
  /** Also end the session (subscriptions, queue) instead of keeping a persistent one for the client's return. */
  discardSession?: boolean
}

const PROTOCOLS = {3: '3.1', 4: '3.1.1', 5: '5.0'} as const

export class BrokerClients {
  constructor(private readonly ctx: BrokerContext) {}

  /** Sessions matching the filter, connected first, then by client id. */
  list(filter: ClientFilter = {}): ClientView[] {
    const out: ClientView[] = []
    for (const session of this.ctx.sessions.values()) {
      if (filter.clientid !== undefined && !session.clientId.includes(filter.clientid)) continue
      if (filter.username !== undefined && session.client.username !== filter.username) continue
      const connected = isConnected(session)
      if (filter.connected !== undefined && connected !== filter.connected) continue
      out.push(clients__view(session))
    }
    return out.sort((a, b) => Number(b.connected) - Number(a.connected) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  get(id: string): ClientView | undefined {
    const session = this.ctx.sessions.get(id)
    return session === undefined ? undefined : clients__view(session)
  }

  /** Connected clients. */
  get count(): number {
    return this.ctx.clients.size
  }

  /**
   * Disconnects the client: an MQTT 5 client first gets DISCONNECT 0x98 "administrative action"; a 3.1/3.1.1
   * client's connection is just closed. Its will goes out as for any disconnection that is not the client's own
   * DISCONNECT [MQTT-3.1.2-8]. With `discardSession` the session ends too (also for a client that is not connected).
   * False when the broker knows no such client.
   */
  kick(id: string, options: KickOptions = {}): boolean {
    const session = this.ctx.sessions.get(id)
    const connection = this.ctx.clients.get(id)
    if (session === undefined && connection === undefined) return false
    if (connection !== undefined) {
      this.ctx.logger.info(`client ${connection.label} kicked by the management API${options.discardSession ? ', session discarded' : ''}`)
      connection.close(ReasonCode.AdministrativeAction, 'administrative action')
    }
    if (options.discardSession) {
      // Closing ran the connection's end synchronously: a persistent session is now disconnected and kept.
      const left = this.ctx.sessions.get(id)
      if (left !== undefined && left.connection === null) this.ctx.sessions.discard(left)
    }
    return true
  }
}

function isConnected(session: Session): boolean {
  return session.connection !== null && session.connection.state === 'connected'
}

export function clients__view(session: Session): ClientView {
  const connection = isConnected(session) ? session.connection! : null
  const client = connection?.client ?? session.client
  const address = connection === null ? client.remoteAddress : `${connection.meta.remoteAddress}${connection.meta.remotePort === undefined ? '' : `:${connection.meta.remotePort}`}`
  const view: ClientView = {
    id: session.clientId,
    address,
    transport: client.transport,
    protocolVersion: session.protocolVersion,
    protocol: PROTOCOLS[session.protocolVersion],
    connected: connection !== null,
    keepalive: connection?.keepalive ?? 0,
    clean: !session.persistent,
    sessionExpiry: session.expiryInterval === EXPIRY_NEVER ? null : session.expiryInterval,
    connectedSince: connection?.connectedAt ?? null,
    disconnectedAt: session.disconnectedAt,
    subscriptions: [...session.subscriptions.values()].map((s) => ({...s})),
    inflight: session.inflight,
    queued: session.queued,
    dropped: session.dropped,
    messagesIn: connection?.publishIn ?? 0,
    messagesOut: connection?.publishOut ?? 0,
  }
  if (client.username !== undefined) view.username = client.username
  return view
}
