// Is each MQTT port free? If not, which process holds it (pid, command line) and what answers there when
// probed (mosquitto, mqttkit, another MQTT broker, or something that does not speak MQTT at all)?
import {fix__killProcess, fix__otherPort, fix__stopMosquitto} from '../fixes.js'
import {platform__isLoopback, platform__isWildcard, platform__listeners} from '../platform/listeners.js'
import {probe__identify, probe__schemeFor, type ProbeResult, type ProbeScheme} from '../probe.js'
import type {Check, CheckResult, DoctorContext, ListeningSocket} from '../types.js'
import type {MosquittoFacts} from './mosquitto.js'

export const DEFAULT_PORTS = [1883, 8883, 8083, 8084, 8000]

const PORT_ROLES: Record<number, string> = {
  1883: 'MQTT',
  8883: 'MQTT over TLS',
  8083: 'MQTT over WebSocket',
  8084: 'MQTT over secure WebSocket',
  8000: 'MQTT over WebSocket, alternative',
}

export const portsCheck: Check = {
  id: 'ports',
  title: 'MQTT ports',
  after: ['mosquitto'],
  applies: (o) => o.local && o.ports.length > 0,
  async run(ctx) {
    const listeners = await ctx.memo('listeners', () => platform__listeners(ctx.platform, ctx.exec, ctx.ports))
    return Promise.all(ctx.ports.map((port) => checkPort(ctx, port, listeners)))
  },
}

function schemeOf(ctx: DoctorContext, port: number): ProbeScheme {
  return ctx.extraPorts.includes(port) ? 'mqtt' : probe__schemeFor(port)
}

/** Where to knock to reach a socket bound to `address` from this machine. */
function probeHost(address: string): string {
  if (platform__isWildcard(address) && !address.includes(':')) return '127.0.0.1'
  if (address === '::' || address === '::1') return '::1'
  return address.replace(/^::ffff:/, '')
}

function describeProbe(p: ProbeResult): string {
  if (!p.mqtt) return `it does not answer MQTT (${p.error})`
  if (p.reasonCode !== undefined) return `an MQTT broker answers but refuses anonymous clients (${p.error})`
  const version = p.version
    ? `: "${p.version}"`
    : p.identifiedBy === 'assigned-client-id'
      ? ' (named by the client id it assigns; it does not publish $SYS/broker/version)'
      : ' (it does not publish $SYS/broker/version)'
  const name = p.broker === 'mosquitto' ? 'mosquitto' : p.broker === 'mqttkit' ? 'an mqttkit broker' : 'an MQTT broker'
  const over = p.scheme === 'ws' ? ' over WebSocket' : p.scheme === 'wss' ? ' over secure WebSocket' : p.scheme === 'mqtts' ? ' over TLS' : ''
  return `${name} answers (MQTT ${p.protocolVersion === 5 ? '5' : '3.1.1'}${over})${version}`
}

function describeOwner(s: ListeningSocket): string {
  if (s.pid === undefined) {
    return process.getuid?.() === 0 ? 'a process doctor could not name' : 'a process this user cannot see (run doctor with sudo to name it)'
  }
  return `pid ${s.pid}${s.command ? ` (${s.command})` : ''}`
}

async function checkPort(ctx: DoctorContext, port: number, listeners: ListeningSocket[] | undefined): Promise<CheckResult> {
  const role = PORT_ROLES[port] ?? 'extra port'
  const id = `port.${port}`
  const title = `port ${port} (${role})`
  if (listeners === undefined) {
    const tool = ctx.platform === 'win32' ? 'netstat' : 'lsof'
    return {id, title, status: 'skip', detail: `cannot list listening sockets: \`${tool}\` is not installed`}
  }
  const holders = listeners.filter((l) => l.port === port)
  if (holders.length === 0) return {id, title, status: 'ok', detail: 'free', data: {port, free: true}}

  const owner = holders.find((h) => h.pid !== undefined) ?? holders[0]
  const addresses = [...new Set(holders.map((h) => h.address))]
  const localOnly = addresses.every(platform__isLoopback)
  const probe = await probe__identify(probeHost(holders[0].address), port, schemeOf(ctx, port), ctx.timeoutMs)
  if (!probe.mqtt && probe.error === 'ECONNREFUSED') {
    // Listed a moment ago, refused now: the listener closed while doctor looked (a test server, a restart).
    return {id, title, status: 'ok', detail: 'free (a listener on it closed while doctor was looking)', data: {port, free: true}}
  }
  const data = {port, free: false, pid: owner.pid, command: owner.command, addresses, probe}
  let detail = `in use by ${describeOwner(owner)} on ${addresses.join(', ')}; ${describeProbe(probe)}`
  if (localOnly && probe.mqtt) {
    detail += '. It listens on this machine\'s loopback only: other devices cannot connect'
  }

  if (probe.mqtt && probe.broker === 'mqttkit') return {id, title, status: 'ok', detail, data}

  const fix: string[] = []
  const mosquitto = ctx.result('mosquitto')?.[0]?.data as MosquittoFacts | undefined
  const isMosquitto = probe.broker === 'mosquitto' || /(^|\/)mosquitto(\.exe)?(\s|$)/.test(owner.command ?? '')
  if (isMosquitto && mosquitto?.manager) fix.push(...fix__stopMosquitto(mosquitto.manager))
  else if (owner.pid !== undefined) fix.push(fix__killProcess(ctx.platform, owner.pid) + '   # stop the process holding the port')
  if (isMosquitto && localOnly) {
    fix.push('or, to reach this mosquitto from other devices: add `listener ' + port + ' 0.0.0.0` (and authentication) to its configuration')
  }
  fix.push(fix__otherPort(port))
  // A broker we can talk to is a warning (it works, it only blocks another broker on this port); something that
  // does not speak MQTT on 1883/8883 or on a port the user named breaks every client that tries it. The WebSocket
  // ports are also common web-development ports (8000!), so a web server there is only worth a warning.
  const critical = port === 1883 || port === 8883 || ctx.extraPorts.includes(port)
  return {id, title, status: probe.mqtt || !critical ? 'warn' : 'fail', detail, fix, data}
}
