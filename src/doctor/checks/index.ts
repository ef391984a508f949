// Every doctor check, in report order: the machine first, then the broker under test step by step.
import type {Check} from '../types.js'
import {bridgesCheck} from './bridges.js'
import {clusterCheck} from './cluster.js'
import {connectCheck} from './connect.js'
import {dnsCheck} from './dns.js'
import {dockerCheck} from './docker.js'
import {fileLimitCheck} from './file-limit.js'
import {mosquittoCheck} from './mosquitto.js'
import {mqtt5Check} from './mqtt5.js'
import {nodeCheck} from './node.js'
import {portsCheck} from './ports.js'
import {retainedCheck} from './retained.js'
import {roundtripCheck} from './roundtrip.js'
import {tcpCheck} from './tcp.js'
import {tlsCheck} from './tls.js'
import {websocketCheck} from './websocket.js'

export const ALL_CHECKS: Check[] = [
  nodeCheck,
  portsCheck,
  mosquittoCheck,
  dockerCheck,
  fileLimitCheck,
  websocketCheck,
  dnsCheck,
  tcpCheck,
  tlsCheck,
  connectCheck,
  roundtripCheck,
  retainedCheck,
  mqtt5Check,
  bridgesCheck,
  clusterCheck,
]

/** `--check port --check target` keeps checks whose id starts with one of the given prefixes. */
export function checks__select(only: string[] | undefined): Check[] {
  if (!only || only.length === 0) return ALL_CHECKS
  return ALL_CHECKS.filter((c) => only.some((o) => c.id === o || c.id.startsWith(`${o}.`) || c.id.startsWith(o)))
}
