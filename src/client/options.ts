/**
 * From parsed connection flags to (1) a plain broker target any socket code can dial and (2) mqtt.js options.
 * Every check of the flags' meaning happens here, once, so pub, sub, bench and doctor reject the same mistakes with
 * the same words (as `ClientError`s with the usage exit code).
 */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {IClientOptions} from 'mqtt'
import {ClientError, ExitCode} from './errors.js'
import type {ConnectionFlagValues} from './flags.js'

/** The protocol level byte of CONNECT: 3 = MQTT 3.1, 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5

export type TargetProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss'

export interface TargetTls {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  /** False with --insecure: neither the chain nor the host name is checked. */
  rejectUnauthorized: boolean
  /** SNI and the name checked against the certificate (absent for IP addresses, which SNI forbids). */
  servername?: string
}

/** Where the broker is, in a form raw-socket code (bench, doctor) can use without mqtt.js. */
export interface ClientTarget {
  protocol: TargetProtocol
  /** Host name or address, IPv6 without brackets. */
  host: string
  port: number
  /** WebSocket path ('/mqtt' by default); '' for TCP and TLS. */
  path: string
  tls?: TargetTls
  /** mosquitto-style `-L mqtt://host/topic`: the topic named by the URL path, if any. */
  urlTopic?: string
  /** For messages: `mqtt://localhost:1883`, `wss://example.com:443/mqtt`. */
  display: string
}

export interface ClientWill {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** MQTT 5 will delay interval, seconds. */
  delay?: number
}

export interface ClientSettings {
  target: ClientTarget
  clientId: string
  username?: string
  password?: string
  protocolVersion: ProtocolVersion
  /** False when -V was not given: an MQTT 5 refusal for the protocol version may then retry with 3.1.1. */
  protocolVersionGiven: boolean
  keepalive: number
  clean: boolean
  sessionExpiry?: number
  will?: ClientWill
  connectTimeoutMs: number
}

const versionNames: Record<string, ProtocolVersion> = {
  '3': 3, '3.1': 3, '31': 3, mqttv31: 3, 'v3.1': 3,
  '4': 4, '3.1.1': 4, '311': 4, mqttv311: 4, 'v3.1.1': 4,
  '5': 5, '5.0': 5, '50': 5, mqttv5: 5, mqttv50: 5, v5: 5, 'v5.0': 5,
}

/** "3.1.1", "311", "4", "mqttv311" → 4; undefined when the name is unknown. */
export function client__parseProtocolVersion(input: string): ProtocolVersion | undefined {
  return versionNames[input.trim().toLowerCase()]
}

export function client__protocolVersionName(version: ProtocolVersion): string {
  return version === 3 ? '3.1' : version === 4 ? '3.1.1' : '5'
}

const defaultPorts: Record<TargetProtocol, number> = {mqtt: 1883, mqtts: 8883, ws: 80, wss: 443}
const schemeAliases: Record<string, TargetProtocol> = {
  mqtt: 'mqtt', tcp: 'mqtt', mqtts: 'mqtts', ssl: 'mqtts', tls: 'mqtts', ws: 'ws', wss: 'wss',
}

function usage(message: string): ClientError {
  return new ClientError(message, ExitCode.usage)
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw usage(`cannot read --${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

interface ParsedUrl {
  protocol: TargetProtocol
  host: string
  port?: number
  path: string
  username?: string
  password?: string
}

function parseUrl(text: string): ParsedUrl {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usage(`bad URL "${text}": expected mqtt://, mqtts://, ws:// or wss:// followed by a host`)
  }
  const protocol = schemeAliases[url.protocol.replace(/:$/, '').toLowerCase()]
  if (protocol === undefined) {
    throw usage(`bad URL "${text}": unsupported scheme "${url.protocol}" (use mqtt, mqtts, ws or wss)`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') throw usage(`bad URL "${text}": no host`)
  // A '#' in `mqtt://host/a/#` is the multi-level wildcard, not a URL fragment (URL drops an empty fragment).
  const hashAt = text.indexOf('#')
  let path: string
  try {
    path = decodeURIComponent(url.pathname + (hashAt === -1 ? '' : text.slice(hashAt)))
  } catch {
    throw usage(`bad URL "${text}": malformed percent-encoding`)
  }
  return {
    protocol,
    host,
    port: url.port === '' ? undefined : Number(url.port),
    path,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  }
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

/** The broker target alone (no MQTT session settings): what bench's raw sockets and doctor's probes need. */
export function client__targetFromFlags(flags: ConnectionFlagValues): ClientTarget {
  const fromUrl = flags.url === undefined ? undefined : parseUrl(flags.url)
  const wantsTls = flags.tls === true || flags.cafile !== undefined || flags.cert !== undefined
  let protocol: TargetProtocol = fromUrl?.protocol ?? 'mqtt'
  if (wantsTls && protocol === 'mqtt') protocol = 'mqtts'
  if (wantsTls && protocol === 'ws') protocol = 'wss'
  const host = flags.host ?? fromUrl?.host ?? 'localhost'
  const port = flags.port ?? fromUrl?.port ?? defaultPorts[protocol]
  const isWs = protocol === 'ws' || protocol === 'wss'
  let path = ''
  let urlTopic: string | undefined
  if (isWs) {
    path = fromUrl && fromUrl.path !== '/' && fromUrl.path !== '' ? fromUrl.path : '/mqtt'
  } else if (fromUrl && fromUrl.path.length > 1) {
    urlTopic = fromUrl.path.slice(1)
  }
  let tls: TargetTls | undefined
  if (protocol === 'mqtts' || protocol === 'wss') {
    tls = {
      ca: flags.cafile === undefined ? undefined : readPem('cafile', flags.cafile),
      cert: flags.cert === undefined ? undefined : readPem('cert', flags.cert),
      key: flags.key === undefined ? undefined : readPem('key', flags.key),
      rejectUnauthorized: flags.insecure !== true,
      servername: isIpAddress(host) ? undefined : host,
    }
  } else if (flags.insecure === true) {
    throw usage('--insecure only applies to TLS connections (mqtts://, wss://, --tls or --cafile)')
  }
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {protocol, host, port, path, tls, urlTopic, display: `${protocol}://${shownHost}:${port}${path}`}
}

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#')
}

/**
 * All connection settings with defaults applied. `command` names the generated client id
 * (`mqttkit-sub-1a2b3c4d`), short enough for MQTT 3.1's 23-character limit.
 */
export function client__settingsFromFlags(flags: ConnectionFlagValues, command: string): ClientSettings {
  const target = client__targetFromFlags(flags)
  const fromUrl = flags.url === undefined ? undefined : parseUrl(flags.url)
  const protocolVersion = flags['protocol-version'] ?? 5
  const clientId = flags['client-id'] ?? `${flags['id-prefix'] ?? `mqttkit-${command}-`}${randomBytes(4).toString('hex')}`
  if (flags['session-expiry'] !== undefined && protocolVersion !== 5) {
    throw usage('--session-expiry needs MQTT 5 (drop -V or use -V 5)')
  }
  if (flags['will-delay'] !== undefined && protocolVersion !== 5) {
    throw usage('--will-delay needs MQTT 5 (drop -V or use -V 5)')
  }
  const password = flags.password ?? fromUrl?.password
  const username = flags.username ?? fromUrl?.username
  if (password !== undefined && username === undefined && protocolVersion !== 5) {
    throw usage('a password needs a user name (-u) before MQTT 5')
  }
  let will: ClientWill | undefined
  const willTopic = flags['will-topic']
  if (willTopic !== undefined) {
    if (willTopic === '') throw usage('--will-topic must not be empty')
    if (hasWildcard(willTopic)) throw usage(`--will-topic "${willTopic}" must not contain + or #`)
    will = {
      topic: willTopic,
      payload: Buffer.from(flags['will-payload'] ?? '', 'utf8'),
      qos: (flags['will-qos'] ?? 0) as 0 | 1 | 2,
      retain: flags['will-retain'] === true,
      delay: flags['will-delay'],
    }
  }
  return {
    target,
    clientId,
    username,
    password,
    protocolVersion,
    protocolVersionGiven: flags['protocol-version'] !== undefined,
    keepalive: flags.keepalive ?? 60,
    clean: flags['disable-clean-session'] === true ? false : flags.clean ?? true,
    sessionExpiry: flags['session-expiry'],
    will,
    connectTimeoutMs: (flags['connect-timeout'] ?? 10) * 1000,
  }
}

/**
 * mqtt.js options for these settings. Reconnection is off unless asked for (`reconnectPeriod` in ms): pub fails
 * fast, sub opts in. `version` overrides the protocol version (the 3.1.1 fallback).
 */
export function client__mqttOptions(
  settings: ClientSettings,
  extra: {reconnectPeriod?: number; version?: ProtocolVersion} = {},
): IClientOptions {
  const {target} = settings
  const version = extra.version ?? settings.protocolVersion
  const options: IClientOptions = {
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    clientId: settings.clientId,
    username: settings.username,
    password: settings.password,
    protocolVersion: version,
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    keepalive: settings.keepalive,
    clean: settings.clean,
    connectTimeout: settings.connectTimeoutMs,
    reconnectPeriod: extra.reconnectPeriod ?? 0,
    // A refused CONNACK is final for a CLI: retrying bad credentials only hides the reason.
    reconnectOnConnackError: false,
    resubscribe: true,
    // Without it mqtt-packet fills a cache of 65,536 two-byte buffers before the first packet (tens of ms and a
    // garbage collection at every start, issue 20); numbers are then written as they come: the same bytes.
    writeCache: false,
  }
  if (target.path !== '') options.path = target.path
  if (target.tls) {
    options.rejectUnauthorized = target.tls.rejectUnauthorized
    if (target.tls.ca) options.ca = target.tls.ca
    if (target.tls.cert) options.cert = target.tls.cert
    if (target.tls.key) options.key = target.tls.key
    if (target.tls.servername) options.servername = target.tls.servername
  }
  if (version === 5 && settings.sessionExpiry !== undefined) {
    options.properties = {sessionExpiryInterval: settings.sessionExpiry}
  }
  if (settings.will) {
    const {will} = settings
    options.will = {topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain}
    if (version === 5 && will.delay !== undefined) options.will.properties = {willDelayInterval: will.delay}
  }
  return options
}
