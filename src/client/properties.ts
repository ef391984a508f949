/**
 * MQTT 5 properties from flags: named flags (`--user-property k=v`, `--content-type`…, the MQTTX spelling) and
 * mosquitto's `-D command identifier value` form, merged into the property objects mqtt.js sends with CONNECT,
 * the will, PUBLISH or SUBSCRIBE.
 */
import {Flags} from '@oclif/core'
import type {IConnectPacket, IPublishPacket, ISubscribePacket} from 'mqtt-packet'
import {ClientError, ExitCode} from './errors.js'

type UserProperties = Record<string, string | string[]>
export type ConnectProperties = NonNullable<IConnectPacket['properties']>
export type WillProperties = NonNullable<NonNullable<IConnectPacket['will']>['properties']>
export type PublishProperties = NonNullable<IPublishPacket['properties']>
export type SubscribeProperties = NonNullable<ISubscribePacket['properties']>

export interface V5Properties {
  connect: ConnectProperties
  will: WillProperties
  publish: PublishProperties
  subscribe: SubscribeProperties
}

const GROUP = 'MQTT 5 PROPERTIES'

export const userPropertyFlag = Flags.string({
  aliases: ['user-properties'],
  description: 'user property "key=value" (also "key: value"); repeat for more',
  multiple: true,
  multipleNonGreedy: true,
  helpGroup: GROUP,
})

/** `-D command identifier value…`, mosquitto's generic property flag. */
export const propertyFlag = Flags.string({
  char: 'D',
  aliases: ['property'],
  description:
    'mosquitto-style property: -D <connect|publish|subscribe|will> <identifier> <value> ' +
    '(user-property takes a key and a value)',
  multiple: true,
  helpGroup: GROUP,
})

export const publishPropertyFlags = {
  'user-property': userPropertyFlag,
  'content-type': Flags.string({description: 'content type (MIME type) of the payload', helpGroup: GROUP}),
  'message-expiry': Flags.integer({
    aliases: ['message-expiry-interval'],
    description: 'seconds after which the broker drops the message if not yet delivered',
    min: 0,
    max: 4_294_967_295,
    helpGroup: GROUP,
  }),
  'response-topic': Flags.string({description: 'topic the receiver should answer on (request/response)', helpGroup: GROUP}),
  'correlation-data': Flags.string({description: 'correlation data echoed back with the response', helpGroup: GROUP}),
  'payload-format-indicator': Flags.boolean({
    description: 'declare the payload UTF-8 text (checked before sending)',
    helpGroup: GROUP,
  }),
  'topic-alias': Flags.integer({
    description: 'topic alias to use: the first message carries the topic, the next ones only the alias',
    min: 1,
    max: 65_535,
    helpGroup: GROUP,
  }),
  property: propertyFlag,
}

function usage(message: string): ClientError {
  return new ClientError(message, ExitCode.usage)
}

function addUserProperty(target: {userProperties?: UserProperties}, key: string, value: string): void {
  const properties = (target.userProperties ??= {})
  const existing = properties[key]
  if (existing === undefined) properties[key] = value
  else properties[key] = Array.isArray(existing) ? [...existing, value] : [existing, value]
}

/** "k=v", "k: v" or "k:v" → [k, v]. */
export function properties__splitUserProperty(text: string): [string, string] {
  const eq = text.indexOf('=')
  const colon = text.indexOf(':')
  const at = eq !== -1 ? eq : colon
  if (at <= 0) throw usage(`--user-property "${text}" must look like key=value`)
  const value = text.slice(at + 1)
  return [text.slice(0, at), at === colon ? value.replace(/^ /, '') : value]
}

function integer(identifier: string, text: string, max: number, min = 0): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw usage(`-D ${identifier} needs a whole number from ${min} to ${max}, not "${text}"`)
  }
  return n
}

function flag(identifier: string, text: string): boolean {
  if (text !== '0' && text !== '1') throw usage(`-D ${identifier} needs 0 or 1, not "${text}"`)
  return text === '1'
}

type Setter = (target: Record<string, unknown>, value: string, id: string) => void
const u32 = 4_294_967_295
const set = {
  string: (name: string): Setter => (t, v) => void (t[name] = v),
  bytes: (name: string): Setter => (t, v) => void (t[name] = Buffer.from(v, 'utf8')),
  int: (name: string, max: number, min = 0): Setter => (t, v, id) => void (t[name] = integer(id, v, max, min)),
  bool: (name: string): Setter => (t, v, id) => void (t[name] = flag(id, v)),
}

/** The identifiers each packet accepts, by mosquitto's names. user-property is handled apart (two values). */
const identifiers: Record<keyof V5Properties, Record<string, Setter>> = {
  connect: {
    'session-expiry-interval': set.int('sessionExpiryInterval', u32),
    'receive-maximum': set.int('receiveMaximum', 65_535, 1),
    'maximum-packet-size': set.int('maximumPacketSize', u32, 1),
    'topic-alias-maximum': set.int('topicAliasMaximum', 65_535),
    'request-response-information': set.bool('requestResponseInformation'),
    'request-problem-information': set.bool('requestProblemInformation'),
  },
  will: {
    'will-delay-interval': set.int('willDelayInterval', u32),
    'content-type': set.string('contentType'),
    'correlation-data': set.bytes('correlationData'),
    'message-expiry-interval': set.int('messageExpiryInterval', u32),
    'payload-format-indicator': set.bool('payloadFormatIndicator'),
    'response-topic': set.string('responseTopic'),
  },
  publish: {
    'content-type': set.string('contentType'),
    'correlation-data': set.bytes('correlationData'),
    'message-expiry-interval': set.int('messageExpiryInterval', u32),
    'payload-format-indicator': set.bool('payloadFormatIndicator'),
    'response-topic': set.string('responseTopic'),
    'topic-alias': set.int('topicAlias', 65_535, 1),
  },
  subscribe: {
    'subscription-identifier': set.int('subscriptionIdentifier', 268_435_455, 1),
  },
}

/**
 * Applies `-D` tokens (flat, as oclif collects them) to `out`. `allowed` lists the packets this command sends.
 */
export function properties__applyDashD(tokens: string[], allowed: (keyof V5Properties)[], out: V5Properties): void {
  let i = 0
  while (i < tokens.length) {
    const command = tokens[i] as keyof V5Properties
    const identifier = tokens[i + 1]
    if (!allowed.includes(command)) {
      throw usage(`-D "${tokens[i]}": this command sends properties with ${allowed.join(', ')}`)
    }
    if (identifier === undefined) throw usage(`-D ${command}: missing property identifier`)
    const target = out[command] as Record<string, unknown>
    if (identifier === 'user-property') {
      const key = tokens[i + 2]
      const value = tokens[i + 3]
      if (key === undefined || value === undefined) throw usage(`-D ${command} user-property needs a key and a value`)
      addUserProperty(target, key, value)
      i += 4
      continue
    }
    const setter = identifiers[command][identifier]
    if (setter === undefined) {
      const known = ['user-property', ...Object.keys(identifiers[command])].join(', ')
      throw usage(`-D ${command}: unknown property "${identifier}" (known: ${known})`)
    }
    const value = tokens[i + 2]
    if (value === undefined) throw usage(`-D ${command} ${identifier}: missing value`)
    setter(target, value, identifier)
    i += 3
  }
}

export interface PropertyFlagValues {
  'user-property'?: string[]
  'content-type'?: string
  'message-expiry'?: number
  'response-topic'?: string
  'correlation-data'?: string
  'payload-format-indicator'?: boolean
  'topic-alias'?: number
  'subscription-identifier'?: number
  property?: string[]
}

/**
 * Every property the flags ask for. `userPropertyPacket` says where `--user-property` goes (publish for pub,
 * subscribe for sub).
 */
export function properties__fromFlags(
  flags: PropertyFlagValues,
  allowed: (keyof V5Properties)[],
  userPropertyPacket: 'publish' | 'subscribe',
): V5Properties {
  const out: V5Properties = {connect: {}, will: {}, publish: {}, subscribe: {}}
  properties__applyDashD(flags.property ?? [], allowed, out)
  for (const text of flags['user-property'] ?? []) {
    const [key, value] = properties__splitUserProperty(text)
    addUserProperty(out[userPropertyPacket], key, value)
  }
  const pub = out.publish
  if (flags['content-type'] !== undefined) pub.contentType = flags['content-type']
  if (flags['message-expiry'] !== undefined) pub.messageExpiryInterval = flags['message-expiry']
  if (flags['response-topic'] !== undefined) pub.responseTopic = flags['response-topic']
  if (flags['correlation-data'] !== undefined) pub.correlationData = Buffer.from(flags['correlation-data'], 'utf8')
  if (flags['payload-format-indicator'] === true) pub.payloadFormatIndicator = true
  if (flags['topic-alias'] !== undefined) pub.topicAlias = flags['topic-alias']
  if (flags['subscription-identifier'] !== undefined) out.subscribe.subscriptionIdentifier = flags['subscription-identifier']
  if (pub.responseTopic !== undefined && /[+#]/.test(pub.responseTopic)) {
    throw usage(`--response-topic "${pub.responseTopic}" must not contain + or #`)
  }
  return out
}

/** True when any property is set (MQTT 3.1/3.1.1 cannot carry them). */
export function properties__any(props: V5Properties): boolean {
  return Object.values(props).some((packet) => Object.keys(packet).length > 0)
}
