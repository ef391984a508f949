/**
 * Acknowledgements that must wait until the store has made the message durable: PUBACK/PUBREC for a QoS 1/2
 * PUBLISH go out only after `store.flush()` resolved for every mutation made before them [MQTT-4.3.2-2] ("the
 * message is owned by the receiver" only once it is safe). One flush serves every ack gathered in a tick, so a
 * burst of PUBLISHes costs one flush, not one promise per message; acks recorded while a flush runs wait for the
 * next one, because that flush may not cover their mutations.
 */
import type {Logger} from '../logger.js'
import type {Store} from '../store/store.js'
import type {Connection} from './connection.js'

export class AckBatcher {
  /** Alternating (connection, encoded ack) pairs, in arrival order. */
  private pending: Array<Connection | Buffer> = []
  private flushing = false
  private scheduled = false

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  add(connection: Connection, ack: Buffer): void {
    this.pending.push(connection, ack)
    if (!this.flushing && !this.scheduled) {
      this.scheduled = true
      process.nextTick(startFlush, this)
    }
  }

  /** True while acks are waiting (used by close() to let them out before the store closes). */
  get idle(): boolean {
    return !this.flushing && !this.scheduled && this.pending.length === 0
  }

  /** @internal */
  start(): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    this.flushing = true
    this.store.flush().then(
      () => this.release(batch),
      (error: unknown) => this.fail(batch, error),
    )
  }

  private release(batch: Array<Connection | Buffer>): void {
    this.flushing = false
    for (let i = 0; i < batch.length; i += 2) {
      const connection = batch[i] as Connection
      connection.acksWaiting--
      connection.write(batch[i + 1] as Buffer)
    }
    if (this.pending.length > 0) this.start()
  }

  private fail(batch: Array<Connection | Buffer>, error: unknown): void {
    this.flushing = false
    // Not acknowledging is the honest answer: the clients keep their messages and resend them after reconnecting.
    this.logger.error(`store ${this.store.name} failed to flush, closing ${batch.length / 2} unacknowledged client(s): ${String(error)}`)
    for (let i = 0; i < batch.length; i += 2) (batch[i] as Connection).close(0x80, 'store failure')
    if (this.pending.length > 0) this.start()
  }
}

function startFlush(batcher: AckBatcher): void {
  batcher.start()
}
