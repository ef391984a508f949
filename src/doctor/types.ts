// The shapes every doctor check shares. A check is a small async function over a DoctorContext; the runner
// orders checks by their `needs`, runs independent ones concurrently and turns crashes into `fail` results.
import type {IClientOptions} from 'mqtt'

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'
export type DoctorPlatform = 'linux' | 'darwin' | 'win32' | 'other'

export interface CheckResult {
  /** Stable machine id, e.g. `port.1883`, `target.tls`. */
  id: string
  title: string
  status: CheckStatus
  /** What was found, in words. */
  detail: string
  /** Concrete commands or steps for this platform (warn/fail only). */
  fix?: string[]
  /** Measurements for scripts (latencies, pids, CONNACK properties…). */
  data?: Record<string, unknown>
}

/** A process that owns a listening TCP socket. */
export interface ListeningSocket {
  port: number
  address: string
  pid?: number
  command?: string
}

/** Where `--url`/`-h`/`-p` point: the broker under test (built from the shared connection flags). */
export interface DoctorTarget {
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss'
  host: string
  port: number
  /** WebSocket path, e.g. `/mqtt`; '' for TCP and TLS. */
  path: string
  /** `mqtt://localhost:1883`, for messages. */
  display: string
  /** TLS material and policy (`--cafile`, `--cert`, `--insecure`) for mqtts/wss. */
  tls?: {ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean; servername?: string}
  /** mqtt.js options built from the flags (credentials, client id, protocol version, TLS). */
  clientOptions: IClientOptions
  /** False when -V was not given: doctor may then fall back from MQTT 5 to 3.1.1 and say so. */
  protocolVersionGiven: boolean
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a program without a shell; resolves null when it is not installed. Injected so tests can replay outputs. */
export type Exec = (file: string, args: string[], timeoutMs?: number) => Promise<CommandResult | null>

export interface DoctorOptions {
  platform: DoctorPlatform
  /** Ports to inspect locally (the well-known MQTT ports plus `--port` extras). */
  ports: number[]
  /** `--port` extras: probed as plain MQTT. */
  extraPorts: number[]
  target?: DoctorTarget
  /** Connections the user expects to serve, compared with the open-file limit. */
  expectedConnections: number
  /** Per-network-step timeout. */
  timeoutMs: number
  /** False to skip the machine checks (ports, services, docker…) and test only the target. */
  local: boolean
  /** Topic prefix for the round-trip tests (brokers with ACLs may allow only some topics). */
  testTopic: string
  /** `--store` (a redis:// URL): check the cluster's Redis and its nodes (checks/cluster.ts). */
  store?: string
  clusterName?: string
}

export interface DoctorContext extends DoctorOptions {
  exec: Exec
  /** Memoised shared facts, so several checks can use one scan. */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>
  /** Results of checks this one declared in `needs`. */
  result(id: string): CheckResult[] | undefined
}

export interface Check {
  id: string
  title: string
  /** Checks that must pass first: a `fail` (or `skip`) there makes this one `skip`. */
  needs?: string[]
  /** Checks whose results this one reads, whatever their status (ordering only). */
  after?: string[]
  /** When false the check is left out (e.g. target checks without a target). */
  applies(ctx: DoctorOptions): boolean
  run(ctx: DoctorContext): Promise<CheckResult | CheckResult[]>
}

export interface DoctorReport {
  schema: 'mqttkit.doctor/1'
  platform: DoctorPlatform
  node: string
  target?: string
  summary: Record<CheckStatus, number>
  exitCode: 0 | 1 | 2
  checks: CheckResult[]
}
