/**
 * Seeded mutations of MQTT packets. A fixed seed replays exactly the same cases (the fuzz test prints its seed;
 * run again with FUZZ_SEED=<seed> to reproduce a failure).
 */

import {shape__seededRandom} from '../../src/client/simulate/shapes.js'

/**
 * mulberry32 (the generator of `pub --simulate --seed`): small, fast, good enough to spread mutations; never used
 * for anything secret.
 */
export const rng__create: (seed: number) => () => number = shape__seededRandom

export type Rng = () => number

const int = (rng: Rng, n: number) => Math.floor(rng() * n)
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!

/** Bytes that tend to sit on boundaries: flags, length continuation bits, property ids, UTF-8 trouble. */
const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xfe, 0xff, 0x26, 0x0b, 0x23, 0x2b, 0x2f]

export function randomBytes(rng: Rng, max = 64): Buffer {
  const out = Buffer.alloc(1 + int(rng, max))
  for (let i = 0; i < out.length; i++) out[i] = int(rng, 256)
  return out
}

function encodeLength(length: number): Buffer {
  const bytes: number[] = []
  do {
    let byte = length % 128
    length = Math.floor(length / 128)
    if (length > 0) byte |= 0x80
    bytes.push(byte)
  } while (length > 0 && bytes.length < 4)
  return Buffer.from(bytes)
}

/** Fixed-header size of a well-formed packet (type byte plus the remaining-length varint). */
function headerSize(packet: Buffer): number {
  let i = 1
  while (i < packet.length && i < 5 && packet[i]! & 0x80) i++
  return Math.min(i + 1, packet.length)
}

/** Mutations of raw bytes: framing may break, which tests the broker's length handling. */
const RAW: Array<(rng: Rng, b: Buffer) => Buffer> = [
  (rng, b) => {
    const out = Buffer.from(b)
    for (let n = 1 + int(rng, 4); n > 0; n--) {
      const i = int(rng, out.length)
      out[i] = out[i]! ^ (1 << int(rng, 8))
    }
    return out
  },
  (rng, b) => {
    const out = Buffer.from(b)
    out[int(rng, out.length)] = rng() < 0.5 ? pick(rng, INTERESTING) : int(rng, 256)
    return out
  },
  (rng, b) => b.subarray(0, int(rng, b.length)),
  (rng, b) => {
    const at = int(rng, b.length + 1)
    return Buffer.concat([b.subarray(0, at), randomBytes(rng, 16), b.subarray(at)])
  },
  (rng, b) => {
    const at = int(rng, b.length)
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rng, 8))])
  },
  (rng, b) => {
    const at = int(rng, b.length)
    const end = Math.min(b.length, at + 1 + int(rng, 16))
    return Buffer.concat([b.subarray(0, end), b.subarray(at, end), b.subarray(end)])
  },
  // Another remaining length: shorter, longer, huge, or a varint that never ends (5 continuation bytes).
  (rng, b) => {
    const body = b.subarray(headerSize(b))
    const choice = int(rng, 4)
    if (choice === 3) return Buffer.concat([b.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), body])
    const length = choice === 0 ? int(rng, body.length + 1) : choice === 1 ? body.length + 1 + int(rng, 8) : 268_435_455 - int(rng, 1000)
    return Buffer.concat([b.subarray(0, 1), encodeLength(length), body])
  },
  // Another first byte: other packet types and flag combinations on the same body.
  (rng, b) => {
    const out = Buffer.from(b)
    out[0] = int(rng, 256)
    return out
  },
]

/**
 * Mutations of the body that keep the framing right (the remaining length is recomputed), so the case reaches
 * the broker's field-level checks: properties, UTF-8, topic and reason-code validation, state rules.
 */
export function mutate__body(rng: Rng, packet: Buffer): Buffer {
  const body = packet.subarray(headerSize(packet))
  let mutated = body.length === 0 ? randomBytes(rng, 8) : body
  for (let n = 1 + int(rng, 3); n > 0 && mutated.length > 0; n--) mutated = pick(rng, RAW.slice(0, 6))(rng, mutated)
  return Buffer.concat([packet.subarray(0, 1), encodeLength(mutated.length), mutated])
}

/** One to three raw mutations stacked. */
export function mutate__raw(rng: Rng, packet: Buffer): Buffer {
  let out = packet
  for (let n = 1 + int(rng, 3); n > 0; n--) out = out.length === 0 ? randomBytes(rng) : pick(rng, RAW)(rng, out)
  return out
}

/**
 * How the bytes end, read as MQTT frames: 'complete' (the stream is at a packet boundary afterwards),
 * 'incomplete' (the broker is waiting for `missing` more bytes; 0 when the cut is inside the length itself) or
 * 'malformed' (a remaining length longer than 4 bytes).
 */
export function frame__walk(bytes: Buffer): {state: 'complete' | 'incomplete' | 'malformed'; missing: number} {
  let offset = 0
  while (offset < bytes.length) {
    offset++
    let length = 0
    let multiplier = 1
    for (let i = 0; ; i++) {
      if (i === 4) return {state: 'malformed', missing: 0}
      if (offset >= bytes.length) return {state: 'incomplete', missing: 0}
      const byte = bytes[offset++]!
      length += (byte & 0x7f) * multiplier
      multiplier *= 128
      if (!(byte & 0x80)) break
    }
    if (offset + length > bytes.length) return {state: 'incomplete', missing: offset + length - bytes.length}
    offset += length
  }
  return {state: 'complete', missing: 0}
}
