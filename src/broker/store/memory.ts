/**
 * The in-memory store: every record lives in Maps of this object. Nothing survives the process, but the state
 * survives `close()`: a later `open()` of the SAME instance returns it again, so tests simulate a broker restart by
 * handing one MemoryStore to two Broker instances in turn.
 */
import {copy__inflight, copy__message, copy__queued, copy__session} from './copy.js'
import {StoreError} from './errors.js'
import type {InflightRecord, QueuedRecord, SessionRecord, Store, StoreSnapshot, StoredMessage} from './store.js'

/** The key of an inflight record inside one client's map. */
function inflightKey(direction: InflightRecord['direction'], packetId: number): string {
  return direction === 'outgoing' ? `o${packetId}` : `i${packetId}`
}

export class MemoryStore implements Store {
  readonly name = 'memory'

  private readonly retained = new Map<string, StoredMessage>()
  private readonly sessions = new Map<string, SessionRecord>()
  private readonly queues = new Map<string, Map<number, QueuedRecord>>()
  private readonly inflight = new Map<string, Map<string, InflightRecord>>()
  private closed = false
  /** When close() was called: sessions still marked connected then come back disconnected at that moment. */
  private closedAt?: number

  async open(): Promise<StoreSnapshot> {
    this.closed = false
    const now = Date.now()
    const expired = (message: StoredMessage) => message.expiresAt !== undefined && message.expiresAt <= now
    for (const [topic, message] of this.retained) if (expired(message)) this.retained.delete(topic)

    const queued: QueuedRecord[] = []
    for (const [clientId, queue] of this.queues) {
      // Map order is insertion order; the contract wants seq order, and a caller may enqueue out of order.
      const records = [...queue.values()].sort((a, b) => a.seq - b.seq)
      for (const record of records) {
        if (expired(record.message)) queue.delete(record.seq)
        else queued.push(copy__queued(record))
      }

      if (queue.size === 0) this.queues.delete(clientId)
    }

    const inflight: InflightRecord[] = []
    for (const records of this.inflight.values()) {
      for (const record of records.values()) inflight.push(copy__inflight(record))
    }

    return {
      retained: [...this.retained.values()].map(copy__message),
      sessions: [...this.sessions.values()].map((record) => {
        const session = copy__session(record)
        if (session.disconnectedAt === null) session.disconnectedAt = this.closedAt ?? now
        return session
      }),
      queued,
      inflight,
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.closedAt = Date.now()
  }

  setRetained(message: StoredMessage): void {
    this.assertOpen()
    if (message.payload.length === 0) this.retained.delete(message.topic)
    else this.retained.set(message.topic, copy__message(message))
  }

  saveSession(session: SessionRecord): void {
    this.assertOpen()
    this.sessions.set(session.clientId, copy__session(session))
  }

  deleteSession(clientId: string): void {
    this.assertOpen()
    this.sessions.delete(clientId)
    this.queues.delete(clientId)
    this.inflight.delete(clientId)
  }

  enqueue(record: QueuedRecord): void {
    this.assertOpen()
    let queue = this.queues.get(record.clientId)
    if (!queue) {
      queue = new Map()
      this.queues.set(record.clientId, queue)
    }

    queue.set(record.seq, copy__queued(record))
  }

  dequeue(clientId: string, seq: number): void {
    this.assertOpen()
    const queue = this.queues.get(clientId)
    if (!queue) return
    queue.delete(seq)
    if (queue.size === 0) this.queues.delete(clientId)
  }

  setInflight(record: InflightRecord): void {
    this.assertOpen()
    let records = this.inflight.get(record.clientId)
    if (!records) {
      records = new Map()
      this.inflight.set(record.clientId, records)
    }

    records.set(inflightKey(record.direction, record.packetId), copy__inflight(record))
  }

  deleteInflight(clientId: string, direction: InflightRecord['direction'], packetId: number): void {
    this.assertOpen()
    const records = this.inflight.get(clientId)
    if (!records) return
    records.delete(inflightKey(direction, packetId))
    if (records.size === 0) this.inflight.delete(clientId)
  }

  async flush(): Promise<void> {
    // Memory is as durable as it gets here: every mutation is already applied.
  }

  /**
   * A mutation after `close()` is a broker bug (a write that a real store would lose); say so loudly instead of
   * applying it. Before the first `open()` mutations are accepted: the Maps already exist.
   */
  private assertOpen(): void {
    if (this.closed) throw new StoreError('closed', 'memory store: mutation after close(); the write would be lost')
  }
}
