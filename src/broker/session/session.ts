/**
 * One session's state (MQTT §4.1): subscriptions, the outgoing inflight window, the inbound QoS 2 ids waiting for
 * PUBREL, the offline queue and a will waiting for its delay. A session outlives its connections for
 * `expiryInterval` seconds (0xFFFFFFFF: forever, the 3.1.1 "clean session = 0" case).
 */
import type {ClientInfo} from '../hooks.js'
import type {QueuedRecord, SessionRecord, Store, StoredMessage, SubscriptionRecord, WillRecord} from '../store/store.js'
import type {Connection} from '../connection/connection.js'
import type {ProtocolVersion} from '../../protocol/index.js'

export const EXPIRY_NEVER = 0xffff_ffff

export interface OutgoingInflight {
  packetId: number
  /** The message as delivered: QoS and retain flag already those of this delivery. */
  message: StoredMessage
  subscriptionIds?: number[]
  /** 'publish': waiting for PUBACK/PUBREC; 'pubrel': PUBREL sent, waiting for PUBCOMP. */
  state: 'publish' | 'pubrel'
}

export class Session {
  connection: Connection | null = null
  /** The last client info seen, so hooks can be asked about an offline session's deliveries. */
  client: ClientInfo
  disconnectedAt: number | null = null
  /** The queue limit its last connection asked for (`ConnectionMeta.maxQueued`, bridges), kept while it is offline. */
  maxQueued: number | undefined = undefined
  // The three collections are made on first use: an idle client's session then costs no empty Map tables
  // (~0.5 KiB per connection, docs/benchmarks.md, memory per idle connection).
  private _subscriptions: Map<string, SubscriptionRecord> | null = null
  private _outgoing: Map<number, OutgoingInflight> | null = null
  private _incoming: Set<number> | null = null

  get subscriptions(): Map<string, SubscriptionRecord> {
    return (this._subscriptions ??= new Map())
  }

  get outgoing(): Map<number, OutgoingInflight> {
    return (this._outgoing ??= new Map())
  }

  /** How many outgoing messages await their acknowledgement; reading it does not make the map (unlike `outgoing.size`). */
  get inflight(): number {
    return this._outgoing === null ? 0 : this._outgoing.size
  }

  /** Inbound QoS 2 packet ids whose PUBREC went out and whose PUBREL has not come yet [MQTT-4.3.3-9]. */
  get incoming(): Set<number> {
    return (this._incoming ??= new Set())
  }
  /** Messages waiting for the client (offline, or over its receive maximum), oldest first. */
  queue: QueuedRecord[] = []
  queueHead = 0
  nextSeq = 1
  /** Approximate bytes held by the queue (payload + topic + a fixed overhead per record). */
  queuedBytes = 0
  /** The part of `queuedBytes` past `--max-queued`, as counted by the broker's QueueBudget. */
  overflowBytes = 0
  /**
   * When the client last acknowledged a message, connected, or was sent a message while it owed none: the start of
   * the wait for its next acknowledgement (limits/queue-budget.ts calls a session stalled after half a second).
   */
  lastAck = 0
  /** A will waiting for its delay interval (MQTT 5) after the connection dropped (the live one is on the connection). */
  will: WillRecord | undefined = undefined
  willTimer: NodeJS.Timeout | null = null
  expiryTimer: NodeJS.Timeout | null = null
  /** False for a session restored from the store until its client connects again (see Router.mayForward). */
  clientKnown = true
  /** True once written to the store, so ending the session deletes it there. */
  stored = false
  /** Messages dropped because the queue was full. */
  dropped = 0
  private nextPacketId = 1

  constructor(
    readonly clientId: string,
    public protocolVersion: ProtocolVersion,
    public expiryInterval: number,
    client: ClientInfo,
  ) {
    this.client = client
  }

  /** Sessions with a non-zero expiry are persisted; clean ones live and die with their connection. */
  get persistent(): boolean {
    return this.expiryInterval > 0
  }

  get queued(): number {
    return this.queue.length - this.queueHead
  }

  /** Appends a record to the queue. */
  push(record: QueuedRecord): void {
    this.queue.push(record)
    this.queuedBytes += recordBytes(record)
  }

  /** Replaces the queue's content (a recheck after reconnecting). */
  replaceQueue(records: QueuedRecord[]): void {
    this.queue = records
    this.queueHead = 0
    this.queuedBytes = 0
    for (const record of records) this.queuedBytes += recordBytes(record)
  }

  /** Drops the newest records until at most `limit` remain; returns how many went (each told to `onDrop`). */
  trim(limit: number, store: Store, onDrop?: (message: StoredMessage) => void): number {
    let dropped = 0
    while (this.queued > limit) {
      const record = this.queue.pop()!
      this.queuedBytes -= recordBytes(record)
      if (this.persistent) store.dequeue(this.clientId, record.seq)
      onDrop?.(record.message)
      dropped++
    }
    return dropped
  }

  /** Removes and returns the oldest queued record. */
  shift(): QueuedRecord | undefined {
    if (this.queueHead >= this.queue.length) return undefined
    const record = this.queue[this.queueHead]!
    this.queuedBytes -= recordBytes(record)
    this.queue[this.queueHead++] = undefined as unknown as QueuedRecord
    // Compact now and then instead of Array#shift on every message.
    if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
    return record
  }

  peek(): QueuedRecord | undefined {
    return this.queueHead < this.queue.length ? this.queue[this.queueHead] : undefined
  }

  /** A packet id not used by any unacknowledged outgoing message [MQTT-2.2.1-3]. */
  allocatePacketId(): number {
    for (let tries = 0; tries < 65_535; tries++) {
      const id = this.nextPacketId
      this.nextPacketId = id === 65_535 ? 1 : id + 1
      if (this._outgoing === null || !this._outgoing.has(id)) return id
    }
    throw new Error('no free packet identifier')
  }

  /**
   * The stored form. Its will is the pending one after a disconnection or, while connected, the connection's own
   * will: the store then knows it if the broker dies, and a restart publishes it as for any abnormal disconnection
   * [MQTT-3.1.2-8]. A clean session is only stored for that will, so its subscriptions are left out.
   */
  toRecord(): SessionRecord {
    const record: SessionRecord = {
      clientId: this.clientId,
      protocolVersion: this.protocolVersion,
      expiryInterval: this.expiryInterval,
      disconnectedAt: this.disconnectedAt,
      subscriptions: this.persistent ? [...this.subscriptions.values()] : [],
    }
    const will = this.will ?? this.connection?.will ?? undefined
    if (will !== undefined) record.will = will
    return record
  }
}

/**
 * What a queued record costs, roughly: its payload and topic plus 512 bytes for the record, the message, the
 * payload's Buffer object and the queue slot (measured: ~480 bytes of heap and external memory per queued 32-byte
 * message, before the garbage collector's headroom).
 */
function recordBytes(record: QueuedRecord): number {
  return record.message.payload.length + record.message.topic.length + 512
}
