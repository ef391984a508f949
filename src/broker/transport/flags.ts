/**
 * The `mqttkit broker` flags for the WebSocket, TLS and WSS listeners, and their translation into listener specs.
 * Kept beside the transports so that `commands/broker.ts` only spreads `transportFlags` and calls
 * `transport__specsFromFlags`; the rules (which flag needs which) live in one place.
 */
import {Flags} from '@oclif/core'
import type {ListenerSpec, TlsOptions} from './types.js'
import {WS_DEFAULT_PATH} from './ws.js'

const GROUP = 'LISTENERS'
const TLS_GROUP = 'TLS'

const port = (description: string, extra: {default?: number; env?: string} = {}) =>
  Flags.integer({description, min: 0, max: 65_535, helpGroup: GROUP, ...extra})

export const transportFlags = {
  'ws-port': port('MQTT over WebSocket port (0: any free port)', {default: 8083, env: 'WS_PORT'}),
  ws: Flags.boolean({description: 'serve MQTT over WebSocket (--no-ws turns it off)', default: true, allowNo: true, helpGroup: GROUP}),
  'ws-host': Flags.string({description: 'address the WebSocket listener binds [default: --host]', helpGroup: GROUP}),
  'ws-path': Flags.string({description: 'WebSocket path (/ is always accepted too)', default: WS_DEFAULT_PATH, helpGroup: GROUP}),
  'tls-port': port('MQTT over TLS port, usually 8883 [default: 8883 when --cert is given without --wss-port]'),
  'tls-host': Flags.string({description: 'address the TLS listener binds [default: --host]', helpGroup: GROUP}),
  'wss-port': port('MQTT over secure WebSocket port, usually 8084'),
  'wss-host': Flags.string({description: 'address the secure WebSocket listener binds [default: --host]', helpGroup: GROUP}),
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
  'ws-port': number
  ws: boolean
  'ws-host'?: string
  'ws-path': string
  'tls-port'?: number
  'tls-host'?: string
  'wss-port'?: number
  'wss-host'?: string
  cert?: string
  key?: string
  ca?: string
  'require-certificate': boolean
  'cert-cn-as-username': boolean
}

export const TLS_DEFAULT_PORT = 8883

/**
 * The WS/TLS/WSS listener specs the flags ask for (the TCP listener is the broker command's own). Throws an Error
 * with a message for the user when the flags don't fit together.
 */
export function transport__specsFromFlags(
  flags: TransportFlagValues,
  defaults: {host: string; maxFrameSize?: number},
): ListenerSpec[] {
  const specs: ListenerSpec[] = []
  const wsOptions = {
    path: flags['ws-path'].startsWith('/') ? flags['ws-path'] : `/${flags['ws-path']}`,
    ...(defaults.maxFrameSize === undefined ? {} : {maxFrameSize: defaults.maxFrameSize}),
  }
  if (flags.ws) specs.push({type: 'ws', host: flags['ws-host'] ?? defaults.host, port: flags['ws-port'], ...wsOptions})

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
    requireCertificate: flags['require-certificate'],
    useCertificateCnAsUsername: flags['cert-cn-as-username'],
  }
  const tlsPort = flags['tls-port'] ?? (flags['wss-port'] === undefined ? TLS_DEFAULT_PORT : undefined)
  if (tlsPort !== undefined) specs.push({type: 'tls', host: flags['tls-host'] ?? defaults.host, port: tlsPort, ...tls})
  if (flags['wss-port'] !== undefined) {
    specs.push({type: 'wss', host: flags['wss-host'] ?? defaults.host, port: flags['wss-port'], ...wsOptions, ...tls})
  }
  return specs
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
