/**
 * `$SYS/broker/...` metrics topics, published as retained QoS 0 messages every `sysInterval` seconds so a client
 * subscribing to `$SYS/#` sees the current values at once. Topic names follow the ones MQTT users already
 * watch (the de-facto set established by mosquitto) wherever an equivalent exists; the few mqttkit-only values
 * are marked below. Values are plain decimal strings; only values that changed since the last tick are sent.
 *
 * Uses nothing but the Broker's public API (`stats`, `publish`), so it can run against any object offering both.
 */
import {readFileSync} from 'node:fs'
import type {BrokerStatsView} from './broker.js'
import type {StoredMessage} from './store/store.js'

/** The part of the Broker this module needs (`clientsTotal` is not published). */
export interface SysSource {
  readonly stats: Omit<BrokerStatsView, 'clientsTotal'>
  publish(message: StoredMessage): Promise<unknown>
}

type Stats = SysSource['stats']

/** Every published topic with how its value is computed, in publishing order. */
export const SYS_TOPICS: ReadonlyArray<readonly [topic: string, value: (s: Stats, now: number) => string]> = [
  ['$SYS/broker/uptime', (s, now) => `${Math.floor((now - s.startedAt) / 1000)} seconds`],
  ['$SYS/broker/clients/connected', (s) => String(s.clientsConnected)],
  // Connected plus disconnected clients whose session is kept.
  ['$SYS/broker/clients/total', (s) => String(s.sessions)],
  ['$SYS/broker/clients/disconnected', (s) => String(Math.max(0, s.sessions - s.clientsConnected))],
  ['$SYS/broker/clients/maximum', (s) => String(s.clientsMaximum)],
  // Every MQTT packet, and the PUBLISH packets among them.
  ['$SYS/broker/messages/received', (s) => String(s.messagesReceived)],
  ['$SYS/broker/messages/sent', (s) => String(s.messagesSent)],
  ['$SYS/broker/publish/messages/received', (s) => String(s.publishReceived)],
  ['$SYS/broker/publish/messages/sent', (s) => String(s.publishSent)],
  ['$SYS/broker/publish/messages/dropped', (s) => String(s.messagesDropped)],
  ['$SYS/broker/bytes/received', (s) => String(s.bytesReceived)],
  ['$SYS/broker/bytes/sent', (s) => String(s.bytesSent)],
  ['$SYS/broker/subscriptions/count', (s) => String(s.subscriptions)],
  ['$SYS/broker/retained messages/count', (s) => String(s.retained)],
  // mqttkit-only: messages waiting in session queues, unacknowledged QoS 1/2 deliveries, expired messages.
  ['$SYS/broker/messages/queued', (s) => String(s.queued)],
  ['$SYS/broker/messages/inflight', (s) => String(s.inflight)],
  ['$SYS/broker/messages/expired', (s) => String(s.messagesExpired)],
  // mqttkit-only: bytes queued past --max-queued under the queue budget, and how often publishers were paused.
  ['$SYS/broker/messages/queued-past-limit/bytes', (s) => String(s.queuedPastLimit)],
  ['$SYS/broker/publishers/paused', (s) => String(s.publisherPauses)],
  ['$SYS/broker/heap/current', () => String(process.memoryUsage().heapUsed)],
]

export const SYS_VERSION_TOPIC = '$SYS/broker/version'

let cachedVersion: string | undefined

/** mqttkit's version from package.json (one level above both src/ and dist/). */
export function sys__version(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: string}
      cachedVersion = pkg.version ?? 'unknown'
    } catch {
      cachedVersion = 'unknown'
    }
  }
  return cachedVersion
}

export class SysPublisher {
  private timer: NodeJS.Timeout | null = null
  private readonly last = new Map<string, string>()
  private running: Promise<void> | null = null

  constructor(
    private readonly broker: SysSource,
    /** Seconds between updates. */
    readonly interval: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Publishes the version and every value now, then the changed values every interval. */
  start(): void {
    if (this.timer !== null || this.interval <= 0) return
    this.send(SYS_VERSION_TOPIC, `mqttkit version ${sys__version()}`)
    this.running = this.tick()
    this.timer = setInterval(() => {
      // A tick still running (a slow onPublish hook) is not overtaken: skip this one.
      if (this.running === null) this.running = this.tick()
    }, this.interval * 1000)
    // $SYS must never keep a process alive that would otherwise exit.
    this.timer.unref()
  }

  /** Stops the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    await this.running
  }

  /** Publishes every value that changed since the last tick. */
  async tick(): Promise<void> {
    try {
      const stats = this.broker.stats
      const now = Date.now()
      const sends: Array<Promise<void>> = []
      for (const [topic, value] of SYS_TOPICS) {
        const text = value(stats, now)
        if (this.last.get(topic) === text) continue
        this.last.set(topic, text)
        sends.push(this.send(topic, text))
      }
      await Promise.all(sends)
    } finally {
      this.running = null
    }
  }

  private send(topic: string, text: string): Promise<void> {
    return this.broker
      .publish({topic, payload: Buffer.from(text), qos: 0, retain: true})
      .then(
        () => {},
        (error: unknown) => this.onError(error),
      )
  }
}
