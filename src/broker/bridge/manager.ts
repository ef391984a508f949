/**
 * The broker's bridges: starts them from the checked config, publishes their `$SYS/broker/bridges/<name>/...`
 * topics, applies a new config on reload (SIGHUP) by starting, stopping or restarting only the bridges whose entry
 * changed, and stops them before the broker closes. Uses only the Broker's public API (`handle`, `publish`,
 * `clients.get`, `listeners`, `options`).
 */
import {hostname} from 'node:os'
import type {Duplex} from 'node:stream'
import type {Logger} from '../logger.js'
import type {StoredMessage} from '../store/store.js'
import type {ConnectionMeta} from '../transport/types.js'
import {Bridge, type BridgeState} from './bridge.js'
import {type BridgeConfig, bridge__displayUrl} from './config.js'
import {remote__readTls} from './remote.js'

/** The part of the Broker the bridges use. */
export interface BridgeHost {
  handle(stream: Duplex, meta: ConnectionMeta): void
  publish(message: StoredMessage): Promise<unknown>
  /** The management API's view of a session (src/broker/management/clients.ts): its queue and drop counts. */
  readonly clients: {get(clientId: string): {queued: number; dropped: number} | undefined}
  readonly logger: Logger
  readonly listeners: ReadonlyArray<{address: {port: number}}>
  readonly options: {sysInterval: number}
}

export interface BridgeStatus {
  name: string
  state: BridgeState
  url: string
  sent: number
  received: number
  /** Waiting for the remote: held by the bridge plus queued in its session. */
  queued: number
  dropped: number
  looped: number
  error?: string
}

export interface BridgeManagerOptions {
  /**
   * This broker's name among bridged brokers: in default client ids on remotes and in the loop-detection path.
   * Default `<hostname>-<first listener port>`, stable across restarts so remote sessions are resumed.
   */
  nodeId?: string
}

/** `$SYS/broker/bridges/<name>/` followed by these, retained. */
const SYS_COUNTERS = ['sent', 'received', 'queued', 'dropped'] as const

export class BridgeManager {
  private readonly bridges = new Map<string, Bridge>()
  private readonly nodeId: string
  private timer: NodeJS.Timeout | undefined
  private readonly lastSys = new Map<string, string>()

  constructor(
    private readonly broker: BridgeHost,
    options: BridgeManagerOptions = {},
  ) {
    const port = broker.listeners[0]?.address.port
    this.nodeId = (options.nodeId ?? `${hostname()}${port === undefined ? '' : `-${port}`}`).replace(/[,\s]/g, '_')
  }

  get names(): string[] {
    return [...this.bridges.keys()]
  }

  /** Starts every bridge; rejects (stopping those already started) when a TLS file cannot be read. */
  async start(configs: BridgeConfig[]): Promise<void> {
    const materials = configs.map((c) => remote__readTls(c))
    for (const [i, config] of configs.entries()) await this.add(config, materials[i]!)
    if (this.broker.options.sysInterval > 0 && this.timer === undefined) {
      this.timer = setInterval(() => this.publishCounters(), this.broker.options.sysInterval * 1000)
      this.timer.unref()
    }
  }

  /** Applies a new list: unchanged bridges keep running; changed ones restart on their kept session; removed ones end theirs. */
  async reload(configs: BridgeConfig[]): Promise<{started: string[]; restarted: string[]; stopped: string[]}> {
    const materials = new Map(configs.map((c) => [c.name, remote__readTls(c)]))
    const next = new Map(configs.map((c) => [c.name, c]))
    const result = {started: [] as string[], restarted: [] as string[], stopped: [] as string[]}
    for (const [name, bridge] of [...this.bridges]) {
      const config = next.get(name)
      if (config === undefined) {
        await this.remove(name, true)
        result.stopped.push(name)
      } else if (JSON.stringify(config) !== JSON.stringify(bridge.config)) {
        await this.remove(name, false)
        await this.add(config, materials.get(name)!)
        result.restarted.push(name)
      }
    }
    for (const config of configs) {
      if (this.bridges.has(config.name)) continue
      await this.add(config, materials.get(config.name)!)
      result.started.push(config.name)
    }
    return result
  }

  status(): BridgeStatus[] {
    return [...this.bridges.values()].map((b) => {
      const session = this.broker.clients.get(b.link.clientId)
      const s: BridgeStatus = {
        name: b.config.name,
        state: b.state,
        url: b.config.urls.map(bridge__displayUrl).join(' '),
        sent: b.counters.sent,
        received: b.counters.received,
        queued: b.waiting + (session?.queued ?? 0),
        dropped: b.counters.dropped + (session?.dropped ?? 0),
        looped: b.counters.looped,
      }
      if (b.error !== '') s.error = b.error
      return s
    })
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    for (const name of [...this.bridges.keys()]) await this.remove(name, false)
  }

  private async add(config: BridgeConfig, material: ReturnType<typeof remote__readTls>): Promise<void> {
    const bridge = new Bridge(config, this.broker, this.nodeId, material, this.broker.logger)
    bridge.onState = (b) => this.publishState(b)
    this.bridges.set(config.name, bridge)
    this.publishState(bridge)
    await bridge.start()
  }

  private async remove(name: string, forget: boolean): Promise<void> {
    const bridge = this.bridges.get(name)
    if (bridge === undefined) return
    this.bridges.delete(name)
    await bridge.stop(forget)
    this.publishState(bridge)
  }

  private publishState(bridge: Bridge): void {
    this.sys(`$SYS/broker/bridges/${bridge.config.name}/state`, bridge.state === 'up' ? '1' : '0')
    this.publishCounters()
  }

  private publishCounters(): void {
    for (const s of this.status()) {
      for (const key of SYS_COUNTERS) this.sys(`$SYS/broker/bridges/${s.name}/messages/${key}`, String(s[key]))
    }
  }

  /** Retained, only when the value changed. */
  private sys(topic: string, value: string): void {
    if (this.lastSys.get(topic) === value) return
    this.lastSys.set(topic, value)
    this.broker.publish({topic, payload: Buffer.from(value), qos: 0, retain: true}).catch((error: unknown) => {
      this.broker.logger.warn(`$SYS publish of ${topic} failed: ${String(error)}`)
    })
  }
}
