/**
 * The `mqttkit broker` flags for the WebSocket, TLS and WSS listeners, and their translation into listener specs.
 * Kept beside the transports so that `commands/broker.ts` only spreads `transportFlags` and calls
 * `transport__listenersFromFlags`; the rules (which flag needs which) live in one place.
 *
 * Like the broker's other flags, none has an oclif default: a flag left out must not hide the config file's value,
 * and "not given" must stay visible (the default WebSocket port yields when taken, an explicit one doesn't).
 */
import net from 'node:net'
import {Flags} from '@oclif/core'
import type {ListenerSpec, TlsOptions} from './types.js'
import {WS_DEFAULT_PATH} from './ws.js'

export const WS_DEFAULT_PORT = 8083
export const TLS_DEFAULT_PORT = 8883
const GROUP = 'LISTENERS'
const TLS_GROUP = 'TLS'

const port = (description: string, extra: {default?: number; env?: string} = {}) =>
  Flags.integer({description, min: 0, max: 65_535, helpGroup: GROUP, ...extra})

export const transportFlags = {
  'ws-port': port(`MQTT over WebSocket port, with the JSON gateway (0: any free port) [default: ${WS_DEFAULT_PORT}]`, {env: 'WS_PORT'}),
  ws: Flags.boolean({description: 'serve MQTT over WebSocket (--no-ws turns it off) [default: true]', allowNo: true, helpGroup: GROUP}),
  'ws-host': Flags.string({description: 'address the WebSocket listener binds [default: --mqtt-host]', helpGroup: GROUP}),
  'ws-path': Flags.string({description: `WebSocket path; / is always accepted too [default: ${WS_DEFAULT_PATH}]`, helpGroup: GROUP}),
  'tls-port': port(`MQTT over TLS port [default: ${TLS_DEFAULT_PORT} when --cert is given without --wss-port]`),
  'tls-host': Flags.string({description: 'address the TLS listener binds [default: --mqtt-host]', helpGroup: GROUP}),
  'wss-port': port('MQTT over secure WebSocket port (usually 8084); needs --cert and --key'),
  'wss-host': Flags.string({description: 'address the secure WebSocket listener binds [default: --mqtt-host]', helpGroup: GROUP}),
  cert: Flags.string({description: 'server certificate (PEM) for the TLS and WSS listeners; reloaded on SIGHUP', helpGroup: TLS_GROUP}),
  key: Flags.string({description: 'private key (PEM) of --cert', helpGroup: TLS_GROUP}),
  ca: Flags.string({description: 'CA certificate(s) (PEM) that sign client certificates', helpGroup: TLS_GROUP}),
  'require-certificate': Flags.boolean({
    description: 'mutual TLS: refuse TLS/WSS clients without a certificate signed by --ca',
    helpGroup: TLS_GROUP,
  }),
  'cert-cn-as-username': Flags.boolean({
    description: "with --require-certificate: the client certificate's CN is the client's username",
    helpGroup: TLS_GROUP,
  }),
}

export interface TransportFlagValues {
  'ws-port'?: number
  ws?: boolean
  'ws-host'?: string
  'ws-path'?: string
  'tls-port'?: number
  'tls-host'?: string
  'wss-port'?: number
  'wss-host'?: string
  cert?: string
  key?: string
  ca?: string
  'require-certificate'?: boolean
  'cert-cn-as-username'?: boolean
}

/**
 * The WS/TLS/WSS listener specs the flags ask for (the TCP listener is the broker command's own). Throws an Error
 * with a message for the user when the flags don't fit together.
 */
export function transport__specsFromFlags(
  flags: TransportFlagValues,
  defaults: {host: string; maxFrameSize?: number},
): ListenerSpec[] {
  const specs: ListenerSpec[] = []
  const path = flags['ws-path'] ?? WS_DEFAULT_PATH
  const wsOptions = {
    path: path.startsWith('/') ? path : `/${path}`,
    ...(defaults.maxFrameSize === undefined ? {} : {maxFrameSize: defaults.maxFrameSize}),
  }
  if (flags.ws !== false) specs.push({type: 'ws', host: flags['ws-host'] ?? defaults.host, port: flags['ws-port'] ?? WS_DEFAULT_PORT, ...wsOptions})

  const wantsTls = flags['tls-port'] !== undefined || flags['wss-port'] !== undefined || flags.cert !== undefined
  if (!wantsTls) {
    for (const flag of ['key', 'ca', 'require-certificate', 'cert-cn-as-username'] as const) {
      if (flags[flag] !== undefined && flags[flag] !== false) throw new Error(`--${flag} needs --cert and --key (and --tls-port or --wss-port)`)
    }
    return specs
  }
  if (flags.cert === undefined || flags.key === undefined) {
    throw new Error('the TLS and WSS listeners need both --cert and --key (PEM files)')
  }
  if (flags['require-certificate'] && flags.ca === undefined) {
    throw new Error('--require-certificate needs --ca, the CA certificate that signs client certificates')
  }
  if (flags['cert-cn-as-username'] && !flags['require-certificate']) {
    throw new Error('--cert-cn-as-username needs --require-certificate (only a verified certificate can name a user)')
  }
  const tls: TlsOptions = {
    cert: flags.cert,
    key: flags.key,
    ...(flags.ca === undefined ? {} : {ca: flags.ca}),
    requireCertificate: flags['require-certificate'] === true,
    useCertificateCnAsUsername: flags['cert-cn-as-username'] === true,
  }
  const tlsPort = flags['tls-port'] ?? (flags['wss-port'] === undefined ? TLS_DEFAULT_PORT : undefined)
  if (tlsPort !== undefined) specs.push({type: 'tls', host: flags['tls-host'] ?? defaults.host, port: tlsPort, ...tls})
  if (flags['wss-port'] !== undefined) {
    specs.push({type: 'wss', host: flags['wss-host'] ?? defaults.host, port: flags['wss-port'], ...wsOptions, ...tls})
  }
  return specs
}

/**
 * The listener specs, plus notes for the banner. The WebSocket listener is on by default as a convenience: when its
 * port was not chosen (no flag, env or config value) and the default port is taken — a second broker on the same
 * machine, tests running brokers side by side — the broker starts without it and says so, rather than not at all.
 */
export async function transport__listenersFromFlags(
  flags: TransportFlagValues,
  defaults: {host: string; maxFrameSize?: number},
): Promise<{specs: ListenerSpec[]; notes: string[]; yielding?: ListenerSpec}> {
  const specs = transport__specsFromFlags(flags, defaults)
  const notes: string[] = []
  const ws = specs.find((s) => s.type === 'ws')
  if (ws === undefined || flags['ws-port'] !== undefined) return {specs, notes}
  if (!(await transport__portFree(ws.port, ws.host))) {
    specs.splice(specs.indexOf(ws), 1)
    notes.push(transport__busyNote(ws.port))
    return {specs, notes}
  }
  // Free now, but another broker starting at the same moment may still take it: the caller may start without it.
  return {specs, notes, yielding: ws}
}

export function transport__busyNote(port: number): string {
  return `port ${port} is in use: MQTT over WebSocket is off (choose a port with --ws-port, or --no-ws)`
}

/** The flag that sets the port of the listener bound (or failing to bind) on `port`, for error messages. */
export function transport__portFlag(specs: ListenerSpec[], port: number | undefined): string {
  const spec = specs.find((s) => s.port === port)
  return spec === undefined || spec.type === 'tcp' ? '--mqtt-port' : `--${spec.type}-port`
}

function transport__portFree(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, host ?? '0.0.0.0', () => probe.close(() => resolve(true)))
  })
}

/** One banner line per listener, e.g. `ws://0.0.0.0:8083/mqtt (JSON gateway)`. */
export function transport__describe(listener: {spec: ListenerSpec; address: {host: string; port: number}}): string {
  const {spec, address} = listener
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  const notes: string[] = []
  let url: string
  switch (spec.type) {
    case 'tcp':
      url = `mqtt://${host}:${address.port}`
      break
    case 'tls':
      url = `mqtts://${host}:${address.port}`
      break
    case 'ws':
    case 'wss':
      url = `${spec.type}://${host}:${address.port}${spec.path ?? WS_DEFAULT_PATH}`
      if (spec.jsonGateway !== false) notes.push('JSON gateway')
  }
  if ((spec.type === 'tls' || spec.type === 'wss') && spec.requireCertificate === true) {
    notes.push(spec.useCertificateCnAsUsername === true ? 'client certificate required, CN is the username' : 'client certificate required')
  }
  return notes.length === 0 ? url : `${url} (${notes.join('; ')})`
}
