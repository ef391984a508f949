/**
 * The bench payload header: what lets a subscriber measure end-to-end latency and account for every message of
 * every publisher. Layout (big-endian), then zero padding up to `--size`:
 *
 *   0  u32  magic 'MKB1'          tells bench traffic from anything else on the topic
 *   4  u32  run id                 messages of an earlier or parallel run are not counted
 *   8  f64  send time, ms          `now()` below: wall-clock based, so comparable across processes on one machine
 *  16  u32  publisher (global index)
 *  20  u32  sequence number        0, 1, 2… per publisher
 */
export const HEADER_SIZE = 24
export const MAGIC = 0x4d4b4231

const origin = performance.timeOrigin

/** Milliseconds since the epoch with sub-microsecond resolution; monotonic within a process. */
export function now(): number {
  return origin + performance.now()
}

export function payload__template(size: number, runId: number, publisher: number): Buffer {
  const buf = Buffer.alloc(size)
  if (size >= HEADER_SIZE) {
    buf.writeUInt32BE(MAGIC, 0)
    buf.writeUInt32BE(runId, 4)
    buf.writeUInt32BE(publisher, 16)
  }
  return buf
}

/** Stamps time and sequence into a copy of the template at `offset` (the payload's start inside a packet). */
export function payload__stamp(buf: Buffer, offset: number, time: number, seq: number): void {
  buf.writeDoubleBE(time, offset + 8)
  buf.writeUInt32BE(seq, offset + 20)
}

/** A decoded header, reused by the caller to avoid an allocation per message. */
export interface HeaderView {
  time: number
  publisher: number
  seq: number
}

/** Reads the header into `out`; false when the payload is not this run's bench traffic. */
export function payload__read(buf: Buffer, offset: number, end: number, runId: number, out: HeaderView): boolean {
  if (end - offset < HEADER_SIZE) return false
  if (buf.readUInt32BE(offset) !== MAGIC) return false
  // runId 0 means "any run" (bench sub listening to another process's bench pub).
  if (runId !== 0 && buf.readUInt32BE(offset + 4) !== runId) return false
  out.time = buf.readDoubleBE(offset + 8)
  out.publisher = buf.readUInt32BE(offset + 16)
  out.seq = buf.readUInt32BE(offset + 20)
  return true
}
