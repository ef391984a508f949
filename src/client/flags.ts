/**
 * The connection flags shared by `pub`, `sub`, `bench` and `doctor`: one set of names for every client command.
 *
 * Short letters follow mosquitto_pub/sub (`-h` is the host, as there; `--help` stays the help flag because oclif
 * only treats `--help` as help unless `additionalHelpFlags` is configured). Long aliases cover the names MQTTX CLI
 * and the seed scripts use (`--hostname`, `--broker`, `--mqtt-version`, `--ca`, `--will-message`, `--id`).
 *
 * No flag here has a default value: `client__settingsFromFlags` (options.ts) fills defaults, so it can tell "not
 * given" from "given" (a URL's host/port only yields to an explicit `-h`/`-p`; MQTT 5 falls back to 3.1.1 only when
 * no `-V` was given). A command that needs a different short letter spreads this object and replaces the entry.
 */
import {Flags} from '@oclif/core'
import {client__parseProtocolVersion, type ProtocolVersion} from './options.js'

const GROUP = 'CONNECTION'
const TLS_GROUP = 'TLS'
const WILL_GROUP = 'WILL'

const protocolVersionFlag = Flags.custom<ProtocolVersion>({
  char: 'V',
  aliases: ['mqtt-version'],
  description: 'MQTT version: 3.1, 3.1.1 or 5 (also 31, 311, 3, 4, mqttv311…) [default: 5, falling back to 3.1.1 once]',
  helpGroup: GROUP,
  helpValue: '5|3.1.1|3.1',
  async parse(input: string): Promise<ProtocolVersion> {
    const version = client__parseProtocolVersion(input)
    if (version === undefined) throw new Error(`unknown MQTT version "${input}" (use 3.1, 3.1.1 or 5)`)
    return version
  },
})

export const connectionFlags = {
  host: Flags.string({
    char: 'h',
    aliases: ['hostname', 'broker'],
    description: 'broker host name or address [default: localhost]',
    helpGroup: GROUP,
  }),
  port: Flags.integer({
    char: 'p',
    description: 'broker port [default: 1883, 8883 with TLS, 80/443 for ws/wss]',
    min: 1,
    max: 65_535,
    helpGroup: GROUP,
  }),
  url: Flags.string({
    char: 'L',
    description:
      'broker URL: mqtt://, mqtts://, ws://, wss:// [user[:password]@]host[:port][/path] ' +
      '(the path is the topic for mqtt(s), the WebSocket path for ws(s))',
    helpGroup: GROUP,
  }),
  'client-id': Flags.string({
    char: 'i',
    aliases: ['id'],
    description: 'client identifier [default: mqttkit-<command>-<random>]',
    helpGroup: GROUP,
  }),
  'id-prefix': Flags.string({
    char: 'I',
    description: 'prefix for a generated client identifier (the rest is random)',
    helpGroup: GROUP,
    exclusive: ['client-id'],
  }),
  username: Flags.string({char: 'u', description: 'user name', helpGroup: GROUP}),
  password: Flags.string({char: 'P', aliases: ['pw'], description: 'password', helpGroup: GROUP}),
  'protocol-version': protocolVersionFlag(),
  keepalive: Flags.integer({
    char: 'k',
    description: 'keep-alive interval in seconds, 0 disables [default: 60]',
    min: 0,
    max: 65_535,
    helpGroup: GROUP,
  }),
  clean: Flags.boolean({
    allowNo: true,
    description: 'start a clean session; --no-clean resumes the stored session [default: clean]',
    helpGroup: GROUP,
  }),
  'disable-clean-session': Flags.boolean({
    char: 'c',
    description: 'same as --no-clean (mosquitto spelling)',
    helpGroup: GROUP,
    exclusive: ['clean'],
  }),
  'session-expiry': Flags.integer({
    char: 'x',
    description: 'MQTT 5 session expiry interval in seconds (4294967295 = never expires)',
    min: 0,
    max: 4_294_967_295,
    helpGroup: GROUP,
  }),
  'connect-timeout': Flags.integer({
    description: 'seconds to wait for the broker to accept the connection [default: 10]',
    min: 1,
    helpGroup: GROUP,
  }),
  tls: Flags.boolean({
    description: 'use TLS with --host (implied by --cafile, --cert or an mqtts:// / wss:// URL)',
    helpGroup: TLS_GROUP,
  }),
  cafile: Flags.string({
    aliases: ['ca'],
    description: 'PEM file of certificate authorities that sign the broker certificate',
    helpGroup: TLS_GROUP,
  }),
  cert: Flags.string({description: 'PEM client certificate (mutual TLS)', helpGroup: TLS_GROUP, dependsOn: ['key']}),
  key: Flags.string({description: 'PEM private key of the client certificate', helpGroup: TLS_GROUP, dependsOn: ['cert']}),
  insecure: Flags.boolean({
    description: 'do not verify the broker certificate nor its host name (testing only)',
    helpGroup: TLS_GROUP,
  }),
  'will-topic': Flags.string({description: 'topic of the will message', helpGroup: WILL_GROUP}),
  'will-payload': Flags.string({
    aliases: ['will-message'],
    description: 'payload of the will message',
    helpGroup: WILL_GROUP,
    dependsOn: ['will-topic'],
  }),
  'will-qos': Flags.integer({
    description: 'QoS of the will message [default: 0]',
    min: 0,
    max: 2,
    helpGroup: WILL_GROUP,
    dependsOn: ['will-topic'],
  }),
  'will-retain': Flags.boolean({
    description: 'retain the will message',
    helpGroup: WILL_GROUP,
    dependsOn: ['will-topic'],
  }),
  'will-delay': Flags.integer({
    description: 'MQTT 5 will delay interval in seconds',
    min: 0,
    max: 4_294_967_295,
    helpGroup: WILL_GROUP,
    dependsOn: ['will-topic'],
  }),
}

/** The parsed values of `connectionFlags` (every one optional: defaults are applied in options.ts). */
export interface ConnectionFlagValues {
  host?: string
  port?: number
  url?: string
  'client-id'?: string
  'id-prefix'?: string
  username?: string
  password?: string
  'protocol-version'?: ProtocolVersion
  keepalive?: number
  clean?: boolean
  'disable-clean-session'?: boolean
  'session-expiry'?: number
  'connect-timeout'?: number
  tls?: boolean
  cafile?: string
  cert?: string
  key?: string
  insecure?: boolean
  'will-topic'?: string
  'will-payload'?: string
  'will-qos'?: number
  'will-retain'?: boolean
  'will-delay'?: number
}
