/**
 * One bridge: a local link (an MQTT 5 client of this broker, local-link.ts) and a remote client (mqtt.js,
 * remote.ts), with the topic rules between them.
 *
 * out: the broker delivers what matches an `out` rule to the link's persistent session; the bridge publishes it
 *      on the remote (prefixes mapped, QoS as delivered = min(rule, message), retain kept, MQTT 5 properties kept,
 *      message expiry counted down) and acknowledges it here only once the remote has (PUBACK, or PUBCOMP for
 *      QoS 2). While the remote is away nothing is acknowledged, so the broker keeps the rest in the session
 *      (store-backed, bounded by `maxQueued`, in order) and hands it over after the reconnect.
 * in:  the remote client subscribes to `remotePrefix + pattern` and publishes what arrives here through the link;
 *      the remote's PUBACK waits for this broker's, and its QoS 2 PUBREC for this broker's PUBCOMP (so a message
 *      the remote handed over is already in this broker's store when mqttkit could die waiting for PUBREL).
 * Loops: No Local on both ends (mosquitto's bridge mode for 3.1.1 remotes) and the path property of path.ts.
 */
import type {IPublishPacket} from 'mqtt-packet'
import type {MqttClient} from 'mqtt'
import type {Logger} from '../logger.js'
import {type BridgeConfig, bridge__displayUrl} from './config.js'
import {LINK_WINDOW, type LinkBroker, LocalLink, packet__fits} from './local-link.js'
import {path__in, path__out} from './path.js'
import {ReleaseStore} from './release-store.js'
import {type RemoteTls, remote__backoff, remote__connect, remote__load} from './remote.js'
import {BridgeRules, type CompiledRule} from './rules.js'

export interface BridgeCounters {
  /** Messages the remote acknowledged (QoS 0: sent). */
  sent: number
  /** Messages brought in from the remote and accepted here. */
  received: number
  /** Messages that will not reach the other side: the queue was full, they expired, the remote or this broker refused them, or QoS 0 while the remote was away. */
  dropped: number
  /** Messages not passed on because they had already been through this broker (path.ts). */
  looped: number
}

export type BridgeState = 'connecting' | 'up' | 'down' | 'stopped'

interface Pending {
  packet: IPublishPacket
  rule: CompiledRule
  topic: string
  receivedAt: number
  /** The remote client it was last sent through (null: not sent on the current connection). */
  sentOn: MqttClient | null
  sends: number
  /** The packet id mqtt.js gave it on the remote (QoS 1/2, once sent). */
  remoteId?: number
  /** QoS 2: the remote sent PUBREC; it is never published again, only its PUBREL is resent (release-store.ts). */
  released: boolean
}

/** QoS 1/2 messages unacknowledged by a 3.1.1 remote at once (MQTT 5 remotes say how many in CONNACK). */
const V3_REMOTE_WINDOW = 100

export class Bridge {
  state: BridgeState = 'stopped'
  readonly counters: BridgeCounters = {sent: 0, received: 0, dropped: 0, looped: 0}
  readonly rules: BridgeRules
  readonly link: LocalLink
  /** Out messages not yet acknowledged by the remote, in the order the broker delivered them (Map keeps it). */
  private readonly pending = new Map<number, Pending>()
  /** Sent QoS 1/2 messages by their packet id on the remote. */
  private readonly byRemoteId = new Map<number, Pending>()
  /** Sent QoS 1/2 messages waiting for mqtt.js to give them a packet id (it stores them in this order). */
  private awaitingId: Pending[] = []
  private readonly store = new ReleaseStore({
    published: (id) => {
      const entry = this.awaitingId.shift()
      if (entry === undefined) return
      entry.remoteId = id
      this.byRemoteId.set(id, entry)
    },
    released: (id) => {
      const entry = this.byRemoteId.get(id)
      if (entry !== undefined) entry.released = true
    },
    completed: (id) => {
      const entry = this.byRemoteId.get(id)
      // Sent on this connection: its publish callback finishes it. Released on an earlier one: this is its end.
      if (entry !== undefined && entry.sentOn !== this.remote) this.finish(entry, 'sent')
    },
  })
  private remote: MqttClient | null = null
  private remoteWindow = V3_REMOTE_WINDOW
  private remoteInflight = 0
  /** The remote's Maximum Packet Size (MQTT 5 CONNACK): a bigger PUBLISH would cost the connection, then again after every reconnect. */
  private remoteMaxPacket = Number.POSITIVE_INFINITY
  private attempt = 0
  private urlIndex = 0
  private timer: NodeJS.Timeout | undefined
  private lastError = ''
  /** Called on every state change (the manager publishes $SYS). */
  onState: (bridge: Bridge) => void = () => {}

  constructor(
    readonly config: BridgeConfig,
    private readonly broker: LinkBroker,
    private readonly nodeId: string,
    private readonly tls: RemoteTls,
    private readonly logger: Logger,
  ) {
    this.rules = new BridgeRules(config.topics)
    this.link = new LocalLink(broker, `$bridge/${config.name}`, config.maxQueued, {
      message: (packet) => this.fromLocal(packet),
      closed: (reason) => this.linkLost(reason),
    })
  }

  get clientId(): string {
    return this.config.clientId ?? `mqttkit-bridge-${this.config.name}-${this.nodeId}`
  }

  /** Messages waiting for the remote here (the session's queue is added by the manager). */
  get waiting(): number {
    return this.pending.size
  }

  get error(): string {
    return this.lastError
  }

  /** Connects the local link (so messages queue for the remote from now on), then the remote. */
  async start(): Promise<void> {
    this.state = 'connecting'
    await this.link.connect()
    await this.link.subscribe(this.rules.out.map((r) => ({topic: r.localFilter, qos: r.qos})))
    await remote__load()
    this.connectRemote()
  }

  /** Stops both ends; `forget` also ends the local session (the bridge was removed from the config). */
  async stop(forget = false): Promise<void> {
    this.state = 'stopped'
    clearTimeout(this.timer)
    const remote = this.remote
    this.remote = null
    this.link.close(forget)
    this.pending.clear()
    this.byRemoteId.clear()
    if (remote !== null) {
      // DISCONNECT once what is in flight is acknowledged, but a remote that does not answer is not waited for long.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ;(remote as unknown as {stream?: {destroy(): void}}).stream?.destroy()
          resolve()
        }, 2000)
        timer.unref()
        remote.end(!remote.connected, {}, () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    this.onState(this)
  }

  // ---- remote connection

  private connectRemote(): void {
    if (this.state === 'stopped') return
    const url = this.config.urls[this.urlIndex % this.config.urls.length]!
    const shown = bridge__displayUrl(url)
    const client = remote__connect(this.config, url, this.clientId, this.tls, this.store)
    this.remote = client
    this.awaitingId = []
    // QoS 2: taken over here before the remote hears PUBREC (customHandleAcks runs at PUBLISH; mqtt.js's own
    // path would keep the message in memory until PUBREL and only then call handleMessage).
    client.options.customHandleAcks = (_topic, _message, packet, ack) => {
      if (packet.qos === 2) this.fromRemote(client, packet, () => ack(0))
      else ack(0)
    }
    // QoS 0/1 (PUBACK after done); QoS 2 at PUBREL, already published here by then.
    client.handleMessage = (packet, done) => (packet.qos === 2 ? done() : this.fromRemote(client, packet as IPublishPacket, done))
    client.on('connect', (connack) => {
      if (client !== this.remote) return
      this.attempt = 0
      this.lastError = ''
      this.remoteWindow = this.config.protocolVersion === 5 ? (connack.properties?.receiveMaximum ?? 65_535) : V3_REMOTE_WINDOW
      this.remoteMaxPacket = (this.config.protocolVersion === 5 ? connack.properties?.maximumPacketSize : undefined) ?? Number.POSITIVE_INFINITY
      this.remoteInflight = 0
      const v5 = this.config.protocolVersion === 5
      const subs = this.rules.in.map((r) => ({topic: r.remoteFilter, opts: v5 ? {qos: r.qos, nl: true, rap: true, rh: 1 as const} : {qos: r.qos}}))
      for (const s of subs) {
        client.subscribe(s.topic, s.opts, (error, granted) => {
          const code = granted?.[0]?.qos
          if (error !== null && error !== undefined) this.logger.warn(`bridge ${this.config.name}: subscribing to ${s.topic} on ${shown} failed: ${error.message}`)
          else if (code !== undefined && code >= 0x80) this.logger.warn(`bridge ${this.config.name}: ${shown} refused the subscription to ${s.topic} (0x${code.toString(16)})`)
        })
      }
      this.state = 'up'
      this.logger.info(`bridge ${this.config.name}: connected to ${shown} as ${this.clientId}${connack.sessionPresent ? ' (session resumed)' : ''}`)
      this.onState(this)
      for (const entry of this.pending.values()) entry.sentOn = null
      this.pump()
    })
    client.on('error', (error) => {
      if (client !== this.remote) return
      if (error.message !== this.lastError) this.logger.warn(`bridge ${this.config.name}: ${shown}: ${error.message}`)
      this.lastError = error.message
    })
    client.on('close', () => {
      if (client !== this.remote) return
      this.remoteLost(client, shown)
    })
  }

  private remoteLost(client: MqttClient, url: string): void {
    client.removeAllListeners('connect')
    client.end(true)
    this.remote = null
    this.remoteInflight = 0
    const wasUp = this.state === 'up'
    this.state = 'down'
    if (wasUp) {
      this.logger.warn(`bridge ${this.config.name}: lost ${url}; ${this.pending.size} message(s) wait for it`)
      this.onState(this)
    } else if (this.attempt === 0) this.onState(this)
    this.attempt++
    // Fail-over: the next URL after a failed attempt.
    if (!wasUp) this.urlIndex++
    const delay = remote__backoff(this.attempt, this.config.reconnectBase, this.config.reconnectCap)
    this.timer = setTimeout(() => this.connectRemote(), delay)
    this.timer.unref()
  }

  // ---- out: this broker -> remote

  private fromLocal(packet: IPublishPacket): void {
    const rule = this.rules.outgoing(packet.topic)
    if (rule === undefined) {
      // A subscription left over from an older rule set: not ours any more.
      this.link.ack(packet)
      return
    }
    const entry: Pending = {packet, rule, topic: BridgeRules.toRemote(rule, packet.topic), receivedAt: Date.now(), sentOn: null, sends: 0, released: false}
    if (packet.qos === 0) {
      // QoS 0 is not kept for an absent remote; while it is there it goes at once (it may pass queued QoS 1/2 ones).
      if (this.state === 'up') this.send(entry)
      else this.counters.dropped++
      return
    }
    this.pending.set(packet.messageId!, entry)
    this.pump()
  }

  /** Sends pending messages in order while the remote's window has room. */
  private pump(): void {
    if (this.state !== 'up' || this.remote === null) return
    for (const entry of this.pending.values()) {
      if (this.remoteInflight >= this.remoteWindow) return
      if (entry.sentOn === this.remote || entry.released) continue
      this.send(entry)
    }
  }

  private send(entry: Pending): void {
    const client = this.remote!
    const {packet} = entry
    const v5 = this.config.protocolVersion === 5
    let properties: IPublishPacket['properties']
    if (v5) {
      const {subscriptionIdentifier: _s, topicAlias: _t, ...rest} = packet.properties ?? {}
      const user = path__out(rest.userProperties, this.nodeId)
      if (user === null) return this.finish(entry, 'looped')
      properties = {...rest, userProperties: user}
      if (rest.messageExpiryInterval !== undefined) {
        // [MQTT-3.3.2-6] the interval sent on is what is left of it.
        const left = rest.messageExpiryInterval - Math.floor((Date.now() - entry.receivedAt) / 1000)
        if (left <= 0) return this.finish(entry, 'dropped')
        properties.messageExpiryInterval = left
      }
    }
    const version = v5 ? 5 : 4
    if (!packet__fits({cmd: 'publish', topic: entry.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: false, messageId: 1, properties}, version, this.remoteMaxPacket)) {
      this.logger.warn(`bridge ${this.config.name}: ${entry.topic} is larger than the remote's maximum packet size (${this.remoteMaxPacket} bytes); dropped`)
      return this.finish(entry, 'dropped')
    }
    entry.sentOn = client
    entry.sends++
    if (packet.qos > 0) {
      this.remoteInflight++
      this.awaitingId.push(entry)
    }
    client.publish(entry.topic, packet.payload as Buffer, {qos: packet.qos, retain: packet.retain, dup: entry.sends > 1, properties}, (error) => {
      if (client !== this.remote) return
      if (packet.qos > 0) this.remoteInflight--
      const code = (error as {code?: unknown} | undefined)?.code
      if (error !== undefined && error !== null && typeof code !== 'number') {
        // Not an answer from the remote (connection gone): it stays pending and goes again after the reconnect.
        entry.sentOn = null
        return
      }
      if (typeof code === 'number' && code >= 0x80) {
        this.logger.warn(`bridge ${this.config.name}: the remote refused ${entry.topic} (reason code 0x${code.toString(16)}); dropped`)
        this.finish(entry, 'dropped')
      } else this.finish(entry, 'sent')
      this.pump()
    })
  }

  private finish(entry: Pending, outcome: keyof BridgeCounters): void {
    if (entry.remoteId !== undefined && this.byRemoteId.get(entry.remoteId) === entry) this.byRemoteId.delete(entry.remoteId)
    this.counters[outcome]++
    if (entry.packet.qos === 0) return
    const id = entry.packet.messageId!
    // An entry from before the link reconnected: the broker sends that message again itself, under the same id,
    // as a new entry; this stale one must not acknowledge it.
    if (this.pending.get(id) !== entry) return
    this.pending.delete(id)
    this.link.ack(entry.packet)
  }

  // ---- in: remote -> this broker

  private fromRemote(client: MqttClient, packet: IPublishPacket, done: (error?: Error) => void): void {
    const rule = this.rules.incoming(packet.topic)
    if (rule === undefined || client !== this.remote) {
      done()
      return
    }
    let properties: IPublishPacket['properties']
    if (this.config.protocolVersion === 5) {
      const {subscriptionIdentifier: _s, topicAlias: _t, ...rest} = packet.properties ?? {}
      const user = path__in(rest.userProperties, this.nodeId)
      if (user === null) {
        this.counters.looped++
        done()
        return
      }
      properties = {...rest, userProperties: user}
    }
    const qos = Math.min(packet.qos, rule.qos) as 0 | 1 | 2
    this.link.publish({topic: BridgeRules.toLocal(rule, packet.topic), payload: packet.payload as Buffer, qos, retain: packet.retain, properties}).then(
      () => {
        this.counters.received++
        done()
      },
      (error: Error) => {
        // Refused here (not authorized, invalid) or the link went away: acknowledged on the remote all the same, so
        // one bad message cannot block the bridge; counted and logged.
        this.counters.dropped++
        this.logger.warn(`bridge ${this.config.name}: ${packet.topic} from the remote not published here: ${error.message}`)
        done()
      },
    )
  }

  // ---- local link

  private linkLost(reason: string): void {
    if (this.state === 'stopped') return
    this.logger.warn(`bridge ${this.config.name}: ${reason}; reconnecting to this broker`)
    // The broker resends what it had in flight to the session; what the remote did not acknowledge goes again then.
    this.pending.clear()
    setTimeout(() => {
      if (this.state === 'stopped') return
      this.link
        .connect()
        .then(() => this.link.subscribe(this.rules.out.map((r) => ({topic: r.localFilter, qos: r.qos}))))
        .catch((error: Error) => this.linkLost(error.message))
    }, 1000).unref()
  }
}

export {LINK_WINDOW}
