/**
 * `sub`'s receiving side: subscribe (with MQTT 5 subscription options), hand each message on, stop at -C, -W,
 * --retained-only's first live message or Ctrl-C, and clear retained messages for --remove-retained (waiting for
 * those clears to be acknowledged before returning).
 */
import type {IClientSubscribeOptions, MqttClient} from 'mqtt'
import {ClientError, ExitCode, client__reasonText} from './errors.js'
import type {Connection} from './connect.js'
import type {SubscribeProperties} from './properties.js'
import {record__fromPacket, type ReceivedMessage} from './record.js'

export interface SubscribePlan {
  filters: string[]
  qos: 0 | 1 | 2
  /** MQTT 5 subscription options (ignored before MQTT 5). */
  noLocal: boolean
  retainAsPublished: boolean
  retainHandling: 0 | 1 | 2
  properties: SubscribeProperties
  /** -C: stop after this many messages were handed on. */
  count?: number
  /** -W: stop after this many ms. */
  timeoutMs?: number
  /** -R: drop messages carrying the retain flag. */
  skipRetained: boolean
  /** --retained-only: hand on retained messages only, stop at the first live one. */
  retainedOnly: boolean
  /** --remove-retained: publish an empty retained message to every retained topic received. */
  removeRetained: boolean
  deliver: (message: ReceivedMessage) => void
  signal: AbortSignal
  /** False with --no-reconnect: a lost connection ends the run ('lost'). */
  reconnect: boolean
}

export type StopReason = 'count' | 'timeout' | 'interrupted' | 'live-message' | 'lost'

export interface SubscribeResult {
  /** Messages handed on to `deliver`. */
  delivered: number
  /** Messages received, skipped ones included. */
  received: number
  /** Retained messages cleared with --remove-retained. */
  cleared: number
  stoppedBy: StopReason
  granted: Grant[]
}

/** SUBSCRIBE and its SUBACK, one grant per filter (codes >= 0x80 are refusals). */
function subscribe(client: MqttClient, plan: SubscribePlan, version: number): Promise<Grant[]> {
  const options: IClientSubscribeOptions = {qos: plan.qos}
  if (version === 5) {
    options.nl = plan.noLocal
    options.rap = plan.retainAsPublished
    options.rh = plan.retainHandling
    if (Object.keys(plan.properties).length > 0) options.properties = plan.properties
  }
  return new Promise((resolve, reject) => {
    // The array form: mqtt.js takes SUBSCRIBE properties only from these options, not from per-topic ones.
    client.subscribe(plan.filters, options, (error, _granted, packet) => {
      // mqtt.js reports any refused filter as an error; the SUBACK it carries says which ones.
      const codes = (packet?.granted ?? []) as number[]
      if (codes.length === plan.filters.length) resolve(plan.filters.map((topic, i) => ({topic, qos: codes[i]!})))
      else reject(error ?? new Error('SUBACK without one code per filter'))
    })
  })
}

/** Checks SUBACK: a refused filter is a note while others work, an error when none does. */
export interface Grant {
  topic: string
  qos: number
}

function checkGrants(
  granted: Grant[],
  version: number,
  notice: (line: string) => void,
): Grant[] {
  const ok = granted.filter((g) => g.qos < 0x80)
  for (const g of granted) {
    if (g.qos >= 0x80) notice(`subscription to "${g.topic}" refused: ${client__reasonText(g.qos, version === 5 ? 5 : 4)}`)
  }
  if (ok.length === 0) {
    const reason = granted.length > 0 ? client__reasonText(granted[0].qos, version === 5 ? 5 : 4) : 'no grant'
    throw new ClientError(`the broker refused every subscription: ${reason}`, ExitCode.refused)
  }
  return ok
}

export async function subscriber__run(
  connection: Pick<Connection, 'client' | 'takeEarlyMessages'>,
  plan: SubscribePlan,
  version: number,
  notice: (line: string) => void,
): Promise<SubscribeResult> {
  const {client} = connection
  const result: SubscribeResult = {delivered: 0, received: 0, cleared: 0, stoppedBy: 'interrupted', granted: []}
  let pendingClears = 0
  let clearsSettled: (() => void) | undefined
  let finish: (reason: StopReason) => void = () => {}
  const stopped = new Promise<StopReason>((resolve) => {
    finish = resolve
  })
  let done = false
  const stop = (reason: StopReason): void => {
    if (done) return
    done = true
    result.stoppedBy = reason
    finish(reason)
  }

  const onMessage = (_topic: string, _payload: Buffer, packet: Parameters<typeof record__fromPacket>[0]): void => {
    if (done) return
    result.received += 1
    const message = record__fromPacket(packet, performance.timeOrigin + performance.now())
    if (plan.removeRetained && message.retain && message.payload.length > 0) {
      pendingClears += 1
      client.publish(message.topic, Buffer.alloc(0), {qos: 1, retain: true}, (error) => {
        pendingClears -= 1
        if (error) notice(`could not clear retained "${message.topic}": ${error.message}`)
        else result.cleared += 1
        if (pendingClears === 0) clearsSettled?.()
      })
    }
    if (plan.retainedOnly && !message.retain) return stop('live-message')
    if (plan.skipRetained && message.retain) return
    result.delivered += 1
    plan.deliver(message)
    if (plan.count !== undefined && result.delivered >= plan.count) stop('count')
  }
  // Listen before subscribing: retained messages arrive in the same read as the SUBACK, before any await resumes;
  // a resumed session's queue may even come with the CONNACK, which connect.ts kept for us.
  client.on('message', onMessage)
  for (const packet of connection.takeEarlyMessages()) onMessage(packet.topic, packet.payload as Buffer, packet)
  const onClose = (): void => {
    if (!plan.reconnect) stop('lost')
  }
  client.on('close', onClose)
  const onAbort = (): void => stop('interrupted')
  plan.signal.addEventListener('abort', onAbort)
  let timer: NodeJS.Timeout | undefined
  try {
    try {
      result.granted = checkGrants(await subscribe(client, plan, version), version, notice)
    } catch (error) {
      if (error instanceof ClientError) throw error
      throw new ClientError(`subscribe failed: ${(error as Error).message}`, ExitCode.network, {cause: error})
    }
    if (plan.timeoutMs !== undefined && !done) timer = setTimeout(() => stop('timeout'), plan.timeoutMs)
    await stopped
    // Clears in flight must be acknowledged, or --remove-retained would leave some behind; a broker that went away
    // for good must not hold the exit forever, hence the bound.
    if (pendingClears > 0) {
      await new Promise<void>((resolve) => {
        const bound = setTimeout(resolve, 10_000)
        clearsSettled = () => {
          clearTimeout(bound)
          resolve()
        }
      })
      if (pendingClears > 0) notice(`${pendingClears} retained message(s) not confirmed cleared`)
    }
    return result
  } finally {
    clearTimeout(timer)
    client.removeListener('message', onMessage)
    client.removeListener('close', onClose)
    plan.signal.removeEventListener('abort', onAbort)
  }
}
