/**
 * The broker's configuration file (JSON or YAML: YAML is a superset of JSON, so one parser reads both). Keys are
 * the `mqttkit broker` flag names (`mqtt-port`, `max-connections`…) or their camelCase forms; precedence is
 * command-line flag > environment (MQTT_PORT) > file > built-in default.
 */
import {readFile} from 'node:fs/promises'

/** A list (`bridges`) is passed on as read; its own module checks its entries. */
export type ConfigValue = string | number | boolean | unknown[]

/** Every key the file may hold, with its expected type. */
export type ConfigType = 'string' | 'integer' | 'boolean' | 'any' | 'list'

export const CONFIG_KEYS: Record<string, ConfigType> = {
  'mqtt-host': 'string',
  'mqtt-port': 'integer',
  'allow-anonymous': 'boolean',
  'max-connections': 'integer',
  'max-keepalive': 'integer',
  'max-packet-size': 'integer',
  'max-inflight': 'integer',
  'max-queued': 'integer',
  'queue-budget': 'integer',
  'max-subscriptions': 'integer',
  'max-topic-length': 'integer',
  'max-topic-levels': 'integer',
  'max-client-id-length': 'integer',
  'max-output-buffer': 'integer',
  'connect-timeout': 'integer',
  'topic-alias-maximum': 'integer',
  'sys-interval': 'integer',
  'shared-strategy': 'string',
  'max-qos': 'integer',
  'retain-available': 'boolean',
  'retain-ttl': 'integer',
  'wildcard-subscription-available': 'boolean',
  'subscription-identifiers-available': 'boolean',
  'shared-subscription-available': 'boolean',
  'send-reason-strings': 'boolean',
  'assign-client-ids': 'boolean',
  'max-retained': 'integer',
  'max-retained-bytes': 'integer',
  'log-level': 'string',
  // Checked entry by entry in broker/bridge/config.ts (docs/bridges.md).
  bridges: 'list',
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** Reads and checks a config file; throws an Error whose message names the file and the offending key. */
export async function config__load(path: string, extraKeys: Record<string, ConfigType> = {}): Promise<Record<string, ConfigValue>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new Error(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  // yaml (some 70 modules) is imported only for a --config file (issue 20: start-up).
  const {parse: parseYaml} = await import('yaml')
  let data: unknown
  try {
    data = parseYaml(text)
  } catch (error) {
    throw new Error(`config file ${path} is neither valid JSON nor YAML: ${(error as Error).message.split('\n')[0]}`)
  }
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new Error(`config file ${path} must hold a mapping of settings`)
  return config__check(data as Record<string, unknown>, path, {...extraKeys, ...CONFIG_KEYS})
}

/** Checks keys and value types; `known` adds the flags other modules contribute to the command (type 'any'). */
export function config__check(data: Record<string, unknown>, source: string, known: Record<string, ConfigType> = CONFIG_KEYS): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {}
  for (const [rawKey, value] of Object.entries(data)) {
    const key = kebab(rawKey)
    const type = known[key]
    if (type === undefined) throw new Error(`${source}: unknown setting "${rawKey}" (known: ${Object.keys(known).sort().join(', ')})`)
    if (type === 'any' && !['string', 'number', 'boolean'].includes(typeof value)) {
      throw new Error(`${source}: "${rawKey}" must be a string, number or boolean, got ${JSON.stringify(value)}`)
    }
    if (type === 'integer' && !(typeof value === 'number' && Number.isInteger(value))) {
      throw new Error(`${source}: "${rawKey}" must be an integer, got ${JSON.stringify(value)}`)
    }
    if (type === 'list' && !Array.isArray(value)) throw new Error(`${source}: "${rawKey}" must be a list, got ${JSON.stringify(value)}`)
    if (type === 'boolean' && typeof value !== 'boolean') throw new Error(`${source}: "${rawKey}" must be true or false, got ${JSON.stringify(value)}`)
    if (type === 'string' && typeof value !== 'string') throw new Error(`${source}: "${rawKey}" must be a string, got ${JSON.stringify(value)}`)
    out[key] = value as ConfigValue
  }
  return out
}
