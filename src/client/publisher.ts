/**
 * `pub`'s sending loop: messages in order, at most `window` unacknowledged at once (the broker's Receive Maximum,
 * capped), and done only when every QoS 1/2 message is acknowledged (QoS 0: written to the socket). A refused
 * acknowledgement or a lost connection ends the loop with the matching `ClientError`.
 */
import type {IConnackPacket, MqttClient} from 'mqtt'
import {ClientError, ExitCode, client__explainError, client__reasonText} from './errors.js'
import {payload__isUtf8} from './payload.js'
import type {PublishProperties} from './properties.js'

export interface PublishPlan {
  topic: string
  qos: 0 | 1 | 2
  retain: boolean
  /** MQTT 5 properties for every message (already empty on 3.1.1). */
  properties: PublishProperties
  payloads: AsyncIterable<Buffer>
  /** Pause between two messages, ms. */
  intervalMs: number
  /** Aborted by Ctrl-C: stop sending, report what was done. */
  signal: AbortSignal
}

export interface PublishResult {
  messages: number
  bytes: number
  /** Messages the broker acknowledged (QoS 1/2) or that were written (QoS 0). */
  completed: number
  interrupted: boolean
}

const maxWindow = 256

/**
 * Refuses (exit 3) what the CONNACK says the broker will not take, before anything is sent: a topic alias above
 * its Topic Alias Maximum, a QoS above its Maximum QoS, retain when Retain Available is false.
 */
export function publisher__checkLimits(plan: PublishPlan, connack: IConnackPacket): void {
  const caps = connack.properties ?? {}
  const alias = plan.properties.topicAlias
  if (alias !== undefined && alias > (caps.topicAliasMaximum ?? 0)) {
    throw new ClientError(
      `--topic-alias ${alias} is above the broker's Topic Alias Maximum (${caps.topicAliasMaximum ?? 0})`,
      ExitCode.refused,
    )
  }
  if (caps.maximumQoS !== undefined && plan.qos > caps.maximumQoS) {
    throw new ClientError(`the broker accepts QoS up to ${caps.maximumQoS}, not ${plan.qos}`, ExitCode.refused)
  }
  if (caps.retainAvailable === false && plan.retain) {
    throw new ClientError('the broker does not support retained messages', ExitCode.refused)
  }
}

export async function publisher__run(
  client: MqttClient,
  plan: PublishPlan,
  where: string,
  receiveMaximum: number | undefined,
  version: number,
): Promise<PublishResult> {
  const window = Math.max(1, Math.min(receiveMaximum ?? maxWindow, maxWindow))
  const result: PublishResult = {messages: 0, bytes: 0, completed: 0, interrupted: false}
  let inflight = 0
  let failure: ClientError | undefined
  // One waiter at a time: the loop waits either for room in the window or, at the end, for the last ack.
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  let disconnectReason = ''
  const lost = (): ClientError =>
    new ClientError(
      `connection to ${where} lost${disconnectReason} with ${inflight} message(s) not acknowledged`,
      ExitCode.network,
    )
  const onDisconnect = (packet: {reasonCode?: number}): void => {
    disconnectReason = ` (broker sent DISCONNECT: ${client__reasonText(packet.reasonCode ?? 0, version)})`
  }
  const onClose = (): void => {
    failure ??= lost()
    notify()
  }
  const onError = (error: Error): void => {
    failure ??= client__explainError(error, where, version)
    notify()
  }
  const onAbort = (): void => {
    result.interrupted = true
    notify()
  }
  client.on('disconnect', onDisconnect)
  client.on('close', onClose)
  client.on('error', onError)
  plan.signal.addEventListener('abort', onAbort)

  const acked = (error?: Error | null): void => {
    inflight -= 1
    if (error === undefined || error === null) result.completed += 1
    else {
      const code = (error as {code?: unknown}).code
      failure ??=
        typeof code === 'number'
          ? new ClientError(`${where} refused the message on "${plan.topic}": ${client__reasonText(code, version)}`, ExitCode.refused)
          : client.connected
            ? client__explainError(error, where, version)
            : lost()
    }
    notify()
  }
  const waitFor = (done: () => boolean): Promise<void> | undefined =>
    done() ? undefined : new Promise<void>((resolve) => {
      wake = resolve
    }).then(() => waitFor(done))
  const stopped = (): boolean => failure !== undefined || plan.signal.aborted

  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        plan.signal.removeEventListener('abort', done)
        resolve()
      }
      plan.signal.addEventListener('abort', done)
    })

  const sendAll = async (): Promise<void> => {
    const alias = plan.properties.topicAlias
    for await (const payload of plan.payloads) {
      if (stopped()) return
      if (plan.properties.payloadFormatIndicator === true && !payload__isUtf8(payload)) {
        throw new ClientError(
          `message ${result.messages + 1} is not UTF-8 but --payload-format-indicator says it is`,
          ExitCode.usage,
        )
      }
      await waitFor(() => inflight < window || stopped())
      if (stopped()) return
      // With a topic alias, the first message maps alias → topic; the next ones send only the alias.
      const topic = alias !== undefined && result.messages > 0 ? '' : plan.topic
      inflight += 1
      result.messages += 1
      result.bytes += payload.length
      client.publish(topic, payload, {qos: plan.qos, retain: plan.retain, properties: plan.properties}, acked)
      if (plan.intervalMs > 0) await pause(plan.intervalMs)
    }
  }

  try {
    try {
      await sendAll()
    } catch (error) {
      // Ctrl-C destroys stdin under `-l`: the reader's premature-close error is the interruption itself.
      if (!plan.signal.aborted) throw error
    }
    await waitFor(() => inflight === 0 || failure !== undefined || plan.signal.aborted)
    if (failure) throw failure
    return result
  } finally {
    client.removeListener('disconnect', onDisconnect)
    client.removeListener('close', onClose)
    client.removeListener('error', onError)
    plan.signal.removeEventListener('abort', onAbort)
  }
}
