/**
 * The shapes shared by the bench engine, its worker processes and the commands. Everything here crosses a process
 * boundary (fork IPC with the 'advanced' serialization), so it holds plain data only.
 */

export type Qos = 0 | 1 | 2
export type Scenario = 'conn' | 'pub' | 'sub' | 'run'

/** Where to connect: what `src/client/options.ts` gives raw-socket users, narrowed to what bench needs. */
export interface BenchTarget {
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss'
  host: string
  port: number
  /** WebSocket path (ws/wss only). */
  path?: string
  username?: string
  password?: string
  protocolVersion: 3 | 4 | 5
  keepalive: number
  clean: boolean
  clientIdPrefix: string
  tls?: {ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string; alpn?: string[]}
}

export interface BenchSpec {
  scenario: Scenario
  target: BenchTarget
  /** conn: clients to open. */
  clients: number
  publishers: number
  subscribers: number
  /** Publish topic template: %i is the publisher's index, %c its message counter. */
  topic: string
  /** Subscription filter template (%i is the subscriber's index); `$share/…` filters form one delivery group. */
  filter: string
  qos: Qos
  subQos: Qos
  retain: boolean
  /** Payload bytes; >= HEADER_SIZE carries the timestamp/publisher/sequence header used for latency and loss. */
  size: number
  /** Messages per second per publisher (0: as fast as the broker takes them). */
  rate: number
  /** QoS 1/2 publishes awaiting their ack, per publisher. */
  inflight: number
  /**
   * run: how far (messages) a publisher may run ahead of the slowest delivery group of this process that expects
   * its messages (0: no limit, open loop). Measured from the highest sequence each group has seen, so a lossy
   * broker does not stall the run.
   */
  backlog: number
  /** --workers: the backlog is judged by the parent from every worker's subscribers (see runner.ts). */
  sharedBacklog?: boolean
  /** Messages per publisher (0: until the duration ends). */
  count: number
  /** Seconds; every run stops at the latest here. */
  duration: number
  /** New connections per second while connecting (0: all at once, at most `connectConcurrency` pending). */
  connectRate: number
  connectConcurrency: number
  connectTimeout: number
  /** conn: seconds to hold the connections open after they are all up. */
  hold: number
  /** run: after publishing ends, how long (ms) to wait for the last deliveries. */
  drain: number
  /** Random per run, in every payload: messages of other runs on the same topics are ignored. */
  runId: number
  /** First global index of this process's publishers/subscribers/clients (workers split the index range). */
  pubBase: number
  subBase: number
  clientBase: number
  /** Publisher count over all workers (sub/run loss accounting needs the global picture). */
  totalPublishers: number
}

/** One process's raw result, merged by `merge.ts` into a BenchResult. */
export interface PartialResult {
  startedAt: number
  elapsedMs: number
  /** From the start to the last delivery (deliveries go on while the drain runs). */
  receiveMs: number
  /** CPU time this process used during the measured phase (user + system). */
  cpuMs: number
  /** The wall time `cpuMs` was measured over (the measured phase plus the drain). */
  cpuWallMs: number
  stoppedBy: StopReason
  /** Interrupted (Ctrl-C): the drain was skipped, so deliveries still in flight count as lost. */
  partial: boolean
  connectAttempts: number
  connected: number
  connectFailures: Record<string, number>
  disconnects: Record<string, number>
  published: number
  acked: number
  received: number
  foreign: number
  /** Encoded HdrHistograms (µs). */
  latency: string | null
  ackLatency: string | null
  connectLatency: string | null
  /** Per-second counters from the start of the measured phase. */
  timeline: {published: number[]; received: number[]}
  /** Per delivery group, per publisher: sequence numbers seen (bitset), duplicates, out-of-order arrivals. */
  groups: GroupPartial[]
  /** Per publisher (global index): messages written. */
  sentByPublisher: Record<number, number>
}

export interface GroupPartial {
  name: string
  /** Publisher global index → accounting. */
  publishers: Record<number, {seen: Uint8Array; received: number; duplicates: number; outOfOrder: number; maxSeq: number}>
  /** Publisher global indices whose topic this group's filter matches (null: unknown, e.g. `bench sub`). */
  expectedFrom: number[] | null
}

export type StopReason = 'count' | 'duration' | 'interrupt' | 'error'

export interface LatencySummary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** What `--json` prints (one object per run; `--compare` wraps several). */
export interface BenchResult {
  scenario: Scenario
  target: string
  startedAt: string
  elapsedSec: number
  stoppedBy: StopReason
  /** Interrupted (Ctrl-C) before the last deliveries were drained: `lost` includes messages still in flight. */
  partial: boolean
  workers: number
  config: {
    clients: number
    publishers: number
    subscribers: number
    qos: Qos
    subQos: Qos
    size: number
    rate: number
    inflight: number
    count: number
    duration: number
    topic: string
    filter: string
  }
  connections: {
    attempted: number
    connected: number
    failed: number
    failures: Record<string, number>
    disconnects: Record<string, number>
    /** conn: connections per second over the connecting phase (null in other scenarios). */
    perSec: number | null
    latency: LatencySummary | null
  }
  published: number
  publishedPerSec: number
  acked: number
  received: number
  delivered: number
  deliveredPerSec: number
  expected: number | null
  lost: number
  duplicates: number
  outOfOrder: number
  /** Messages that did not carry this run's header (other traffic on the filter). */
  foreign: number
  latency: LatencySummary | null
  ackLatency: LatencySummary | null
  /**
   * Messages per second of the run, second by second; `publishedSec` / `deliveredSec`: how long each series really
   * lasted, so the last, partial second can be told from a slowdown (the report scales it to a rate).
   */
  timeline: {published: number[]; delivered: number[]; publishedSec: number; deliveredSec: number}
  /** Latency distribution for reports: [percentile, ms] pairs. */
  latencyDistribution: Array<[number, number]>
  publishersLosing: Array<{publisher: number; group: string; lost: number}>
  /** The load generator's own CPU over the measured phase: near 100% per worker means bench itself is the limit. */
  generator: {cpuSec: number; cpuPercentPerWorker: number}
}
