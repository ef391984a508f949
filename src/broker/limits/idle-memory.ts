/**
 * Gives memory back after a burst (issue 18 item 14). Under a storm of short-lived connections (garbage, scanners,
 * reconnect loops) V8 promotes each connection's objects to the old generation and lets it grow to several times
 * the live data before a major GC; the pages it then frees stay committed, so the broker's RSS stays at the peak
 * long after the storm (measured: +65–70 MB over idle 30 s after the storm, for ~25 MB of live heap; docs/benchmarks.md).
 *
 * Every 5 s this checks the V8 heap: when the old generation has grown by more than 32 MB since the start (or the
 * last release) and the broker has gone quiet (for two checks in a row, fewer packets in 5 s than a tenth of the
 * busiest 5 s since the last release, or under 50), it runs one full, compacting GC, which returns those pages to
 * the system. It never runs under load (a full GC stops the event loop for 0.1–0.7 s), and at most once per burst.
 * `releaseIdleMemory: false` turns it off for an embedding application that manages its own heap. V8's own memory
 * reducer did not give the pages back within 30 s of quiet in any of the measured runs.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import type {Logger} from '../logger.js'

const CHECK_MS = 5000
const SLACK_BYTES = 32 * 1_048_576
const QUIET_PACKETS = 50

let collect: (() => void) | null | undefined

/** A full GC function without --expose-gc on the command line: exposed for one new context only. */
function fullGc(): (() => void) | null {
  if (collect !== undefined) return collect
  try {
    v8.setFlagsFromString('--expose-gc')
    collect = vm.runInNewContext('gc') as () => void
  } catch {
    collect = null
  } finally {
    v8.setFlagsFromString('--no-expose-gc')
  }
  return collect
}

function oldSpaceSize(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_size ?? 0
}

export class IdleMemory {
  private timer: NodeJS.Timeout | null = null
  private lastPackets = 0
  private busiest = 0
  private quietChecks = 0
  /** The old generation's committed size at start or after the last release. */
  private floor = 0

  constructor(
    private readonly stats: {readonly messagesReceived: number},
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.lastPackets = this.stats.messagesReceived
    this.floor = oldSpaceSize()
    this.timer = setInterval(() => this.check(), CHECK_MS)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** @internal one check (the interval's body). */
  check(): void {
    const packets = this.stats.messagesReceived - this.lastPackets
    this.lastPackets = this.stats.messagesReceived
    if (packets > this.busiest) this.busiest = packets
    if (packets >= Math.max(QUIET_PACKETS, this.busiest / 10)) {
      this.quietChecks = 0
      return
    }
    // Quiet for two checks in a row: the storm's last connections are closed and unreferenced by then.
    if (++this.quietChecks < 2) return
    // The old generation only (the young one's semi-spaces stay committed by design), against its size after the
    // last release: what V8 counts as used includes garbage until its next major GC, so "unused" cannot be seen.
    if (oldSpaceSize() < this.floor + SLACK_BYTES) return
    const gc = fullGc()
    if (gc === null) return
    const started = Date.now()
    const before = v8.getHeapStatistics().total_heap_size
    // Compacting: a storm leaves a few live objects on most old pages, which a plain full GC would keep committed.
    v8.setFlagsFromString('--compact-on-every-full-gc')
    try {
      gc()
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc')
    }
    const after = v8.getHeapStatistics().total_heap_size
    this.floor = oldSpaceSize()
    this.busiest = 0
    this.logger.debug(`quiet after a burst: released ${Math.round((before - after) / 1_048_576)} MB of heap in ${Date.now() - started} ms`)
  }
}
