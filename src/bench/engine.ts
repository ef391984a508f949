/**
 * Runs one scenario's share of clients in this process: connect (at `--connect-rate`), subscribe, then on `go`
 * publish for the duration or count, drain the last deliveries, close, and hand back a PartialResult. Workers run
 * the same engine (worker.ts) and the parent merges their partials (merge.ts).
 */
import type {Histogram} from 'hdr-histogram-js'
import {DeliveryGroup, SubscriberTally} from './accounting.js'
import {backlog__marks, backlog__watchLocal, backlog__watchRemote} from './backlog.js'
import {BenchClient, type ClientHandler} from './client.js'
import {Timeline, count__add, histogram__create, histogram__encode, histogram__recordMs} from './metrics.js'
import {type HeaderView, now, payload__read} from './payload.js'
import {Publisher} from './publisher.js'
import {topic__expand, topic__matches, topic__splitShare} from './topic.js'
import type {BenchSpec, PartialResult, StopReason} from './types.js'

export interface Progress {
  elapsedMs: number
  phase: 'connecting' | 'running' | 'draining' | 'done'
  connected: number
  failed: number
  published: number
  received: number
  delivered: number
}

type Role = 'sub' | 'pub' | 'conn'
const DRAIN_LIMIT_MS = 60_000
interface Owner {
  role: Role
  publisher?: Publisher
  tally?: SubscriberTally
}

export class Engine implements ClientHandler {
  private readonly clients: BenchClient[] = []
  private readonly publishers: Publisher[] = []
  private readonly groups = new Map<string, DeliveryGroup>()
  private readonly remoteMarks = new Map<number, {maxSeq: number}>()
  private readonly latency: Histogram = histogram__create()
  private readonly ackLatency: Histogram = histogram__create()
  private readonly connectLatency: Histogram = histogram__create()
  private readonly connectFailures: Record<string, number> = {}
  private readonly disconnects: Record<string, number> = {}
  private readonly header: HeaderView = {time: 0, publisher: 0, seq: 0}
  private pubTimeline: Timeline = new Timeline(now())
  private recvTimeline: Timeline = new Timeline(now())
  private phase: Progress['phase'] = 'connecting'
  private startedAt = now()
  private measureStart = 0
  private attempts = 0
  private connected = 0
  private failed = 0
  private published = 0
  private acked = 0
  private received = 0
  private delivered = 0
  private foreign = 0
  private lastReceiveAt = 0
  private scheduled = false
  private stopReason: StopReason | null = null
  private wake: (() => void) | null = null
  private pendingConnects = 0
  private subscribed = 0

  constructor(private readonly spec: BenchSpec) {}

  progress(): Progress {
    return {
      elapsedMs: now() - (this.measureStart || this.startedAt),
      phase: this.phase,
      connected: this.connected,
      failed: this.failed,
      published: this.published,
      received: this.received,
      delivered: this.delivered,
    }
  }

  /**
   * Ends the current phase. The duration (or a count) ends the measured phase only: the drain that follows still
   * waits for the deliveries in flight, or they would be counted as lost. Ctrl-C ('interrupt', which may also come
   * during the drain) skips the drain too, and the result says it is partial.
   */
  stop(reason: StopReason = 'interrupt'): void {
    if (!this.stopReason || reason === 'interrupt') this.stopReason = reason
    this.wake?.()
  }

  /** Whether waiting should end now: any stop in the measured phase, only an interrupt in the drain. */
  private halted(): boolean {
    return this.stopReason === 'interrupt' || (this.stopReason !== null && this.phase !== 'draining')
  }

  /** Connects subscribers (and subscribes them), then publishers or the `conn` clients. */
  async prepare(): Promise<void> {
    const s = this.spec
    if (s.scenario === 'conn') return // conn measures the connecting itself, in run()
    for (let i = 0; i < s.subscribers; i++) this.clients.push(this.client('sub', s.subBase + i))
    await this.connectAll(this.clients.slice())
    const subs = this.clients.filter((c) => c.connected)
    for (const c of subs) c.subscribe(topic__expand(s.filter, c.index), s.subQos)
    await this.until(() => this.subscribed >= subs.filter((c) => c.connected).length, s.connectTimeout)
    const pubs: BenchClient[] = []
    for (let i = 0; i < s.publishers; i++) pubs.push(this.client('pub', s.pubBase + i))
    this.clients.push(...pubs)
    await this.connectAll(pubs)
    this.watchBacklog()
  }

  /** Closed loop for `run` (see BenchSpec.backlog and backlog.ts). */
  private watchBacklog(): void {
    const s = this.spec
    if (s.scenario !== 'run' || s.backlog <= 0) return
    if (s.sharedBacklog) backlog__watchRemote(this.publishers, this.remoteMarks)
    else backlog__watchLocal(this.groups.values(), this.publishers)
  }

  /** Workers: per publisher these subscribers expect, the highest sequence the slowest of them saw: [p, seq, …]. */
  backlogMarks(): number[] {
    return backlog__marks(this.groups.values())
  }

  /** Workers: the parent's merged marks for this process's publishers ([p, seq, …]; Infinity: nobody expects p). */
  applyMarks(marks: number[]): void {
    for (let i = 0; i < marks.length; i += 2) {
      const mark = this.remoteMarks.get(marks[i]!)
      if (mark) mark.maxSeq = marks[i + 1]!
    }
    if (this.spec.rate === 0) this.kick()
  }

  /** The measured phase; `startAt` lets workers start together. */
  async run(startAt = now()): Promise<PartialResult> {
    const s = this.spec
    const wait = startAt - now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    this.measureStart = now()
    const cpuStart = process.cpuUsage()
    this.pubTimeline = new Timeline(this.measureStart)
    this.recvTimeline = new Timeline(this.measureStart)
    this.phase = 'running'
    const deadline = this.measureStart + s.duration * 1000
    const timer = setTimeout(() => this.stop('duration'), s.duration * 1000)
    let measuredMs: number
    if (s.scenario === 'conn') {
      const clients: BenchClient[] = []
      for (let i = 0; i < s.clients; i++) clients.push(this.client('conn', s.clientBase + i))
      this.clients.push(...clients)
      await this.connectAll(clients)
      measuredMs = now() - this.measureStart
      await this.until(() => false, Math.min(s.hold * 1000, deadline - now()))
    } else if (s.scenario === 'sub') {
      await this.until(() => s.count > 0 && this.delivered >= s.count, deadline - now())
      measuredMs = now() - this.measureStart
    } else {
      this.kick()
      await this.until(() => this.publishers.every((p) => p.finished || !p.client.connected), deadline - now())
      measuredMs = now() - this.measureStart
      clearTimeout(timer) // the drain below is not part of the duration
      this.phase = 'draining'
      // Outstanding acks, then (run) the deliveries still on their way, each bounded by `--drain` of silence.
      await this.quiet(() => this.publishers.every((p) => p.inflight === 0 || !p.client.connected), () => this.acked)
      if (s.scenario === 'run') await this.quiet(() => this.allDelivered(), () => this.received)
    }
    clearTimeout(timer)
    const cpu = process.cpuUsage(cpuStart)
    this.phase = 'done'
    for (const c of this.clients) c.close()
    return {...this.partial(measuredMs), cpuMs: (cpu.user + cpu.system) / 1000, cpuWallMs: now() - this.measureStart}
  }

  private client(role: Role, index: number): BenchClient {
    const c = new BenchClient(this.spec.target, `${this.spec.target.clientIdPrefix}${role}-${index}`, index, this)
    const owner: Owner = {role}
    if (role === 'pub') {
      owner.publisher = new Publisher(c, index, this.spec)
      this.publishers.push(owner.publisher)
    } else if (role === 'sub') owner.tally = new SubscriberTally(this.groupFor(index))
    c.owner = owner
    return c
  }

  private groupFor(index: number): DeliveryGroup {
    const s = this.spec
    const {group, filter} = topic__splitShare(topic__expand(s.filter, index))
    const name = group ? `$share/${group}/${filter}` : `sub-${index}`
    let g = this.groups.get(name)
    if (!g) {
      let expected: number[] | null = null
      if (s.scenario === 'run') {
        expected = []
        for (let p = 0; p < s.totalPublishers; p++) if (topic__matches(filter, topic__expand(s.topic, p, 0))) expected.push(p)
      }
      g = new DeliveryGroup(name, expected)
      this.groups.set(name, g)
    }
    return g
  }

  /** Opens connections at `connectRate` per second with at most `connectConcurrency` handshakes pending. */
  private connectAll(clients: BenchClient[]): Promise<void> {
    const s = this.spec
    const begin = now()
    let next = 0
    let timer: NodeJS.Timeout | null = null
    return new Promise((resolve) => {
      const step = (): void => {
        if (timer) clearTimeout(timer)
        timer = null
        if (this.stopReason) next = clients.length
        const due = s.connectRate > 0 ? Math.floor((s.connectRate * (now() - begin)) / 1000) + 1 : clients.length
        while (next < clients.length && next < due && this.pendingConnects < s.connectConcurrency) {
          this.pendingConnects++
          this.attempts++
          clients[next++]!.connect(s.connectTimeout)
        }
        if (next >= clients.length && this.pendingConnects === 0) return resolve()
        this.wake = step
        if (s.connectRate > 0 && next < clients.length) timer = setTimeout(step, Math.max(1, 1000 / s.connectRate))
      }
      step()
    })
  }

  /** Resolves when `done()` holds (checked on every wake-up and every 50 ms) or after `ms`. */
  private until(done: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (done() || ms <= 0 || this.halted()) return resolve()
      const finish = (): void => {
        clearTimeout(timer)
        clearInterval(poll)
        this.wake = null
        resolve()
      }
      const check = (): void => {
        if (done() || this.halted()) finish()
      }
      const timer = setTimeout(finish, ms)
      const poll = setInterval(check, 50)
      this.wake = check
    })
  }

  /**
   * Waits while `progress()` keeps moving, until `done()`, `--drain` ms without progress, or a minute in all (an
   * overloaded broker can take long to empty its queues; the run stays bounded).
   */
  private async quiet(done: () => boolean, progress: () => number): Promise<void> {
    const until = now() + DRAIN_LIMIT_MS
    let last = -1
    while (!done() && !this.halted() && now() < until) {
      const value = progress()
      if (value === last) return
      last = value
      await this.until(done, Math.min(this.spec.drain, until - now()))
    }
  }

  private allDelivered(): boolean {
    for (const g of this.groups.values()) {
      if (g.subscribed === 0) continue
      let expected = 0
      let got = 0
      for (const p of g.expectedFrom ?? []) {
        const pub = this.publishers.find((x) => x.index === p)
        // Publishers of other workers: the parent's merge does the exact count; here wait for silence instead.
        if (!pub) return false
        expected += pub.sent
        got += g.publishers.get(p)?.received ?? 0
      }
      if (got < expected) return false
    }
    return true
  }

  // ---- the scheduler (see publisher.ts)

  private kick(): void {
    if (this.scheduled || this.phase !== 'running') return
    this.scheduled = true
    setImmediate(this.tick)
  }

  private readonly tick = (): void => {
    this.scheduled = false
    if (this.phase !== 'running' || this.stopReason) return
    const elapsed = now() - this.measureStart
    let wrote = false
    let finished = true
    for (const p of this.publishers) {
      if (!p.finished) finished = false
      const n = p.allowance(elapsed)
      if (n <= 0) continue
      const t = p.write(n)
      this.published += n
      this.pubTimeline.add(t, n)
      wrote = true
    }
    if (finished) return this.wake?.()
    if (this.spec.rate > 0) {
      const next = ((Math.floor((this.spec.rate * elapsed) / 1000) + 1) * 1000) / this.spec.rate - elapsed
      this.scheduled = true
      setTimeout(this.tick, Math.max(1, next))
    } else if (wrote) this.kick()
  }

  // ---- ClientHandler

  onConnect(client: BenchClient, latencyMs: number): void {
    this.pendingConnects--
    this.connected++
    histogram__recordMs(this.connectLatency, latencyMs)
    this.wake?.()
  }

  onConnectFail(client: BenchClient, reason: string): void {
    this.pendingConnects--
    this.failed++
    count__add(this.connectFailures, reason)
    this.wake?.()
  }

  onSubscribed(client: BenchClient, ok: boolean, reason: string): void {
    this.subscribed++
    if (ok) (client.owner as Owner).tally!.group.subscribed++
    else {
      count__add(this.connectFailures, reason)
      client.close()
    }
    this.wake?.()
  }

  onPublish(client: BenchClient, buf: Buffer, offset: number, end: number): void {
    const t = now()
    this.received++
    this.lastReceiveAt = t
    this.recvTimeline.add(t, 1)
    const h = this.header
    if (!payload__read(buf, offset, end, this.spec.scenario === 'sub' ? 0 : this.spec.runId, h)) {
      this.foreign++
      return
    }
    if ((client.owner as Owner).tally!.record(h.publisher, h.seq)) {
      this.delivered++
      histogram__recordMs(this.latency, t - h.time)
    }
    // Publishers held back by --backlog may go on (a no-op when a tick is already scheduled).
    if (this.spec.backlog > 0 && this.spec.rate === 0) this.kick()
  }

  onAck(client: BenchClient, id: number): void {
    const p = (client.owner as Owner).publisher
    if (!p) return
    const sentAt = p.acked(id)
    if (sentAt < 0) return
    this.acked++
    histogram__recordMs(this.ackLatency, now() - sentAt)
    if (this.spec.rate === 0) this.kick()
  }

  onWritable(): void {
    if (this.spec.rate === 0) this.kick()
  }

  onClose(client: BenchClient, reason: string): void {
    if (reason) count__add(this.disconnects, reason)
    this.wake?.()
  }

  private partial(measuredMs: number): Omit<PartialResult, 'cpuMs' | 'cpuWallMs'> {
    const sentByPublisher: Record<number, number> = {}
    for (const p of this.publishers) sentByPublisher[p.index] = p.sent
    const receiveSpan = this.lastReceiveAt > this.measureStart ? this.lastReceiveAt - this.measureStart : measuredMs
    return {
      startedAt: this.measureStart,
      elapsedMs: measuredMs,
      receiveMs: receiveSpan,
      partial: this.stopReason === 'interrupt',
      stoppedBy:
        this.stopReason ??
        (this.spec.scenario === 'conn' || (this.spec.count > 0 && this.publishers.every((p) => p.finished)) ? 'count' : 'duration'),
      connectAttempts: this.attempts,
      connected: this.connected,
      connectFailures: this.connectFailures,
      disconnects: this.disconnects,
      published: this.published,
      acked: this.acked,
      received: this.received,
      foreign: this.foreign,
      latency: histogram__encode(this.latency),
      ackLatency: histogram__encode(this.ackLatency),
      connectLatency: histogram__encode(this.connectLatency),
      timeline: {published: this.pubTimeline.counts, received: this.recvTimeline.counts},
      // A subscriber that never subscribed (connection or SUBACK failure, counted there) is not a loss of messages.
      groups: [...this.groups.values()].filter((g) => g.subscribed > 0).map((g) => g.toPartial()),
      sentByPublisher,
    }
  }
}
