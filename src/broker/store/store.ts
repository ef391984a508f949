/**
 * The persistence contract. The broker keeps its working state in memory and tells the store about every
 * change as it happens (write-behind); at start it loads one snapshot back. Mutations are synchronous calls that
 * the store may buffer and commit in batches (group commit); `flush()` resolves once everything recorded before
 * the call is durable, which is what the broker waits for before it acknowledges a QoS 1/2 PUBLISH.
 *
 * Every implementation (memory, sqlite, or a user's own object) passes the shared suite in test/store/.
 */
import type {IPublishPacket, QoS} from 'mqtt-packet'

export type {QoS}

/** PUBLISH properties worth keeping with a message (topic alias and subscription ids are per delivery). */
export type MessageProperties = Omit<NonNullable<IPublishPacket['properties']>, 'subscriptionIdentifier' | 'topicAlias'>

/** Everything needed to deliver a message again after a restart. */
export interface StoredMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties?: MessageProperties
  /** Epoch ms after which the message must not be delivered (MQTT 5 message expiry); absent: never. */
  expiresAt?: number
  /**
   * Retained messages only: epoch ms when the broker stored it. `--retain-ttl` counts from it (across restarts, so a
   * store must keep it) and `broker.retained` reports the age from it; absent: unknown.
   */
  storedAt?: number
}

export interface SubscriptionRecord {
  /** The filter as the client sent it, `$share/group/` prefix included. */
  filter: string
  qos: QoS
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  subscriptionId?: number
}

export interface WillRecord extends StoredMessage {
  /** Seconds to wait after the connection is lost before publishing (MQTT 5 will delay interval). */
  delayInterval: number
}

export interface SessionRecord {
  clientId: string
  protocolVersion: 3 | 4 | 5
  /** Seconds the session outlives its connection; 0xFFFFFFFF never expires (3.1.1 clean session false). */
  expiryInterval: number
  /** Epoch ms of the last disconnect; null while connected. */
  disconnectedAt: number | null
  subscriptions: SubscriptionRecord[]
  /**
   * While connected (`disconnectedAt: null`): the connection's will, so a restart after a crash publishes it. After
   * a disconnection: a will still waiting for its delay to pass.
   */
  will?: WillRecord
}

/** A message waiting in an offline (or over-window) session queue. `seq` orders a client's queue. */
export interface QueuedRecord {
  clientId: string
  seq: number
  message: StoredMessage
  subscriptionIds?: number[]
}

/**
 * A QoS 1/2 exchange not finished yet. Outgoing: sent to the client, waiting for PUBACK/PUBREC (state 'publish')
 * or PUBCOMP (state 'pubrel'). Incoming: a QoS 2 PUBLISH received, PUBREC sent, waiting for PUBREL (the message
 * has already been routed; the record only stops a duplicate from being routed twice).
 */
export interface InflightRecord {
  clientId: string
  packetId: number
  direction: 'outgoing' | 'incoming'
  state: 'publish' | 'pubrel'
  message?: StoredMessage
  subscriptionIds?: number[]
}

export interface StoreSnapshot {
  retained: StoredMessage[]
  sessions: SessionRecord[]
  /** Ordered by client, then seq. */
  queued: QueuedRecord[]
  inflight: InflightRecord[]
}

export interface Store {
  /** Short name for banners and logs, e.g. `memory` or `sqlite:/var/lib/mqttkit/mqttkit.db`. */
  readonly name: string
  /**
   * Opens (creating or migrating as needed) and returns what was stored; rejects with a clear message on a bad file
   * (a `StoreError` from ./errors.ts for the built-in stores). Retained and queued messages whose `expiresAt` has
   * passed are purged, not returned. A session stored with `disconnectedAt: null` (the broker stopped or died while
   * it was connected) comes back with `disconnectedAt` set to the last moment the store knew the broker was alive,
   * so session expiry keeps counting across a restart.
   */
  open(): Promise<StoreSnapshot>
  /** Commits what is buffered and releases the store. */
  close(): Promise<void>

  /** Stores a retained message; an empty payload deletes the topic's retained message. */
  setRetained(message: StoredMessage): void
  /** Inserts or replaces a session with its subscriptions and pending will. */
  saveSession(session: SessionRecord): void
  /** Deletes a session with its queue and inflight records. */
  deleteSession(clientId: string): void
  enqueue(record: QueuedRecord): void
  dequeue(clientId: string, seq: number): void
  setInflight(record: InflightRecord): void
  deleteInflight(clientId: string, direction: InflightRecord['direction'], packetId: number): void

  /**
   * Resolves when every mutation recorded before this call is durable. Rejects if they could not be written (disk
   * full, I/O error): the broker must then not acknowledge the messages concerned. The store keeps them pending
   * and retries; it never drops them silently.
   */
  flush(): Promise<void>

  /**
   * Optional: set by the broker to hear about background write failures (a failed group commit nobody was
   * waiting for). Stores that never fail in the background may ignore it.
   */
  onError?: (error: Error) => void
}
