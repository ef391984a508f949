/**
 * `pub --simulate`'s engine: N devices, each on its own MQTT connection (or all on one), each sending its source's
 * messages when they are due. The schedule is absolute (message n at start + dueMs(n)), so a late timer is caught
 * up at once and the rate holds over a run instead of drifting by the timer's lateness on every message.
 */
import type {MqttClient} from 'mqtt'
import {client__close, client__connect, type ConnectOptions} from '../connect.js'
import {ClientError, ExitCode, client__explainError, client__reasonText} from '../errors.js'
import type {ClientSettings, ProtocolVersion} from '../options.js'
import type {DeviceSource} from './sources.js'

export interface SimulatePlan {
  sources: DeviceSource[]
  qos: 0 | 1 | 2
  retain: boolean
  /** Messages per device (--count). */
  count?: number
  /** Nothing due at or after this is sent (--duration). */
  durationMs?: number
  /** Ctrl-C: stop sending, report what was done. */
  signal: AbortSignal
}

export type SimulateStop = 'count' | 'duration' | 'interrupted' | 'end'

export interface SimulateStats {
  devices: number
  connected: number
  messages: number
  /** Acknowledged (QoS 1/2) or written to the socket (QoS 0). */
  completed: number
  bytes: number
}

export interface SimulateResult extends SimulateStats {
  elapsedMs: number
  stoppedBy: SimulateStop
  /** The largest delay of a message behind its schedule, ms (how well the rate held). */
  maxLagMs: number
}

export interface SimulateConnections {
  clients: MqttClient[]
  version: ProtocolVersion
}

/** Messages one device sends in one go when it is behind its schedule. */
const maxBurst = 1000

/** At most this many CONNECTs in flight, so 1,000 devices do not hit the broker (or its rate limit) at once. */
const connectBatch = 25

/**
 * One connection per device (client ids `<id>-1`, `<id>-2`, … when there are several), or one for all with
 * `shared`. `progress` hears the count of connected devices.
 */
export async function simulate__connect(
  settings: ClientSettings,
  devices: number,
  shared: boolean,
  options: ConnectOptions,
  progress: (connected: number) => void,
): Promise<SimulateConnections> {
  const count = shared ? 1 : devices
  const clients: MqttClient[] = []
  let version: ProtocolVersion = settings.protocolVersion
  try {
    for (let from = 0; from < count; from += connectBatch) {
      const batch = Array.from({length: Math.min(connectBatch, count - from)}, (_, k) => {
        const clientId = count === 1 ? settings.clientId : `${settings.clientId}-${from + k + 1}`
        return client__connect({...settings, clientId}, options)
      })
      const settled = await Promise.allSettled(batch)
      for (const s of settled) if (s.status === 'fulfilled') clients.push(s.value.client)
      const failed = settled.find((s) => s.status === 'rejected')
      if (failed) throw (failed as PromiseRejectedResult).reason
      version = (settled[0] as PromiseFulfilledResult<{version: ProtocolVersion}>).value.version
      progress(shared ? devices : clients.length)
    }
  } catch (error) {
    for (const c of clients) c.end(true)
    throw error
  }
  return {clients, version}
}

export async function simulate__run(
  connections: SimulateConnections,
  plan: SimulatePlan,
  where: string,
  stats: SimulateStats,
): Promise<SimulateResult> {
  const {clients, version} = connections
  const shared = clients.length === 1
  let stoppedBy: SimulateStop | undefined
  let failure: ClientError | undefined
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    finish = resolve
  })
  const timers = new Set<NodeJS.Timeout>()
  const stop = (reason: SimulateStop): void => {
    if (stoppedBy !== undefined) return
    stoppedBy = reason
    for (const t of timers) clearTimeout(t)
    timers.clear()
    finish()
  }
  let disconnectReason = ''
  const onDisconnect = (packet: {reasonCode?: number}): void => {
    disconnectReason = ` (broker sent DISCONNECT: ${client__reasonText(packet.reasonCode ?? 0, version)})`
  }
  const onClose = (): void => {
    failure ??= new ClientError(`connection to ${where} lost${disconnectReason}`, ExitCode.network)
    stop('interrupted')
  }
  const onError = (error: Error): void => {
    failure ??= client__explainError(error, where, version)
    stop('interrupted')
  }
  for (const c of clients) {
    c.on('disconnect', onDisconnect)
    c.on('close', onClose)
    c.on('error', onError)
  }
  const onAbort = (): void => stop('interrupted')
  plan.signal.addEventListener('abort', onAbort)

  let inflight = 0
  let drained: (() => void) | undefined
  const acked = (error?: Error | null): void => {
    inflight -= 1
    if (error === undefined || error === null) stats.completed += 1
    if (inflight === 0) drained?.()
  }
  let maxLagMs = 0
  let active = plan.sources.length
  const start = performance.now()

  const pump = (device: number): void => {
    const source = plan.sources[device]!
    const client = clients[shared ? 0 : device]!
    let n = sent[device]!
    for (let burst = 0; ; burst++) {
      if (stoppedBy !== undefined) return
      // A device far behind (a rate the machine cannot keep, a broker reading slowly) catches up in slices, so
      // Ctrl-C, the duration's timer and the socket's writes still get their turn; with the socket's buffer full
      // it waits for it to drain instead of queueing without bound.
      const stream = (client as unknown as {stream?: NodeJS.WritableStream & {writableNeedDrain?: boolean}}).stream
      if (stream?.writableNeedDrain === true) {
        stream.once('drain', () => pump(device))
        return
      }
      if (burst === maxBurst) {
        setImmediate(() => pump(device))
        return
      }
      const due = source.dueMs(n)
      const ended: SimulateStop | undefined = due === undefined ? 'end'
        : plan.count !== undefined && n >= plan.count ? 'count'
        : plan.durationMs !== undefined && due >= plan.durationMs ? 'duration'
        : undefined
      if (ended !== undefined || due === undefined) {
        active -= 1
        // A device past --duration waits for the duration's timer, so the run lasts the time asked for.
        if (active === 0 && ended !== 'duration') stop(ended ?? 'end')
        return
      }
      const now = performance.now() - start
      if (due > now) {
        const timer = setTimeout(() => {
          timers.delete(timer)
          pump(device)
        }, due - now)
        timers.add(timer)
        return
      }
      maxLagMs = Math.max(maxLagMs, now - due)
      const {topic, payload} = source.message(n, Date.now())
      n += 1
      sent[device] = n
      inflight += 1
      stats.messages += 1
      stats.bytes += payload.length
      client.publish(topic, payload, {qos: plan.qos, retain: plan.retain}, acked)
    }
  }
  const sent = plan.sources.map(() => 0)
  for (let d = 0; d < plan.sources.length; d++) pump(d)
  // --duration ends the run at its time even if the last messages were due just before it.
  if (plan.durationMs !== undefined && stoppedBy === undefined) {
    const timer = setTimeout(() => stop('duration'), plan.durationMs)
    timers.add(timer)
  }

  try {
    await finished
    const elapsedMs = performance.now() - start
    if (failure) throw failure
    // QoS 1/2 acknowledgements still on their way: wait for them, but not forever.
    if (inflight > 0) {
      await new Promise<void>((resolve) => {
        const bound = setTimeout(resolve, 10_000)
        drained = () => {
          clearTimeout(bound)
          resolve()
        }
      })
    }
    for (const c of clients) {
      c.removeListener('disconnect', onDisconnect)
      c.removeListener('close', onClose)
      c.removeListener('error', onError)
      c.on('error', () => {})
    }
    await Promise.all(clients.map((c) => client__close(c)))
    return {...stats, elapsedMs, stoppedBy: stoppedBy ?? 'interrupted', maxLagMs}
  } finally {
    plan.signal.removeEventListener('abort', onAbort)
    for (const c of clients) {
      c.removeListener('close', onClose)
      c.removeListener('error', onError)
      // A socket torn down here may still report an error: it adds nothing to what was already reported.
      c.on('error', () => {})
      if (!c.disconnected) c.end(true)
    }
  }
}
