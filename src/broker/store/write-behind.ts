/**
 * The buffer of pending changes that the SQLite and Redis stores share (write-behind group commit): each mutation
 * records the value it will write under the key it replaces, so a record changed twice before a commit is written
 * once. The stores keep their own encoding (the value types) and their own write; this module only keeps what is
 * pending, hands it over as one batch (take) and puts back a batch that could not be written (restore). When the
 * commits run is group-commit.ts.
 *
 * A null value means "delete". Deleting a session also drops that client's queue and inflight records as a
 * cascade, which a commit applies before everything else of its batch.
 */

/** Per client: key -> value to write (null: delete). */
export type ClientChanges<K, V> = Map<string, Map<K, V | null>>

/** Everything pending at one moment, in the order the keys were first changed. */
export interface WriteBehindChanges<R, S, V, IK> {
  /** Clients whose session was deleted: their queue and inflight records go too, before the rest is applied. */
  cascade: string[]
  sessions: Array<[string, S | null]>
  retained: Array<[string, R | null]>
  queue: Array<[string, Map<number, V | null>]>
  inflight: Array<[string, Map<IK, V | null>]>
}

/**
 * R: a retained message's encoding, S: a session's, V: a queued or inflight record's, IK: an inflight record's key
 * (queue keys are the sequence numbers).
 */
export class WriteBehindBuffer<R, S, V, IK> {
  private retained = new Map<string, R | null>()
  private sessions = new Map<string, S | null>()
  private cascade = new Set<string>()
  private queue: ClientChanges<number, V> = new Map()
  private inflight: ClientChanges<IK, V> = new Map()

  /** `recorded` hears every change (the group commit counts it and schedules the next commit). */
  constructor(private readonly recorded: () => void) {}

  setRetained(topic: string, value: R | null): void {
    this.retained.set(topic, value)
    this.recorded()
  }

  setSession(clientId: string, value: S): void {
    this.sessions.set(clientId, value)
    this.recorded()
  }

  deleteSession(clientId: string): void {
    this.sessions.set(clientId, null)
    this.cascade.add(clientId)
    // Pending queue/inflight writes of this client happened before the delete: the cascade covers them.
    this.queue.delete(clientId)
    this.inflight.delete(clientId)
    this.recorded()
  }

  setQueued(clientId: string, seq: number, value: V | null): void {
    writeBehind__clientMap(this.queue, clientId).set(seq, value)
    this.recorded()
  }

  setInflight(clientId: string, key: IK, value: V | null): void {
    writeBehind__clientMap(this.inflight, clientId).set(key, value)
    this.recorded()
  }

  /** Moves everything pending into one batch and starts over with empty maps. */
  take(): WriteBehindChanges<R, S, V, IK> {
    const changes = {
      cascade: [...this.cascade],
      sessions: [...this.sessions],
      retained: [...this.retained],
      queue: [...this.queue],
      inflight: [...this.inflight],
    }
    this.retained = new Map()
    this.sessions = new Map()
    this.cascade = new Set()
    this.queue = new Map()
    this.inflight = new Map()
    return changes
  }

  /**
   * A batch that could not be written goes back under what changed since (newer changes to the same key win, and
   * a session deleted since drops the batch's records of that client), to be retried with the next commit.
   */
  restore(changes: WriteBehindChanges<R, S, V, IK>): void {
    const deletedSince = new Set(this.cascade)
    for (const clientId of changes.cascade) this.cascade.add(clientId)
    for (const [clientId, value] of changes.sessions) if (!this.sessions.has(clientId)) this.sessions.set(clientId, value)
    for (const [topic, value] of changes.retained) if (!this.retained.has(topic)) this.retained.set(topic, value)
    const restore = <K>(maps: ClientChanges<K, V>, entries: Array<[string, Map<K, V | null>]>) => {
      for (const [clientId, values] of entries) {
        if (deletedSince.has(clientId)) continue
        const map = writeBehind__clientMap(maps, clientId)
        for (const [key, value] of values) if (!map.has(key)) map.set(key, value)
      }
    }
    restore(this.queue, changes.queue)
    restore(this.inflight, changes.inflight)
  }
}

function writeBehind__clientMap<K, V>(maps: ClientChanges<K, V>, clientId: string): Map<K, V | null> {
  let map = maps.get(clientId)
  if (!map) {
    map = new Map()
    maps.set(clientId, map)
  }
  return map
}
