/**
 * Publishing: each publisher's PUBLISH is encoded once and copied into one buffer per batch, patching only the
 * packet id and the payload header, so one socket write carries many messages. A single scheduler serves every
 * publisher of the process: at full speed it loops on setImmediate while any socket takes data, and waits for a
 * 'drain' or an ack otherwise; with `--rate` it wakes when the next message is due.
 */
import type {BenchClient} from './client.js'
import {type PublishTemplate, codec__publishTemplate} from './codec.js'
import {HEADER_SIZE, now, payload__stamp, payload__template} from './payload.js'
import {topic__expand, topic__hasCounter} from './topic.js'
import type {BenchSpec} from './types.js'

/** Bytes per socket write at full speed: large enough to amortise the syscall, small enough to stay fair. */
const BATCH_BYTES = 16 * 1024

export class Publisher {
  sent = 0
  inflight = 0
  /** run with --backlog: the highest sequence seen by each delivery group that expects this publisher's messages. */
  watch: Array<{maxSeq: number}> = []
  private nextId = 1
  private readonly maxId: number
  readonly sentAt: Float64Array | null
  private readonly used: Uint8Array | null
  private readonly template: PublishTemplate | null
  private readonly payload: Buffer

  constructor(
    readonly client: BenchClient,
    readonly index: number,
    private readonly spec: BenchSpec,
  ) {
    this.payload = payload__template(spec.size, spec.runId, index)
    this.template = topic__hasCounter(spec.topic)
      ? null
      : codec__publishTemplate(spec.target.protocolVersion, topic__expand(spec.topic, index), spec.qos, spec.retain, this.payload)
    // Packet ids cycle through 1..maxId: twice the window always leaves a free one however acks are ordered,
    // and keeps a thousand QoS 1 publishers from holding 65,536-slot tables each.
    this.maxId = Math.min(65535, Math.max(16, spec.inflight * 2))
    this.sentAt = spec.qos > 0 ? new Float64Array(this.maxId + 1) : null
    this.used = spec.qos > 0 ? new Uint8Array(this.maxId + 1) : null
  }

  get finished(): boolean {
    return this.spec.count > 0 && this.sent >= this.spec.count
  }

  /** How many messages one batch may carry now (0: nothing to do). */
  allowance(elapsedMs: number): number {
    const spec = this.spec
    if (!this.client.writable) return 0
    let n = this.template ? Math.max(1, Math.floor(BATCH_BYTES / this.template.buf.length)) : 16
    if (spec.rate > 0) {
      // Due messages since the start (the first at t=0); a publisher that fell behind catches up in bursts of at
      // most a tenth of a second's worth, so a stall shows as lower throughput rather than a flood afterwards.
      const due = Math.floor((spec.rate * elapsedMs) / 1000) + 1 - this.sent
      n = Math.min(due, Math.max(n, Math.ceil(spec.rate / 10)))
    }
    if (spec.count > 0) n = Math.min(n, spec.count - this.sent)
    if (spec.qos > 0) n = Math.min(n, Math.min(spec.inflight, this.client.receiveMaximum) - this.inflight)
    if (this.watch.length > 0) {
      let slowest = Number.POSITIVE_INFINITY
      for (const t of this.watch) if (t.maxSeq < slowest) slowest = t.maxSeq
      n = Math.min(n, spec.backlog - (this.sent - 1 - slowest))
    }
    return n
  }

  /** Writes n messages in one buffer; returns the send time. */
  write(n: number): number {
    const t = now()
    const tpl = this.template
    const header = this.spec.size >= HEADER_SIZE
    if (!tpl) {
      const parts: Buffer[] = []
      for (let k = 0; k < n; k++) {
        const one = codec__publishTemplate(
          this.spec.target.protocolVersion,
          topic__expand(this.spec.topic, this.index, this.sent),
          this.spec.qos,
          this.spec.retain,
          this.payload,
        )
        this.patch(one.buf, 0, one, t, header)
        parts.push(one.buf)
      }
      this.client.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
      return t
    }
    const length = tpl.buf.length
    const out = Buffer.allocUnsafe(length * n)
    for (let k = 0, off = 0; k < n; k++, off += length) {
      tpl.buf.copy(out, off)
      this.patch(out, off, tpl, t, header)
    }
    this.client.write(out)
    return t
  }

  private patch(buf: Buffer, off: number, tpl: PublishTemplate, t: number, header: boolean): void {
    if (this.used) {
      let id = this.nextId
      while (this.used[id]) id = id === this.maxId ? 1 : id + 1
      this.used[id] = 1
      this.nextId = id === this.maxId ? 1 : id + 1
      this.sentAt![id] = t
      buf.writeUInt16BE(id, off + tpl.pidOffset)
      this.inflight++
    }
    if (header) payload__stamp(buf, off + tpl.payloadOffset, t, this.sent)
    this.sent++
  }

  /** An ack for `id`: returns its send time, or -1 for an id we have no record of. */
  acked(id: number): number {
    if (!this.used || !this.used[id]) return -1
    this.used[id] = 0
    this.inflight--
    return this.sentAt![id]!
  }
}
