/**
 * Bridge configuration: the `bridges` list of the `--config` file (YAML or JSON), the `--bridge NAME=URL` and
 * `--bridge-topic NAME='PATTERN DIR QOS [LOCAL REMOTE]'` flags, and mosquitto's `topic` line form for one rule.
 * Everything is checked before the broker starts: a bad entry throws one line naming the entry and the field.
 */
import {topic__hasWildcard, topic__validateFilter} from '../topics/index.js'

export type BridgeDirection = 'out' | 'in' | 'both'

/** One topic rule: `localPrefix + pattern` here is `remotePrefix + pattern` on the remote broker. */
export interface BridgeRule {
  pattern: string
  direction: BridgeDirection
  qos: 0 | 1 | 2
  localPrefix: string
  remotePrefix: string
}

export interface BridgeConfig {
  name: string
  /** Tried in order; the next one after a failed attempt (fail-over). */
  urls: string[]
  /** Default `mqttkit-bridge-<name>-<node id>`. */
  clientId?: string
  username?: string
  password?: string
  /** PEM file paths for mqtts:// and wss://. */
  ca?: string
  cert?: string
  key?: string
  /** Accept a remote certificate that does not verify (testing only). */
  insecure: boolean
  protocolVersion: 4 | 5
  /** false (default): a persistent session on the remote, so `in` messages wait there while the bridge is away. */
  clean: boolean
  keepalive: number
  /** Messages kept for the remote while it is unreachable (QoS 1/2, in the broker's store); past it new ones are dropped. */
  maxQueued: number
  /** Reconnect backoff: first delay and the cap, in milliseconds (each delay jittered down to half). */
  reconnectBase: number
  reconnectCap: number
  topics: BridgeRule[]
}

export const BRIDGE_DEFAULTS = {
  keepalive: 60,
  maxQueued: 10_000,
  reconnectBase: 500,
  reconnectCap: 30_000,
} as const

const NAME = /^[A-Za-z0-9_.-]{1,64}$/
const SCHEMES = new Set(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'])
const KEYS = new Set([
  'name',
  'url',
  'urls',
  'clientId',
  'username',
  'password',
  'ca',
  'cert',
  'key',
  'insecure',
  'protocolVersion',
  'clean',
  'keepalive',
  'maxQueued',
  'reconnectBase',
  'reconnectCap',
  'topics',
])
const RULE_KEYS = new Set(['pattern', 'direction', 'qos', 'localPrefix', 'remotePrefix'])

export class BridgeConfigError extends Error {
  override name = 'BridgeConfigError'
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
}

/**
 * Splits a mosquitto `topic` line (`sensors/# both 1 local/ remote/`) into words; `""` is an empty word, as in
 * mosquitto.conf. Returns null on an unterminated quote.
 */
function words(line: string): string[] | null {
  const out: string[] = []
  const re = /\s*(?:"([^"]*)"|'([^']*)'|([^\s"']\S*))/gy
  let m: RegExpExecArray | null
  let at = 0
  while ((m = re.exec(line)) !== null) {
    out.push(m[1] ?? m[2] ?? m[3]!)
    at = re.lastIndex
  }
  if (line.slice(at).trim() !== '') return null
  return out
}

/** mosquitto's `topic pattern [[[out | in | both] qos-level] local-prefix remote-prefix]`. */
export function bridge__parseTopicLine(line: string, where: string): BridgeRule {
  const w = words(line)
  if (w === null || w.length === 0) throw new BridgeConfigError(`${where}: cannot read topic rule ${JSON.stringify(line)} (PATTERN [DIRECTION [QOS [LOCAL-PREFIX REMOTE-PREFIX]]])`)
  if (w.length > 5 || w.length === 4) {
    throw new BridgeConfigError(`${where}: topic rule ${JSON.stringify(line)} has ${w.length} words; expected PATTERN [DIRECTION [QOS [LOCAL-PREFIX REMOTE-PREFIX]]]`)
  }
  const qos = w[2] === undefined ? 0 : Number(w[2])
  return rule__check({pattern: w[0], direction: w[1] ?? 'out', qos: w[2] === undefined || /^\d+$/.test(w[2]) ? qos : w[2], localPrefix: w[3] ?? '', remotePrefix: w[4] ?? ''}, where)
}

function rule__check(raw: Record<string, unknown>, where: string): BridgeRule {
  for (const key of Object.keys(raw)) {
    if (!RULE_KEYS.has(key)) throw new BridgeConfigError(`${where}: unknown field "${key}" (known: ${[...RULE_KEYS].join(', ')})`)
  }
  const {pattern, direction, qos, localPrefix = '', remotePrefix = ''} = raw
  if (typeof pattern !== 'string') throw new BridgeConfigError(`${where}.pattern must be a topic filter string, got ${JSON.stringify(pattern)}`)
  if (direction !== 'out' && direction !== 'in' && direction !== 'both') {
    throw new BridgeConfigError(`${where}.direction must be out, in or both, got ${JSON.stringify(direction)}`)
  }
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new BridgeConfigError(`${where}.qos must be 0, 1 or 2, got ${JSON.stringify(qos)}`)
  for (const [field, prefix] of [
    ['localPrefix', localPrefix],
    ['remotePrefix', remotePrefix],
  ] as const) {
    if (typeof prefix !== 'string') throw new BridgeConfigError(`${where}.${field} must be a string, got ${JSON.stringify(prefix)}`)
    if (topic__hasWildcard(prefix)) throw new BridgeConfigError(`${where}.${field} must not contain + or #, got ${JSON.stringify(prefix)}`)
    const filter = prefix + pattern
    const bad = topic__validateFilter(filter)
    if (bad !== null) throw new BridgeConfigError(`${where}.${field === 'localPrefix' ? 'pattern' : field}: ${JSON.stringify(filter)} is not a valid topic filter: ${bad}`)
  }
  return {pattern, direction, qos, localPrefix: localPrefix as string, remotePrefix: remotePrefix as string}
}

/** A URL for logs, banners and $SYS-adjacent reports: a password in it is replaced by `***`. */
export function bridge__displayUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

function url__check(url: unknown, where: string): string {
  if (typeof url !== 'string') throw new BridgeConfigError(`${where} must be a URL string such as mqtt://host:1883, got ${JSON.stringify(url)}`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new BridgeConfigError(`${where}: ${JSON.stringify(url)} is not a URL (expected mqtt://host:port, mqtts://, ws:// or wss://)`)
  }
  if (!SCHEMES.has(parsed.protocol)) throw new BridgeConfigError(`${where}: unsupported scheme ${parsed.protocol} in ${JSON.stringify(url)} (mqtt, mqtts, ws, wss)`)
  if (parsed.hostname === '') throw new BridgeConfigError(`${where}: ${JSON.stringify(url)} names no host`)
  return url
}

function int(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BridgeConfigError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

function optionalString(raw: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = raw[key]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new BridgeConfigError(`${where}.${key} must be a string, got ${JSON.stringify(value)}`)
  return value
}

/** One entry of the `bridges` list. `index` names it in errors before its name is known. */
export function bridge__checkEntry(entry: unknown, index: number): BridgeConfig {
  const at = `bridges[${index}]`
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new BridgeConfigError(`${at} must be a mapping with name, url and topics`)
  const raw = Object.fromEntries(Object.entries(entry as Record<string, unknown>).map(([k, v]) => [camel(k), v]))
  const name = raw.name
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BridgeConfigError(`${at}.name must be 1-64 letters, digits, '_', '.' or '-' (it names $SYS topics and client ids), got ${JSON.stringify(name)}`)
  }
  const where = `bridge "${name}" (${at})`
  for (const key of Object.keys(raw)) {
    if (!KEYS.has(key)) throw new BridgeConfigError(`${where}: unknown field "${key}" (known: ${[...KEYS].join(', ')})`)
  }
  if ((raw.url === undefined) === (raw.urls === undefined)) throw new BridgeConfigError(`${where}: give either url or urls`)
  const urls = raw.url !== undefined ? [url__check(raw.url, `${where}.url`)] : raw.urls
  if (!Array.isArray(urls) || urls.length === 0) throw new BridgeConfigError(`${where}.urls must be a non-empty list of URLs`)
  urls.forEach((u, i) => url__check(u, `${where}.urls[${i}]`))
  const pv = raw.protocolVersion ?? 5
  let protocolVersion: 4 | 5
  if (pv === 5 || pv === '5' || pv === '5.0') protocolVersion = 5
  else if (pv === 4 || pv === '3.1.1' || pv === 311 || pv === '311') protocolVersion = 4
  else throw new BridgeConfigError(`${where}.protocolVersion must be 5 or 3.1.1, got ${JSON.stringify(pv)}`)
  for (const key of ['clean', 'insecure'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') throw new BridgeConfigError(`${where}.${key} must be true or false, got ${JSON.stringify(raw[key])}`)
  }
  const topics = raw.topics
  if (!Array.isArray(topics) || topics.length === 0) throw new BridgeConfigError(`${where}.topics must be a non-empty list of rules`)
  const rules = topics.map((t: unknown, i: number) => {
    const tw = `${where}.topics[${i}]`
    if (typeof t === 'string') return bridge__parseTopicLine(t, tw)
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new BridgeConfigError(`${tw} must be a mapping or a "PATTERN DIR QOS LOCAL REMOTE" line`)
    const r = Object.fromEntries(Object.entries(t as Record<string, unknown>).map(([k, v]) => [camel(k), v]))
    return rule__check({direction: 'out', qos: 0, ...r}, tw)
  })
  const config: BridgeConfig = {
    name,
    urls: urls as string[],
    insecure: raw.insecure === true,
    protocolVersion,
    clean: raw.clean === true,
    keepalive: raw.keepalive === undefined ? BRIDGE_DEFAULTS.keepalive : int(raw.keepalive, `${where}.keepalive`, 1, 65_535),
    maxQueued: raw.maxQueued === undefined ? BRIDGE_DEFAULTS.maxQueued : int(raw.maxQueued, `${where}.maxQueued`, 0, 10_000_000),
    reconnectBase: raw.reconnectBase === undefined ? BRIDGE_DEFAULTS.reconnectBase : int(raw.reconnectBase, `${where}.reconnectBase`, 10, 3_600_000),
    reconnectCap: raw.reconnectCap === undefined ? BRIDGE_DEFAULTS.reconnectCap : int(raw.reconnectCap, `${where}.reconnectCap`, 10, 3_600_000),
    topics: rules,
  }
  if (config.reconnectCap < config.reconnectBase) throw new BridgeConfigError(`${where}.reconnectCap (${config.reconnectCap}) must not be below reconnectBase (${config.reconnectBase})`)
  for (const key of ['clientId', 'username', 'password', 'ca', 'cert', 'key'] as const) {
    const value = optionalString(raw, key, where)
    if (value !== undefined) config[key] = value
  }
  return config
}

/** The whole `bridges` list (absent: none); names must be unique. */
export function bridge__checkList(list: unknown): BridgeConfig[] {
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new BridgeConfigError('bridges must be a list of bridge entries')
  const out = list.map((entry, i) => bridge__checkEntry(entry, i))
  const seen = new Set<string>()
  for (const [i, b] of out.entries()) {
    if (seen.has(b.name)) throw new BridgeConfigError(`bridge "${b.name}" (bridges[${i}]): the name is used by an earlier entry`)
    seen.add(b.name)
  }
  return out
}

/**
 * `--bridge NAME=URL` and `--bridge-topic NAME='PATTERN DIR QOS [LOCAL REMOTE]'` on top of the file's list: a flag
 * bridge with a file bridge's name replaces its URL; topic flags add rules to the bridge they name.
 */
export function bridge__fromFlags(fileBridges: BridgeConfig[], bridgeFlags: string[], topicFlags: string[]): BridgeConfig[] {
  const byName = new Map(fileBridges.map((b) => [b.name, {...b, topics: [...b.topics]}]))
  const fromFlags = new Set<string>()
  for (const flag of bridgeFlags) {
    const eq = flag.indexOf('=')
    const name = eq < 0 ? '' : flag.slice(0, eq)
    if (!NAME.test(name)) throw new BridgeConfigError(`--bridge ${JSON.stringify(flag)}: expected NAME=URL with a name of letters, digits, '_', '.' or '-'`)
    const url = url__check(flag.slice(eq + 1), `--bridge ${name}`)
    const existing = byName.get(name)
    if (existing !== undefined) existing.urls = [url]
    else {
      byName.set(name, {
        name,
        urls: [url],
        insecure: false,
        protocolVersion: 5,
        clean: false,
        ...BRIDGE_DEFAULTS,
        topics: [],
      })
      fromFlags.add(name)
    }
  }
  for (const flag of topicFlags) {
    const eq = flag.indexOf('=')
    const name = eq < 0 ? '' : flag.slice(0, eq)
    const bridge = byName.get(name)
    if (bridge === undefined) throw new BridgeConfigError(`--bridge-topic ${JSON.stringify(flag)}: no bridge named ${JSON.stringify(name)} (define it with --bridge NAME=URL or in the config file)`)
    bridge.topics.push(bridge__parseTopicLine(flag.slice(eq + 1), `--bridge-topic ${name}`))
  }
  for (const name of fromFlags) {
    if (byName.get(name)!.topics.length === 0) throw new BridgeConfigError(`--bridge ${name}: no topic rules (add --bridge-topic ${name}='PATTERN DIRECTION QOS')`)
  }
  return [...byName.values()]
}
