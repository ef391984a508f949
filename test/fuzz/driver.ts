/**
 * Drives fuzz cases into a broker over real TCP connections. Each connection opens with a valid CONNECT (or, one
 * time in twenty, a mutated one: that is the case), then sends one case at a time. When a case leaves the stream at
 * a packet boundary, a PINGREQ follows it and the next case waits for the PINGRESP, which proves the broker
 * processed the case and kept serving; when the broker closes the connection instead, a new one is opened. A
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
  /** How long to wait for the broker to answer a PINGREQ or to close before calling the connection stuck. */
  answerTimeoutMs?: number
}

export interface FuzzStats {
  cases: number
  /** Connections opened. */
  connections: number
  /** Cases after which the broker answered the PINGREQ that followed (the connection stayed usable). */
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
  /** Cases per packet type of the seed they came from ('random' for pure random bytes). */
  bySeed: Record<string, number>
}

const PINGREQ = Buffer.from([0xc0, 0x00])
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
      if (first === 0xd0) {
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

  /** Waits for the next PINGRESP (already received ones count), a close, or the timeout. */
  next(timeoutMs: number, expectPong: boolean): Promise<Outcome> {
    if (this.closed) return Promise.resolve('closed')
    if (expectPong && this.pongs > 0) {
      this.pongs--
      return Promise.resolve('pong')
    }
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

function fuzz__case(rng: Rng, seeds: CorpusPacket[], stats: FuzzStats): Buffer {
  const roll = rng()
  if (roll < 0.05) {
    stats.bySeed.random = (stats.bySeed.random ?? 0) + 1
    return randomBytes(rng)
  }
  const seed = seeds[Math.floor(rng() * seeds.length)]!
  stats.bySeed[seed.cmd] = (stats.bySeed[seed.cmd] ?? 0) + 1
  if (roll < 0.2) return seed.bytes
  if (roll < 0.75) return mutate__body(rng, seed.bytes)
  return mutate__raw(rng, seed.bytes)
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
    for (;;) {
      // A mutated CONNECT is a case of its own; otherwise the valid CONNECT goes out with the first case.
      const fuzzConnect = first && rng() < 0.05
      const body = fuzzConnect ? (rng() < 0.5 ? mutate__body(rng, connect) : mutate__raw(rng, connect)) : fuzz__case(rng, seeds, stats)
      if (fuzzConnect) {
        stats.bySeed['connect (first)'] = (stats.bySeed['connect (first)'] ?? 0) + 1
        connection.connectMutated = true
      }
      const bytes = first && !fuzzConnect ? Buffer.concat([connect, body]) : body
      first = false
      stats.cases++
      const frame = frame__walk(bytes)
      // A packet cut short is completed with random bytes when that is cheap, so the broker parses it now.
      const padded = frame.state === 'incomplete' && frame.missing > 0 && frame.missing <= MAX_PADDING
      if (frame.state === 'complete' || padded) {
        connection.socket.write(Buffer.concat(padded ? [bytes, randomBytesExactly(rng, frame.missing), PINGREQ] : [bytes, PINGREQ]))
        const outcome = await connection.next(timeout, true)
        if (outcome === 'pong' && more()) {
          stats.survived++
          continue
        }
        if (outcome === 'pong') stats.survived++
        else if (outcome === 'closed') stats.closedByBroker++
        else stats.stuck++
      } else {
        connection.socket.end(bytes)
        stats.endedByUs++
        if ((await connection.next(timeout, false)) === 'timeout') stats.stuck++
      }
      break
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
