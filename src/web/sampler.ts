/**
 * One sample of the broker's counters a second, kept for five minutes: rates for GET /stats, history for the
 * page's charts, and the live stream (GET /events). Reads `broker.stats` (one pass over the sessions) once a second
 * whether or not anyone watches, so an open dashboard adds nothing to the broker's own work.
 */
import {EventEmitter} from 'node:events'
import type {Broker} from '../broker/broker.js'

export interface Sample {
  /** ms since the epoch. */
  t: number
  connections: number
  sessions: number
  subscriptions: number
  retained: number
  queued: number
  inflight: number
  /** PUBLISH packets per second, in from clients and out to them. */
  messagesInRate: number
  messagesOutRate: number
  bytesInRate: number
  bytesOutRate: number
}

const KEEP = 300

export class StatsSampler extends EventEmitter {
  readonly history: Sample[] = []
  private timer: NodeJS.Timeout | undefined
  private last: {t: number; in: number; out: number; bytesIn: number; bytesOut: number} | undefined

  constructor(
    private readonly broker: Broker,
    private readonly intervalMs = 1000,
  ) {
    super()
    this.setMaxListeners(0)
  }

  start(): void {
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  get latest(): Sample | undefined {
    return this.history[this.history.length - 1]
  }

  private sample(): void {
    const s = this.broker.stats
    const t = Date.now()
    const now = {t, in: s.publishReceived, out: s.publishSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent}
    const last = this.last ?? now
    const seconds = Math.max((t - last.t) / 1000, 0.001)
    const rate = (a: number, b: number) => (this.last === undefined ? 0 : Math.round((a - b) / seconds))
    const sample: Sample = {
      t,
      connections: s.clientsConnected,
      sessions: s.sessions,
      subscriptions: s.subscriptions,
      retained: s.retained,
      queued: s.queued,
      inflight: s.inflight,
      messagesInRate: rate(now.in, last.in),
      messagesOutRate: rate(now.out, last.out),
      bytesInRate: rate(now.bytesIn, last.bytesIn),
      bytesOutRate: rate(now.bytesOut, last.bytesOut),
    }
    this.last = now
    this.history.push(sample)
    if (this.history.length > KEEP) this.history.shift()
    this.emit('sample', sample)
  }
}
