import {Command, Flags} from '@oclif/core'
import chalk from 'chalk'
import {securityFlags, security__fromFlags, security__reload, type SecurityFlagValues} from '../broker/auth/flags.js'
import {Broker} from '../broker/broker.js'
import {type ConfigValue, config__load} from '../broker/config.js'
import {LOG_LEVELS, type LogLevel} from '../broker/logger.js'
import type {BrokerOptions} from '../broker/options.js'
import {DEFAULTS} from '../broker/options.js'
import type {ListenerSpec} from '../broker/transport/index.js'
import {transport__busyNote, transport__describe, transport__listenersFromFlags, transport__portFlag, transportFlags, type TransportFlagValues} from '../broker/transport/flags.js'
import {transport__reloadAll} from '../broker/transport/reload.js'
import {store__fromFlags, storeFlags} from '../broker/store/flags.js'
import {RedisStore} from '../broker/store/redis.js'
import {cluster__fromFlags, clusterFlags} from '../broker/cluster/flags.js'
import {openFiles__format} from '../broker/limits/open-files.js'
import {BRIDGE_FLAG_NAMES, bridge__configFromFlags, bridgeFlags} from '../broker/bridge/flags.js'
import {BridgeManager, type BridgeStatus, bridge__displayUrl} from '../broker/bridge/index.js'
import {store__defaultDataDir} from '../broker/store/index.js'
import {web__fromFlags, webFlags, type WebFlagValues} from '../web/flags.js'

const GROUP = 'LIMITS'
const int = (description: string, extra: {min?: number; max?: number; env?: string} = {}) =>
  Flags.integer({description, min: 1, helpGroup: GROUP, ...extra})

/** What `mqttkit broker --json` prints when it stops. */
export interface BrokerRunResult {
  listeners: Array<{type: string; host: string; port: number}>
  uptimeSeconds: number
  clientsTotal: number
  messagesReceived: number
  messagesSent: number
  /** The web admin's URL, when it ran (docs/web.md). */
  web?: string
  /** Each bridge as it was when the broker stopped (docs/bridges.md). */
  bridges: BridgeStatus[]
}

/** `--allow-anonymous false` (as other brokers' users type it) becomes oclif's `--no-allow-anonymous`. */
export function broker__normalizeArgv(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = /^--allow-anonymous=(true|false)$/i.exec(arg)
    if (eq) {
      out.push(eq[1]!.toLowerCase() === 'false' ? '--no-allow-anonymous' : '--allow-anonymous')
      continue
    }
    const next = argv[i + 1]?.toLowerCase()
    if (arg === '--allow-anonymous' && (next === 'true' || next === 'false')) {
      out.push(next === 'false' ? '--no-allow-anonymous' : '--allow-anonymous')
      i++
      continue
    }
    out.push(arg)
  }
  return out
}

/** The flags a config file may also set (the repeating bridge flags have the file's `bridges` list instead). */
function fileKeys(): Record<string, 'any'> {
  return Object.fromEntries(Object.keys(BrokerCommand.flags).filter((k) => k !== 'config' && k !== 'json' && !BRIDGE_FLAG_NAMES.includes(k)).map((k) => [k, 'any' as const]))
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}

const CAPS = 'CAPABILITIES'
/** MQTT 5 capabilities the broker may switch off (told in CONNACK); names as the CONNACK properties. */
const capabilityFlags = {
  'wildcard-subscription-available': Flags.boolean({description: 'accept filters with + and # (--no-…: SUBACK 0xA2, 3.1.1 0x80) [default: true]', allowNo: true, helpGroup: CAPS}),
  'subscription-identifiers-available': Flags.boolean({description: 'accept MQTT 5 subscription identifiers (--no-…: SUBACK 0xA1) [default: true]', allowNo: true, helpGroup: CAPS}),
  'shared-subscription-available': Flags.boolean({description: 'accept $share/group/filter (--no-…: SUBACK 0x9E, 3.1.1 0x80) [default: true]', allowNo: true, helpGroup: CAPS}),
  'send-reason-strings': Flags.boolean({description: 'put reason strings in MQTT 5 CONNACK, DISCONNECT, PUBACK and SUBACK (--no-…: none at all) [default: true]', allowNo: true, helpGroup: CAPS}),
  'assign-client-ids': Flags.boolean({description: 'give clients with an empty client id one (--no-…: CONNACK 0x85, 3.1.1 return code 2) [default: true]', allowNo: true, helpGroup: CAPS}),
}

export default class BrokerCommand extends Command {
  static override description = 'Run the MQTT broker (MQTT 3.1, 3.1.1 and 5.0)'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --mqtt-port 1884 --log-level debug',
    '<%= config.bin %> <%= command.id %> --config broker.yaml --allow-anonymous false',
  ]

  // No oclif defaults: a flag left out must not hide the config file's value. Defaults apply last (docs/broker.md).
  static override flags = {
    'mqtt-host': Flags.string({description: 'address the MQTT/TCP listener binds [default: 0.0.0.0]'}),
    'mqtt-port': Flags.integer({description: 'MQTT/TCP port (0: any free port) [default: 1883]', min: 0, max: 65_535, env: 'MQTT_PORT'}),
    'allow-anonymous': Flags.boolean({
      description: 'let clients connect without a user name (--allow-anonymous false or --no-allow-anonymous refuses them) [default: true]',
      allowNo: true,
    }),
    config: Flags.string({description: 'configuration file (JSON or YAML) with flag names as keys; flags override it'}),
    'log-level': Flags.string({description: 'log detail [default: info]', options: [...LOG_LEVELS]}),
    'max-connections': int(`concurrent client connections [default: ${DEFAULTS.maxConnections}]`),
    'max-keepalive': int(`largest keepalive in seconds; MQTT 5 clients are told, 3.1.1 clients asking for more are refused [default: ${DEFAULTS.maxKeepalive}]`, {max: 65_535}),
    'max-packet-size': int(`largest packet in bytes, both directions [default: ${DEFAULTS.maxPacketSize}]`, {min: 64, max: 268_435_460}),
    'max-inflight': int(`unacknowledged QoS 1/2 messages per client and direction (MQTT 5 receive maximum) [default: ${DEFAULTS.maxInflight}]`, {max: 65_535}),
    'max-queued': int(`messages queued per session (offline, or over its inflight window) before new ones are dropped [default: ${DEFAULTS.maxQueued}]`, {min: 0}),
    'queue-budget': int(`bytes the broker may queue past --max-queued for clients that keep acknowledging; publishers pause at 3/4 (0: never past it) [default: ${DEFAULTS.queueBudget}]`, {min: 0}),
    'max-subscriptions': int(`subscriptions per session [default: ${DEFAULTS.maxSubscriptions}]`),
    'max-topic-levels': int(`levels in a topic name or filter [default: ${DEFAULTS.maxTopicLevels}]`),
    'topic-alias-maximum': int(`topic aliases an MQTT 5 client may use (0: none) [default: ${DEFAULTS.topicAliasMaximum}]`, {min: 0, max: 65_535}),
    'sys-interval': Flags.integer({description: `seconds between $SYS/broker/... updates (0: none) [default: ${DEFAULTS.sysInterval}]`, min: 0}),
    'max-qos': Flags.integer({description: 'highest QoS granted and accepted (MQTT 5 Maximum QoS) [default: 2]', min: 0, max: 2, helpGroup: GROUP}),
    'retain-available': Flags.boolean({
      description: 'store retained messages (--no-retain-available refuses them; MQTT 5 Retain Available) [default: true]',
      allowNo: true,
      helpGroup: GROUP,
    }),
    'retain-ttl': Flags.integer({description: 'seconds a retained message is kept, then deleted (an MQTT 5 message expiry wins when shorter; counts across restarts) [default: none]', min: 0, max: 0xffff_ffff, helpGroup: GROUP}),
    'max-retained': Flags.integer({description: 'retained topics kept; a new one past it is refused (MQTT 5 PUBACK 0x97) [default: unlimited]', min: 0, helpGroup: GROUP}),
    'max-retained-bytes': Flags.integer({description: 'payload bytes of all retained messages; a new topic past it is refused (MQTT 5 PUBACK 0x97) [default: unlimited]', min: 0, helpGroup: GROUP}),
    ...capabilityFlags,
    'shared-strategy': Flags.string({
      description: 'how a $share group picks the member for each message [default: round-robin]',
      options: ['round-robin', 'random', 'sticky'],
    }),
    ...transportFlags,
    ...storeFlags,
    ...clusterFlags,
    ...securityFlags,
    ...bridgeFlags,
    ...webFlags,
  }

  async run(): Promise<BrokerRunResult> {
    const {flags} = await this.parse(BrokerCommand, broker__normalizeArgv(this.argv))
    const file: Record<string, ConfigValue> = flags.config === undefined ? {} : await config__load(flags.config, fileKeys()).catch((e: Error) => this.error(e.message, {exit: 1}))
    const pick = <T extends ConfigValue>(name: string, fallback: T): T => ((flags as Record<string, unknown>)[name] ?? file[name] ?? fallback) as T
    const opt = (name: string): number | undefined => ((flags as Record<string, unknown>)[name] ?? file[name]) as number | undefined
    const bool = (name: string): boolean | undefined => ((flags as Record<string, unknown>)[name] ?? file[name]) as boolean | undefined

    const host = pick('mqtt-host', '0.0.0.0')
    const port = pick('mqtt-port', 1883)
    const allowAnonymous = pick('allow-anonymous', true)
    const logLevel = pick<string>('log-level', 'info') as LogLevel
    if (!LOG_LEVELS.includes(logLevel)) this.error(`log-level must be one of ${LOG_LEVELS.join(', ')}`, {exit: 1})
    const listeners: ListenerSpec[] = [{type: 'tcp', host, port}]
    // WS (on by default), TLS and WSS listeners: rules and defaults in broker/transport/flags.ts.
    const transportValues = Object.fromEntries(Object.keys(transportFlags).map((k) => [k, (flags as Record<string, unknown>)[k] ?? file[k]])) as TransportFlagValues
    const transports = await transport__listenersFromFlags(transportValues, {host, maxFrameSize: opt('max-packet-size')}).catch((e: Error) => this.error(e.message, {exit: 1}))
    listeners.push(...transports.specs)
    // --store/--data-dir (the CLI's default is SQLite in the data directory): rules in broker/store/flags.ts.
    const storeValue = (name: string): string | undefined => {
      const value = (flags as Record<string, unknown>)[name] ?? file[name]
      return value === undefined ? undefined : String(value)
    }
    const {store} = (() => {
      try {
        return store__fromFlags({store: storeValue('store'), 'data-dir': storeValue('data-dir'), 'cluster-name': storeValue('cluster-name')})
      } catch (error) {
        return this.error((error as Error).message, {exit: 1})
      }
    })()
    // --password-file, --acl-file and the rate limits: rules in broker/auth/flags.ts (docs/security.md).
    const securityValues = Object.fromEntries(Object.keys(securityFlags).map((k) => [k, (flags as Record<string, unknown>)[k] ?? file[k]])) as SecurityFlagValues
    const security = await security__fromFlags(securityValues, allowAnonymous).catch((e: Error) => this.error(e.message, {exit: 1}))
    // Bridges are checked before anything listens: a bad entry stops the start with one line (broker/bridge/config.ts).
    const bridgeConfigs = (() => {
      try {
        return bridge__configFromFlags(file.bridges, flags)
      } catch (error) {
        return this.error(`${flags.config === undefined ? '' : `${flags.config}: `}${(error as Error).message}`, {exit: 1})
      }
    })()
    const options: BrokerOptions = {
      listeners,
      store,
      // A Redis store makes the broker a cluster node (broker/cluster/, docs/cluster.md).
      cluster: store instanceof RedisStore ? cluster__fromFlags(storeValue('node-id'), port) : undefined,
      logLevel,
      ...security.options,
      maxConnections: opt('max-connections'),
      maxKeepalive: opt('max-keepalive'),
      maxPacketSize: opt('max-packet-size'),
      maxInflight: opt('max-inflight'),
      maxQueued: opt('max-queued'),
      queueBudget: opt('queue-budget'),
      maxSubscriptions: opt('max-subscriptions'),
      maxTopicLevels: opt('max-topic-levels'),
      maxTopicLength: opt('max-topic-length'),
      maxClientIdLength: opt('max-client-id-length'),
      maxOutputBuffer: opt('max-output-buffer'),
      connectTimeout: opt('connect-timeout'),
      topicAliasMaximum: opt('topic-alias-maximum'),
      sysInterval: opt('sys-interval'),
      sharedStrategy: pick('shared-strategy', DEFAULTS.sharedStrategy) as BrokerOptions['sharedStrategy'],
      maxQos: opt('max-qos') as BrokerOptions['maxQos'],
      retainTtl: opt('retain-ttl'),
      maxRetained: opt('max-retained'),
      maxRetainedBytes: opt('max-retained-bytes'),
      wildcardSubscriptionAvailable: bool('wildcard-subscription-available'),
      subscriptionIdentifiersAvailable: bool('subscription-identifiers-available'),
      sharedSubscriptionAvailable: bool('shared-subscription-available'),
      sendReasonStrings: bool('send-reason-strings'),
      assignClientIds: bool('assign-client-ids'),
      retainAvailable: ((flags as Record<string, unknown>)['retain-available'] ?? file['retain-available']) as boolean | undefined,
    }

    let broker: Broker
    try {
      broker = new Broker(options)
    } catch (error) {
      // Option names become the flag names people typed (maxInflight -> --max-inflight).
      const message = (error as Error).message.replace(/^([a-z]+[A-Z]\w*) must/, (_m, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must`)
      this.error(message, {exit: 1})
    }
    try {
      await broker.listen().catch(async (error: NodeJS.ErrnoException & {port?: number}) => {
        // The default WebSocket port was free when probed but another process took it since: start without it.
        if (error.code !== 'EADDRINUSE' || transports.yielding === undefined || error.port !== transports.yielding.port) throw error
        transports.notes.push(transport__busyNote(error.port))
        broker = new Broker({...options, listeners: listeners.filter((l) => l !== transports.yielding)})
        await broker.listen()
      })
    } catch (error) {
      const e = error as NodeJS.ErrnoException & {address?: string; port?: number}
      if (e.code === 'EADDRINUSE') {
        this.error(
          `port ${e.port ?? port} on ${e.address ?? host} is already in use (another broker running?). ` +
            `Run \`mqttkit doctor\` to see what holds it, or choose another port with ${transport__portFlag(listeners, e.port)}.`,
          {exit: 1},
        )
      }
      if (e.code === 'EACCES') this.error(`no permission to listen on port ${e.port ?? port}: ports below 1024 need privileges; try --mqtt-port 1883`, {exit: 1})
      this.error(`cannot start the broker: ${e.message}`, {exit: 1})
    }

    const bridges = new BridgeManager(broker)
    try {
      await bridges.start(bridgeConfigs)
    } catch (error) {
      await bridges.stop()
      await broker.close()
      this.error((error as Error).message, {exit: 1})
    }
    // The web admin (src/web/): after the listeners, so its page can name them. Rules in web/flags.ts.
    const webValues = Object.fromEntries(Object.keys(webFlags).map((k) => [k, (flags as Record<string, unknown>)[k] ?? file[k]])) as WebFlagValues
    const web = await web__fromFlags(broker, webValues, {dataDir: storeValue('data-dir') ?? store__defaultDataDir(), configFile: flags.config, version: this.config.version}).catch(async (e: Error) => {
      await bridges.stop()
      await broker.close()
      return this.error(e.message, {exit: 1})
    })

    if (this.jsonEnabled()) {
      for (const line of web.lines) broker.logger.info(line)
      for (const warning of web.warnings) broker.logger.warn(warning)
      // stdout is kept for the final JSON document; the addresses still reach people and scripts through the log.
      for (const l of broker.listeners) broker.logger.info(`listening on ${transport__describe(l)}`)
    } else {
      const files = broker.openFiles?.soft == null ? '' : `, open files: ${openFiles__format(broker.openFiles.soft)}`
      this.log(chalk.bold(`mqttkit broker ${this.config.version}`) + chalk.dim(` (store: ${broker.store.name}${files})`))
      for (const l of broker.listeners) this.log(`  listening on ${chalk.cyan(transport__describe(l))}`)
      if (broker.cluster !== undefined) this.log(`  cluster node ${chalk.cyan(broker.cluster.nodeId)}, ${broker.cluster.nodeCount} node(s) alive`)
      for (const line of web.lines) this.log(`  ${line.replace(/http:\/\/\S+/g, (url) => chalk.cyan(url))}`)
      for (const warning of web.warnings) this.log(chalk.yellow(`  warning: ${warning}`))
      for (const note of transports.notes) this.log(chalk.yellow(`  note: ${note}`))
      for (const b of bridgeConfigs) this.log(`  bridge ${chalk.cyan(b.name)} to ${b.urls.map(bridge__displayUrl).join(', ')} (${b.topics.map((t) => `${t.localPrefix}${t.pattern} ${t.direction} ${t.qos}`).join('; ')})`)
      for (const note of security.notes) this.log(`  ${note}`)
      for (const warning of security.warnings) this.log(chalk.yellow(`  warning: ${warning}`))
      if (allowAnonymous && broker.listeners.some((l) => !isLoopback(l.address.host))) {
        this.log(chalk.yellow('  warning: anonymous clients may connect from other machines (use --allow-anonymous false with a password file)'))
      } else if (!allowAnonymous) {
        this.log('  anonymous clients are refused')
      }
    }

    // SIGHUP re-reads the TLS/WSS certificate files, the password file and the ACL; connections stay up (docs/transports.md, docs/security.md).
    const reload = () => {
      void transport__reloadAll(broker.listeners, broker.logger)
      security__reload(security, broker.logger)
      void this.reloadBridges(flags, bridges, broker.logger)
    }
    process.on('SIGHUP', reload)
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        broker.logger.info(`${signal} received, shutting down`)
        resolve()
      }
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
    process.off('SIGHUP', reload)
    const bridgeStatus = bridges.status()
    await bridges.stop()
    const stats = broker.stats
    const bound = broker.listeners.map((l) => ({type: l.spec.type, host: l.address.host, port: l.address.port}))
    await web.admin?.close()
    await broker.close()
    // Anything a plugin left running must not keep a stopped broker alive.
    setTimeout(() => process.exit(0), 2000).unref()
    return {
      listeners: bound,
      uptimeSeconds: Math.round((Date.now() - stats.startedAt) / 1000),
      clientsTotal: stats.clientsTotal,
      messagesReceived: stats.messagesReceived,
      messagesSent: stats.messagesSent,
      ...(web.admin?.address === undefined ? {} : {web: web.admin.address.url}),
      bridges: bridgeStatus,
    }
  }

  /** SIGHUP: the config file's `bridges` again (flags as given at start); a bad file keeps the running bridges. */
  private async reloadBridges(flags: {config?: string; bridge?: string[]; 'bridge-topic'?: string[]}, bridges: BridgeManager, logger: Broker['logger']): Promise<void> {
    try {
      const file = flags.config === undefined ? {} : await config__load(flags.config, fileKeys())
      const result = await bridges.reload(bridge__configFromFlags(file.bridges, flags))
      const changes = [...result.started.map((n) => `${n} started`), ...result.restarted.map((n) => `${n} restarted`), ...result.stopped.map((n) => `${n} stopped`)]
      logger.info(`bridges reloaded: ${changes.length === 0 ? 'no change' : changes.join(', ')}`)
    } catch (error) {
      logger.error(`bridges not reloaded, the running ones are kept: ${(error as Error).message}`)
    }
  }
}
