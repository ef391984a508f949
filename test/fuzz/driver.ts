/**
 * Drives fuzz cases into a broker over real TCP connections. Each connection opens with a valid CONNECT (or, one
 * time in twenty, a mutated one: that is the case), then sends one case at a time. When a case leaves the stream at
 * a packet boundary, a PINGREQ follows it and the next case waits for the PINGRESP, which proves the broker
 * processed the case and kept serving; when the broker closes the connection instead, a new one is opened. A
 * case that leaves a packet unfinished ends the connection from our side (the broker must cope with half a packet
 * then EOF). The broker's answers are parsed with mqtt-packet: a broker that never crashes still must not send
 * garbage, so unparseable answers are counted.
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
  /** Packets received from the broker, and answers mqtt-packet could not parse. */
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

/** One connection to the broker with a parser for its answers. */
class FuzzConnection {
  private pongs = 0
  private closed = false
  private waiter: ((outcome: Outcome) => void) | undefined
  private parseFailed = false

  private constructor(
    readonly socket: net.Socket,
    private readonly stats: FuzzStats,
    version: FuzzVersion,
  ) {
    const parser = mqttPacket.parser({protocolVersion: version})
    parser.on('packet', (packet) => {
      stats.answers++
      if (packet.cmd === 'pingresp') {
        this.pongs++
        this.settle('pong')
      }
    })
    parser.on('error', () => {
      stats.unparseable++
      this.parseFailed = true
    })
    socket.on('data', (chunk: Buffer) => {
      if (!this.parseFailed) parser.parse(chunk)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      this.settle('closed')
    })
  }

  static open(options: FuzzOptions, stats: FuzzStats, version: FuzzVersion): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({port: options.port, host: options.host ?? '127.0.0.1'})
      socket.setNoDelay(true)
      socket.once('connect', () => resolve(new FuzzConnection(socket, stats, version)))
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
  if (roll < 0.7) return mutate__body(rng, seed.bytes)
  return mutate__raw(rng, seed.bytes)
}

async function fuzz__worker(options: FuzzOptions, stats: FuzzStats, rng: Rng, worker: number): Promise<void> {
  const timeout = options.answerTimeoutMs ?? 2000
  const seedsByVersion = new Map(VERSIONS.map((v) => [v, corpus__packets(v)]))
  const more = () => stats.cases < options.cases && Date.now() < options.deadline
  while (more()) {
    const version = VERSIONS[Math.floor(rng() * VERSIONS.length)]!
    const seeds = seedsByVersion.get(version)!
    const connection = await FuzzConnection.open(options, stats, version)
    stats.connections++
    const connect = corpus__connect(version, `fuzz-${worker}-${stats.connections}`, Math.floor(rng() * 60))
    let first = true
    for (;;) {
      // A mutated CONNECT is a case of its own; otherwise the valid CONNECT goes out with the first case.
      const fuzzConnect = first && rng() < 0.05
      const body = fuzzConnect ? (rng() < 0.5 ? mutate__body(rng, connect) : mutate__raw(rng, connect)) : fuzz__case(rng, seeds, stats)
      if (fuzzConnect) stats.bySeed['connect (first)'] = (stats.bySeed['connect (first)'] ?? 0) + 1
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
