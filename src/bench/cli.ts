/**
 * What the four `bench` commands share: their flags, flags → BenchSpec, and one run from start to printed result
 * (local broker when no broker is named, `--compare`, progress, Ctrl-C, `--output`). The commands stay thin.
 */
import {writeFileSync} from 'node:fs'
import {randomBytes, randomInt} from 'node:crypto'
import {Flags} from '@oclif/core'
import {ClientError, ExitCode} from '../client/errors.js'
import {type ConnectionFlagValues, connectionFlags} from '../client/flags.js'
import {client__settingsFromFlags} from '../client/options.js'
import {type CompareResult, compare__run} from './compare.js'
import type {Progress} from './engine.js'
import {format__compare, format__progress, format__summary} from './format.js'
import {type LocalBroker, localBroker__start} from './local-broker.js'
import {HEADER_SIZE} from './payload.js'
import {report__html} from './report.js'
import {bench__run} from './runner.js'
import type {BenchResult, BenchSpec, BenchTarget, Qos, Scenario} from './types.js'

const G = 'BENCH'
const {
  'client-id': _id,
  'disable-clean-session': _c,
  'session-expiry': _x,
  'will-topic': _wt,
  'will-payload': _wp,
  'will-qos': _wq,
  'will-retain': _wr,
  'will-delay': _wd,
  ...benchConnectionFlags
} = connectionFlags

export const commonFlags = {
  ...benchConnectionFlags,
  duration: Flags.integer({char: 'd', description: 'seconds to measure; every run stops here at the latest [default: 10, 300 with --count]', min: 1, helpGroup: G}),
  workers: Flags.integer({char: 'w', description: 'spread the clients over this many processes', default: 1, min: 1, max: 64, helpGroup: G}),
  'connect-rate': Flags.integer({description: 'new connections per second (0: as fast as the broker accepts)', default: 0, min: 0, helpGroup: G}),
  'connect-concurrency': Flags.integer({description: 'connection handshakes pending at once', default: 200, min: 1, helpGroup: G}),
  compare: Flags.string({
    description: 'run the same scenario against each broker URL in turn ("mqttkit": one started here) and compare',
    multiple: true,
    helpGroup: G,
  }),
  rounds: Flags.integer({description: 'interleaved rounds for --compare (medians are reported)', default: 3, min: 1, helpGroup: G}),
  output: Flags.string({char: 'o', description: 'write a self-contained HTML report with charts to this file', helpGroup: G}),
}

export const publishFlags = {
  publishers: Flags.integer({description: 'publishing clients', default: 1, min: 1, helpGroup: G}),
  topic: Flags.string({char: 't', description: 'publish topic; %i = publisher index, %c = message counter', default: 'mqttkit/bench/%i', helpGroup: G}),
  qos: Flags.integer({char: 'q', description: 'publish QoS', default: 0, min: 0, max: 2, helpGroup: G}),
  size: Flags.integer({char: 's', description: `payload bytes (>= ${HEADER_SIZE} carries the latency/sequence header)`, default: 64, min: 0, max: 268_435_000, helpGroup: G}),
  rate: Flags.string({char: 'r', description: 'messages per second per publisher (0: as fast as possible)', default: '0', helpGroup: G}),
  'total-rate': Flags.string({description: 'messages per second over all publishers (split evenly)', exclusive: ['rate'], helpGroup: G}),
  inflight: Flags.integer({description: 'QoS 1/2 messages awaiting their ack per publisher', default: 64, min: 1, max: 65_535, helpGroup: G}),
  count: Flags.integer({char: 'n', description: 'messages per publisher (then stop)', min: 1, helpGroup: G}),
  retain: Flags.boolean({description: 'publish retained messages', helpGroup: G}),
}

export const subscribeFlags = {
  filter: Flags.string({description: 'subscription filter; %i = subscriber index; $share/GROUP/… shares the load', default: 'mqttkit/bench/#', helpGroup: G}),
  subscribers: Flags.integer({description: 'subscribing clients', default: 1, min: 1, helpGroup: G}),
  'sub-qos': Flags.integer({description: 'subscription QoS [default: the publish QoS, 0 for bench sub]', min: 0, max: 2, helpGroup: G}),
}

export const backlogFlag = {
  backlog: Flags.integer({
    description: 'messages a publisher may be ahead of the slowest subscriber expecting it (0: open loop, publish as fast as the broker accepts)',
    default: 1000,
    min: 0,
    helpGroup: G,
  }),
}

export const drainFlag = {
  drain: Flags.integer({description: 'ms of silence to wait for outstanding acks and deliveries after publishing', default: 2000, min: 0, helpGroup: G}),
}

export const connFlags = {
  clients: Flags.integer({char: 'C', description: 'connections to open', default: 100, min: 1, helpGroup: G}),
  hold: Flags.integer({description: 'seconds to keep the connections open once all are up', default: 0, min: 0, helpGroup: G}),
}

export type BenchFlags = ConnectionFlagValues & {
  duration?: number
  workers: number
  'connect-rate': number
  'connect-concurrency': number
  compare?: string[]
  rounds: number
  output?: string
  publishers?: number
  topic?: string
  filter?: string
  qos?: number
  size?: number
  rate?: string
  'total-rate'?: string
  inflight?: number
  count?: number
  retain?: boolean
  subscribers?: number
  'sub-qos'?: number
  drain?: number
  backlog?: number
  clients?: number
  hold?: number
}

function usage(message: string): ClientError {
  return new ClientError(message, ExitCode.usage)
}

function rate(text: string, flag: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0) throw usage(`--${flag} must be a number >= 0, got "${text}"`)
  return n
}

/** Does the user name a broker, or should bench start one? */
export function bench__namesBroker(flags: BenchFlags): boolean {
  return flags.url !== undefined || flags.host !== undefined || flags.port !== undefined
}

export function bench__target(flags: ConnectionFlagValues): BenchTarget {
  const settings = client__settingsFromFlags(flags, 'bench')
  const t = settings.target
  return {
    protocol: t.protocol,
    host: t.host,
    port: t.port,
    path: t.path || undefined,
    username: settings.username,
    password: settings.password,
    protocolVersion: settings.protocolVersion,
    keepalive: settings.keepalive,
    clean: settings.clean,
    // Random per run: two bench runs against one broker must not take over each other's sessions.
    clientIdPrefix: flags['id-prefix'] ?? `mkb-${randomBytes(3).toString('hex')}-`,
    tls: t.tls,
  }
}

export function bench__spec(scenario: Scenario, flags: BenchFlags, target: BenchTarget): BenchSpec {
  const publishers = scenario === 'pub' || scenario === 'run' ? (flags.publishers ?? 1) : 0
  const subscribers = scenario === 'sub' || scenario === 'run' ? (flags.subscribers ?? 1) : 0
  const qos = (flags.qos ?? 0) as Qos
  const size = flags.size ?? 64
  if (scenario === 'run' && size < HEADER_SIZE)
    throw usage(`bench run needs --size >= ${HEADER_SIZE}: the payload carries the send time, publisher and sequence`)
  let perPublisher = rate(flags.rate ?? '0', 'rate')
  if (flags['total-rate'] !== undefined) perPublisher = rate(flags['total-rate'], 'total-rate') / Math.max(1, publishers)
  const count = flags.count ?? 0
  return {
    scenario,
    target,
    clients: scenario === 'conn' ? (flags.clients ?? 100) : 0,
    publishers,
    subscribers,
    topic: flags.topic ?? 'mqttkit/bench/%i',
    filter: flags.filter ?? 'mqttkit/bench/#',
    qos,
    subQos: (flags['sub-qos'] ?? (scenario === 'sub' ? 0 : qos)) as Qos,
    retain: flags.retain ?? false,
    size,
    rate: perPublisher,
    inflight: flags.inflight ?? 64,
    backlog: flags.backlog ?? 1000,
    count,
    duration: flags.duration ?? (count > 0 ? 300 : 10),
    connectRate: flags['connect-rate'],
    connectConcurrency: flags['connect-concurrency'],
    connectTimeout: (flags['connect-timeout'] ?? 10) * 1000,
    hold: flags.hold ?? 0,
    drain: flags.drain ?? 2000,
    runId: randomInt(1, 2 ** 32 - 1),
    pubBase: 0,
    subBase: 0,
    clientBase: 0,
    totalPublishers: publishers,
  }
}

export interface BenchOutcome {
  data: BenchResult | {compare: CompareResult}
  text: string
  exitCode: number
}

/** Runs the scenario (or the comparison) with a live progress line on a TTY; Ctrl-C ends it with a summary. */
export async function bench__execute(scenario: Scenario, flags: BenchFlags, json: boolean): Promise<BenchOutcome> {
  const controller = new AbortController()
  // First Ctrl-C: stop measuring and print what was measured. Second: leave now.
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted)
    controller.abort()
  }
  process.on('SIGINT', onSigint)
  // The live line only on a terminal: scripts and logs get the summary (or JSON) alone.
  const spinner = new StatusLine(!json && process.stderr.isTTY === true)
  let last: Progress | null = null
  const onProgress = (p: Progress): void => {
    spinner.text = format__progress(p, last)
    last = p
  }
  const local: LocalBroker[] = []
  const startLocal = async (): Promise<BenchTarget> => {
    spinner.start()
    spinner.text = 'starting a local mqttkit broker…'
    const broker = await localBroker__start()
    local.push(broker)
    return bench__target({host: broker.host, port: broker.port, 'protocol-version': flags['protocol-version']})
  }
  const display = (t: BenchTarget): string => `${t.protocol}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`
  try {
    if (flags.compare && flags.compare.length > 0) {
      const targets: BenchTarget[] = []
      const names: string[] = []
      for (const url of flags.compare) {
        const t = url === 'mqttkit' ? await startLocal() : bench__target({...flags, url, host: undefined, port: undefined})
        targets.push(t)
        names.push(url === 'mqttkit' ? `mqttkit (${display(t)})` : display(t))
      }
      const compare = await compare__run(
        names,
        flags.rounds,
        async (b, round) => {
          spinner.start()
          spinner.text = `round ${round + 1}/${flags.rounds} · ${names[b]}`
          last = null
          const spec = bench__spec(scenario, flags, targets[b]!)
          return bench__run(spec, names[b]!, {workers: flags.workers, signal: controller.signal, onProgress: (p) => {
            onProgress(p)
            spinner.text = `round ${round + 1}/${flags.rounds} · ${names[b]} · ${spinner.text}`
          }})
        },
        () => controller.signal.aborted,
      )
      spinner.stop()
      if (flags.output) writeFileSync(flags.output, report__html(compare.runs.map((r) => r[r.length - 1]!).filter(Boolean), compare))
      return {data: {compare}, text: format__compare(compare), exitCode: controller.signal.aborted ? ExitCode.interrupted : 0}
    }
    const target = bench__namesBroker(flags) ? bench__target(flags) : await startLocal()
    const spec = bench__spec(scenario, flags, target)
    spinner.start()
    spinner.text = 'connecting…'
    const label = local.length ? `mqttkit (${display(target)})` : display(target)
    const options = {workers: flags.workers, signal: controller.signal, onProgress}
    let result = await bench__run(spec, label, options)
    // As pub/sub do: without -V, a broker that refuses MQTT 5 gets one more try with 3.1.1.
    if (flags['protocol-version'] === undefined && refusedVersion(result) && !controller.signal.aborted)
      result = await bench__run({...spec, target: {...target, protocolVersion: 4}}, label, options)
    spinner.stop()
    if (flags.output) writeFileSync(flags.output, report__html([result]))
    return {data: result, text: format__summary(result), exitCode: exitCodeOf(result, controller.signal.aborted)}
  } finally {
    spinner.stop()
    process.off('SIGINT', onSigint)
    await Promise.all(local.map((b) => b.stop()))
  }
}

/**
 * One updating line on stderr, redrawn at most every 100 ms and cut to the terminal width (a spinner library
 * that wraps long lines miscounts them on terminals reporting no width and floods the screen).
 */
class StatusLine {
  private current = ''
  private timer: NodeJS.Timeout | null = null
  constructor(private readonly enabled: boolean) {}
  get text(): string {
    return this.current
  }
  set text(value: string) {
    this.current = value
  }
  start(): void {
    if (!this.enabled || this.timer) return
    this.timer = setInterval(() => this.draw(), 100)
    this.timer.unref()
  }
  stop(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = null
    process.stderr.write('\r\u001B[K')
  }
  private draw(): void {
    const width = process.stderr.columns || 80
    const plain = this.current.replace(/\u001B\[[0-9;]*m/g, '')
    const line = plain.length > width - 1 ? plain.slice(0, width - 2) + '…' : this.current
    process.stderr.write(`\r\u001B[K${line}`)
  }
}

function refusedVersion(r: BenchResult): boolean {
  const keys = Object.keys(r.connections.failures)
  return r.connections.connected === 0 && keys.length > 0 && keys.every((k) => /^CONNACK (unacceptable|unsupported) protocol version/.test(k))
}

function exitCodeOf(r: BenchResult, interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted
  const c = r.connections
  if (c.attempted > 0 && c.connected === 0) {
    const refused = Object.keys(c.failures).some((k) => k.startsWith('CONNACK'))
    return refused ? ExitCode.refused : Object.keys(c.failures).some((k) => k.includes('timeout')) ? ExitCode.timeout : ExitCode.network
  }
  return 0
}
