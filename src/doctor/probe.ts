// Finds out what answers on a port: sends an MQTT CONNECT, and when a CONNACK comes back subscribes to
// `$SYS/broker/version` (published, retained, by mosquitto and by mqttkit) to name the broker.
import type {IClientOptions} from 'mqtt'

import {mqtt__connect, mqtt__end, mqtt__nextMessage, mqtt__subscribe} from './mqtt.js'
import {reason__connack} from './reasons.js'

export type ProbeScheme = 'mqtt' | 'mqtts' | 'ws' | 'wss'

export interface ProbeResult {
  /** True when a CONNACK (accepting or refusing) came back: an MQTT broker listens here. */
  mqtt: boolean
  protocolVersion?: 4 | 5
  /** Non-zero when the broker refused the anonymous probe. */
  reasonCode?: number
  broker?: 'mosquitto' | 'mqttkit' | 'other'
  /** The `$SYS/broker/version` text, e.g. "mosquitto version 2.0.21". */
  version?: string
  /** How the broker was named: its `$SYS/broker/version`, or the shape of the client id it assigned. */
  identifiedBy?: '$SYS' | 'assigned-client-id'
  /** Why no CONNACK came back (ECONNREFUSED, timeout, not MQTT…). */
  error?: string
  /** The server closed or reset the connection (rather than staying silent): another protocol may fit. */
  hungUp?: boolean
  /** The protocol the answer came on. */
  scheme?: ProbeScheme
  /** MQTT 5 CONNACK properties, when the broker accepted MQTT 5. */
  properties?: Record<string, unknown>
}

/** The well-known scheme for each default port; extras are plain MQTT. */
export function probe__schemeFor(port: number): ProbeScheme {
  if (port === 8883) return 'mqtts'
  if (port === 8083 || port === 8000 || port === 8080) return 'ws'
  if (port === 8084 || port === 8081) return 'wss'
  return 'mqtt'
}

export function probe__name(version: string | undefined): ProbeResult['broker'] {
  if (!version) return undefined
  const v = version.toLowerCase()
  if (v.includes('mosquitto')) return 'mosquitto'
  if (v.includes('mqttkit')) return 'mqttkit'
  return 'other'
}

/**
 * Brokers name the client ids they assign (empty client id in CONNECT) in recognisable ways: mqttkit
 * `mqttkit-<16 hex>`, mosquitto `auto-<UUID>`. Used when `$SYS` is disabled or not readable.
 */
export function probe__nameFromAssignedId(id: unknown): ProbeResult['broker'] {
  if (typeof id !== 'string') return undefined
  if (/^mqttkit-[0-9a-f]{16}$/.test(id)) return 'mqttkit'
  if (/^auto-[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i.test(id)) return 'mosquitto'
  return undefined
}

export async function probe__port(host: string, port: number, scheme: ProbeScheme, timeoutMs: number): Promise<ProbeResult> {
  const base: IClientOptions = {
    protocol: scheme,
    host,
    port,
    path: scheme === 'ws' || scheme === 'wss' ? '/mqtt' : undefined,
    // Identifying, not trusting: a self-signed test broker must still be named.
    rejectUnauthorized: false,
    // An empty client id makes the broker assign one, whose shape names some brokers.
    clientId: '',
  }
  let out = await mqtt__connect({...base, protocolVersion: 5}, timeoutMs)
  let version: 4 | 5 = 5
  // A 3.1.1-only broker answers an MQTT 5 CONNECT with "unacceptable protocol version" (1 / 0x84) or hangs up.
  if (out.reasonCode === 1 || out.reasonCode === 0x84 || out.error?.code === 'CLOSED') {
    const v4 = await mqtt__connect({...base, protocolVersion: 4}, timeoutMs)
    if (v4.client || v4.reasonCode !== undefined) {
      out = v4
      version = 4
    }
  }
  if (!out.client) {
    if (out.reasonCode !== undefined) {
      return {mqtt: true, scheme, protocolVersion: version, reasonCode: out.reasonCode, error: reason__connack(out.reasonCode, version).name}
    }
    const code = out.error?.code
    const error = code === 'CONNACK_TIMEOUT' || code === 'CLOSED' ? 'does not answer MQTT' : String(code ?? out.error?.message ?? 'no answer')
    return {mqtt: false, error, hungUp: code !== 'CONNACK_TIMEOUT'}
  }
  const client = out.client
  const properties = (out.connack?.properties ?? {}) as Record<string, unknown>
  try {
    const waiting = mqtt__nextMessage(client, '$SYS/broker/version', Math.min(timeoutMs, 1500))
    const sub = await mqtt__subscribe(client, {'$SYS/broker/version': {qos: 0}}, timeoutMs)
    const message = sub.error ? undefined : await waiting
    const text = message?.payload.toString('utf8')
    const bySys = probe__name(text)
    const byId = probe__nameFromAssignedId(properties.assignedClientIdentifier)
    return {
      mqtt: true,
      scheme,
      protocolVersion: version,
      broker: bySys ?? byId ?? 'other',
      version: text,
      identifiedBy: bySys ? '$SYS' : byId ? 'assigned-client-id' : undefined,
      properties,
    }
  } finally {
    await mqtt__end(client)
  }
}

/**
 * Probes with the port's usual protocol first. A server that hangs up on an MQTT CONNECT at once may still be a
 * broker on another transport (a WebSocket or TLS listener on an unusual port, e.g. mosquitto's 9001), so those are
 * tried next; a silent server is not retried, which would only multiply the wait.
 */
export async function probe__identify(host: string, port: number, first: ProbeScheme, timeoutMs: number): Promise<ProbeResult> {
  const result = await probe__port(host, port, first, timeoutMs)
  if (result.mqtt || !result.hungUp || first !== 'mqtt') return result
  for (const scheme of ['ws', 'mqtts'] as const) {
    const other = await probe__port(host, port, scheme, timeoutMs)
    if (other.mqtt) return other
  }
  return result
}
