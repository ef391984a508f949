/**
 * Drives fuzz cases into a broker over real TCP connections. Each connection opens with a valid CONNECT (or, one
 * time in twenty, a mutated one: that is the case), then sends cases a few at a time. After each case that leaves
 * the stream at a packet boundary comes a marker, an UNSUBSCRIBE with a packet id unique on the connection: its
 * UNSUBACK proves the broker processed the case and kept serving (a PINGREQ would not do: a case may itself be a
 * PINGREQ, and its PINGRESP would be taken for the marker's). When the broker closes the connection instead, a new
 * one is opened. A
 * case that leaves a packet unfinished ends the connection from our side (the broker must cope with half a packet
 * then EOF). A broker that never crashes still must not send garbage: every answer's framing and packet type is
 * checked, and one connection in eight also has its answers decoded by mqtt-packet; failures are counted.
 */
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import {corpus__connect, corpus__packets, type CorpusPacket, type FuzzVersion} from './corpus.js'
import {frame__walk, mutate__body, mutate__raw, randomBytes, rng__create, type Rng} from './mutate.js'

export interface FuzzOptions {
  port: number
  host?: string
  seed: number
  /** Stop after this many cases… */
  cases: number
  /** …or at this time (epoch ms), whichever comes first. */
  deadline: number
  /** Connections fuzzing at once. */
  concurrency: number
  /** How long to wait for the broker to answer a marker or to close before calling the connection stuck. */
  answerTimeoutMs?: number
}

export interface FuzzStats {
  cases: number
  /** Connections opened. */
  connections: number
  /** Cases after which the broker answered the marker that followed (the connection stayed usable). */
  survived: number
  /** Cases after which the broker closed the connection. */
  closedByBroker: number
  /** Cases that left a packet unfinished; we closed our side. */
  endedByUs: number
  /** Connections where the broker neither answered nor closed within answerTimeoutMs. */
  stuck: number
  /** Packets received from the broker, and answers mqtt-packet could not parse (on connections opened by a valid
   * CONNECT; after a mutated CONNECT the broker may rightly answer in another protocol version than we parse). */
  answers: number
  unparseable: number
  /** Cases processed per packet type of the seed they came from ('random' for pure random bytes). */
  bySeed: Record<string, number>
}

/** Packet ids of markers start here and count up on each connection (the corpus uses ids below 100). */
const MARKER_FIRST_ID = 50_000

/** UNSUBSCRIBE of topic "m" with packet id `id`, in the encoding of `version`. */
function marker(version: FuzzVersion, id: number): Buffer {
  return version === 5
    ? Buffer.from([0xa2, 0x06, id >> 8, id & 0xff, 0x00, 0x00, 0x01, 0x6d])
    : Buffer.from([0xa2, 0x05, id >> 8, id & 0xff, 0x00, 0x01, 0x6d])
}

/** Cases sent in one write (each followed by its marker): fewer round trips, each case still proven processed. */
const BATCH = 4
/** Unfinished packets missing up to this many bytes are completed rather than abandoned. */
const MAX_PADDING = 4096

function randomBytesExactly(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(rng() * 256)
  return out
}
const VERSIONS: FuzzVersion[] = [3, 4, 5]

type Outcome = 'pong' | 'closed' | 'timeout'

/**
 * First bytes a server may send: CONNACK, PUBLISH (any flags), PUBACK, PUBREC, PUBREL (flags 0010), PUBCOMP,
 * SUBACK, UNSUBACK, PINGRESP, DISCONNECT, AUTH [MQTT-2.1.3-1]. Anything else in an answer is garbage.
 */
function frame__isServerPacket(first: number): boolean {
  const type = first >> 4
  const flags = first & 0x0f
  if (type === 3) return true
  if (type === 6) return flags === 0x02
  return flags === 0 && [2, 4, 5, 7, 9, 11, 13, 14, 15].includes(type)
}

/** One connection to the broker, reading its answers frame by frame (cheap enough to run on every connection). */
class FuzzConnection {
  private pongs = 0
  /** Packet ids of markers sent and not yet acknowledged, oldest first. */
  readonly markers: number[] = []
  private nextMarker = MARKER_FIRST_ID
  private closed = false
  private waiter: ((outcome: Outcome) => void) | undefined
  private parseFailed = false
  private pending: Buffer = Buffer.alloc(0)
  /** Set when this connection's CONNECT was itself a mutated case. */
  connectMutated = false

  private constructor(
    readonly socket: net.Socket,
    private readonly stats: FuzzStats,
    version: FuzzVersion,
    fullParse: boolean,
  ) {
    // Every connection checks the framing and packet types of the answers; a sample also has every answer
    // decoded by mqtt-packet (fields, properties, reason codes).
    const parser = fullParse ? mqttPacket.parser({protocolVersion: version}) : undefined
    parser?.on('packet', () => {})
    parser?.on('error', () => this.garbage())
    socket.on('data', (chunk: Buffer) => {
      if (this.parseFailed) return
      parser?.parse(chunk)
      this.scan(chunk)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.settle('closed')
    })
  }

  private scan(chunk: Buffer): void {
    let bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    while (bytes.length > 0) {
      // Remaining length: at most 4 bytes of 7 bits [MQTT-1.5.5].
      let offset = 1
      let length = 0
      let ended = false
      for (let multiplier = 1; offset < bytes.length && offset <= 4; multiplier *= 128) {
        const byte = bytes[offset++]!
        length += (byte & 0x7f) * multiplier
        if (!(byte & 0x80)) {
          ended = true
          break
        }
      }
      if (!ended) {
        if (offset > 4) return this.garbage()
        break
      }
      if (bytes.length < offset + length) break
      const first = bytes[0]!
      if (!frame__isServerPacket(first)) return this.garbage()
      this.stats.answers++
      // UNSUBACK: a marker's when it carries the id of the oldest marker outstanding.
      if (first === 0xb0 && length >= 2 && ((bytes[offset]! << 8) | bytes[offset + 1]!) === this.markers[0]) {
        this.markers.shift()
        this.pongs++
        this.settle('pong')
      }
      bytes = bytes.subarray(offset + length)
    }
    this.pending = bytes
  }

  private garbage(): void {
    if (!this.connectMutated) this.stats.unparseable++
    this.parseFailed = true
  }

  static open(options: FuzzOptions, stats: FuzzStats, version: FuzzVersion, fullParse: boolean): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({port: options.port, host: options.host ?? '127.0.0.1'})
      socket.setNoDelay(true)
      socket.once('connect', () => resolve(new FuzzConnection(socket, stats, version, fullParse)))
      socket.once('error', reject)
    })
  }

  /** The next marker to send after a case; its id is expected back in an UNSUBACK. */
  marker(version: FuzzVersion): Buffer {
    const id = this.nextMarker
    this.nextMarker = id === 0xffff ? MARKER_FIRST_ID : id + 1
    this.markers.push(id)
    return marker(version, id)
  }

  /** Waits for the next marker acknowledgement (already received ones count), a close, or the timeout. */
  next(timeoutMs: number, expectPong: boolean): Promise<Outcome> {
    // Acknowledgements that arrived before the connection closed still count.
    if (expectPong && this.pongs > 0) {
      this.pongs--
      return Promise.resolve('pong')
    }
    if (this.closed) return Promise.resolve('closed')
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle('timeout'), timeoutMs)
      this.waiter = (outcome) => {
        clearTimeout(timer)
        if (outcome === 'pong') this.pongs--
        resolve(outcome)
      }
    })
  }

  private settle(outcome: Outcome): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.(outcome)
  }
}

/** One case and the seed it came from ('random' for pure random bytes). */
function fuzz__case(rng: Rng, seeds: CorpusPacket[]): {seed: string; bytes: Buffer} {
  const roll = rng()
  if (roll < 0.05) return {seed: 'random', bytes: randomBytes(rng)}
  const seed = seeds[Math.floor(rng() * seeds.length)]!
  if (roll < 0.2) return {seed: seed.cmd, bytes: seed.bytes}
  if (roll < 0.75) return {seed: seed.cmd, bytes: mutate__body(rng, seed.bytes)}
  return {seed: seed.cmd, bytes: mutate__raw(rng, seed.bytes)}
}

/** Records one case the broker processed. */
function fuzz__count(stats: FuzzStats, seed: string): void {
  stats.cases++
  stats.bySeed[seed] = (stats.bySeed[seed] ?? 0) + 1
}

async function fuzz__worker(options: FuzzOptions, stats: FuzzStats, rng: Rng, worker: number): Promise<void> {
  const timeout = options.answerTimeoutMs ?? 2000
  const prefix = `fuzz/w${worker}`
  const seedsByVersion = new Map(VERSIONS.map((v) => [v, corpus__packets(v, prefix)]))
  const more = () => stats.cases < options.cases && Date.now() < options.deadline
  while (more()) {
    const version = VERSIONS[Math.floor(rng() * VERSIONS.length)]!
    const seeds = seedsByVersion.get(version)!
    const connection = await FuzzConnection.open(options, stats, version, stats.connections % 8 === 0)
    stats.connections++
    const connect = corpus__connect(version, `fuzz-${worker}-${stats.connections}`, Math.floor(rng() * 60), prefix)
    let first = true
    let open = true
    while (open) {
      // Up to BATCH cases whose framing is complete go out in one write, each followed by its marker. Markers
      // are acknowledged in order, so the k-th proves the k-th case was processed; cases after the one that made
      // the broker close the connection were never read and are not counted. A case that leaves a packet
      // unfinished ends the batch and the connection.
      const batch: Array<{seed: string; bytes: Buffer}> = []
      let tail: {seed: string; bytes: Buffer} | undefined
      while (batch.length < BATCH && more()) {
        // A mutated CONNECT is a case of its own; otherwise the valid CONNECT goes out with the first case.
        const fuzzConnect = first && rng() < 0.05
        const one = fuzzConnect
          ? {seed: 'connect (first)', bytes: rng() < 0.5 ? mutate__body(rng, connect) : mutate__raw(rng, connect)}
          : fuzz__case(rng, seeds)
        if (fuzzConnect) connection.connectMutated = true
        const bytes = first && !fuzzConnect ? Buffer.concat([connect, one.bytes]) : one.bytes
        first = false
        const frame = frame__walk(bytes)
        // A packet cut short is completed with random bytes when that is cheap, so the broker parses it now.
        if (frame.state === 'complete') batch.push({seed: one.seed, bytes})
        else if (frame.state === 'incomplete' && frame.missing > 0 && frame.missing <= MAX_PADDING) {
          batch.push({seed: one.seed, bytes: Buffer.concat([bytes, randomBytesExactly(rng, frame.missing)])})
        } else {
          tail = {seed: one.seed, bytes}
          break
        }
      }
      if (batch.length > 0) {
        connection.socket.write(Buffer.concat(batch.flatMap(({bytes}) => [bytes, connection.marker(version)])))
        for (let i = 0; i < batch.length && open; i++) {
          const outcome = await connection.next(timeout, true)
          fuzz__count(stats, batch[i]!.seed)
          if (outcome === 'pong') stats.survived++
          else {
            if (outcome === 'closed') stats.closedByBroker++
            else stats.stuck++
            open = false
          }
        }
      }
      if (open && tail !== undefined) {
        fuzz__count(stats, tail.seed)
        stats.endedByUs++
        connection.socket.end(tail.bytes)
        if ((await connection.next(timeout, false)) === 'timeout') stats.stuck++
        open = false
      }
      if (!more()) open = false
    }
    connection.socket.destroy()
  }
}

/** Runs the fuzz cases; resolves with what happened. Never rejects for what the broker does. */
export async function fuzz__run(options: FuzzOptions): Promise<FuzzStats> {
  const stats: FuzzStats = {cases: 0, connections: 0, survived: 0, closedByBroker: 0, endedByUs: 0, stuck: 0, answers: 0, unparseable: 0, bySeed: {}}
  const workers = Array.from({length: options.concurrency}, (_, i) => fuzz__worker(options, stats, rng__create(options.seed + i * 7919), i))
  await Promise.all(workers)
  return stats
}
