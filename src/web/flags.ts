/**
 * The `mqttkit broker` flags of the web admin and starting it from them, so `commands/broker.ts` only spreads
 * `webFlags` and calls `web__fromFlags`. No oclif defaults, as for every broker flag: the config file may set them.
 */
import {Flags} from '@oclif/core'
import type {Broker} from '../broker/broker.js'
import type {AdminServer} from './server.js'

export const WEB_DEFAULT_PORT = 8000
const GROUP = 'WEB ADMIN'

export const webFlags = {
  web: Flags.boolean({description: 'serve the web admin page and REST API (--no-web turns it off) [default: true]', allowNo: true, helpGroup: GROUP}),
  'web-port': Flags.integer({description: `web admin port (0: any free port) [default: ${WEB_DEFAULT_PORT}]`, min: 0, max: 65_535, env: 'WEB_PORT', helpGroup: GROUP}),
  'web-host': Flags.string({description: 'address the web admin binds; anything but loopback sends the token in clear text without a TLS proxy [default: 127.0.0.1]', helpGroup: GROUP}),
  'web-token': Flags.string({description: 'admin token to use instead of the one made at the first start (its hash is kept in the data directory)', env: 'MQTTKIT_WEB_TOKEN', helpGroup: GROUP}),
  'web-metrics-auth': Flags.boolean({description: 'require the admin token for GET /metrics on a loopback bind too (other binds always do)', helpGroup: GROUP}),
}

export interface WebFlagValues {
  web?: boolean
  'web-port'?: number
  'web-host'?: string
  'web-token'?: string
  'web-metrics-auth'?: boolean
}

export interface WebStart {
  admin?: AdminServer
  /** Banner lines: the admin URL, a first start's login URL, notes. */
  lines: string[]
  warnings: string[]
}

/** Starts the admin server unless --no-web. The default port, when taken, turns the admin off with a note; an explicit one is an error. */
export async function web__fromFlags(broker: Broker, flags: WebFlagValues, context: {dataDir: string; configFile?: string; version: string}): Promise<WebStart> {
  if (flags.web === false) return {lines: [], warnings: []}
  // Loaded only when used: fastify and prom-client are not read at all by a broker started with --no-web.
  const {AdminServer} = await import('./server.js')
  const admin = new AdminServer(broker, {
    host: flags['web-host'] ?? '127.0.0.1',
    port: flags['web-port'] ?? WEB_DEFAULT_PORT,
    token: flags['web-token'],
    dataDir: context.dataDir,
    metricsAuth: flags['web-metrics-auth'],
    configFile: context.configFile,
    version: context.version,
  })
  try {
    const address = await admin.listen()
    const lines = [`web admin on ${address.url}`]
    if (address.loginUrl !== undefined) lines.push(`log in (this URL is shown once): ${address.loginUrl}`)
    else if (flags['web-token'] === undefined) lines.push('log in with the token printed at the first start (`mqttkit web-token --reset` makes a new one)')
    return {admin, lines, warnings: address.warnings}
  } catch (error) {
    await admin.close().catch(() => {})
    const e = error as NodeJS.ErrnoException
    if (e.code === 'EADDRINUSE' && flags['web-port'] === undefined) {
      return {lines: [], warnings: [`port ${WEB_DEFAULT_PORT} is in use: the web admin is off (choose a port with --web-port, or --no-web)`]}
    }
    if (e.code === 'EADDRINUSE') throw new Error(`web admin port ${flags['web-port']} is already in use (choose another with --web-port, or --no-web)`)
    throw new Error(`cannot start the web admin: ${e.message}`)
  }
}
