/**
 * Opening a client connection the way every command wants it: an ora spinner on a terminal only, one clear error
 * per failure (errors.ts), the single MQTT 5 → 3.1.1 retry when the broker refuses the protocol version and the
 * user did not choose one, and (for long-running commands) reconnection with back-off reported on stderr.
 */
import mqtt, {type IConnackPacket, type IClientOptions, type IPublishPacket, type MqttClient, type Packet} from 'mqtt'
import {
  ClientError,
  ExitCode,
  client__explainError,
  client__isProtocolVersionRefusal,
  client__reasonText,
} from './errors.js'
import {client__mqttOptions, type ClientSettings, type ProtocolVersion} from './options.js'
import type {ConnectProperties, WillProperties} from './properties.js'
import {spinner__create, type Spinner} from './spinner.js'

export interface ConnectOptions {
  /** Show a spinner (the caller decides: a TTY on stderr and not --json). */
  spinner: boolean
  /** One line to stderr (warnings, fallback and reconnection notes). */
  notice: (line: string) => void
  connectProperties?: ConnectProperties
  willProperties?: WillProperties
  /** -d: every packet sent and received, as one line each. */
  debug?: (line: string) => void
}

export interface Connection {
  client: MqttClient
  connack: IConnackPacket
  /** The protocol version actually spoken (4 after a fallback). */
  version: ProtocolVersion
  /**
   * Messages that arrived with the CONNACK (a resumed session's queue), before the caller could listen. Calling it
   * stops the buffering: listen to 'message' in the same tick.
   */
  takeEarlyMessages(): IPublishPacket[]
}

function withProperties(options: IClientOptions, version: ProtocolVersion, opts: ConnectOptions): IClientOptions {
  if (version !== 5) return options
  if (opts.connectProperties && Object.keys(opts.connectProperties).length > 0) {
    options.properties = {...options.properties, ...opts.connectProperties}
  }
  if (options.will && opts.willProperties && Object.keys(opts.willProperties).length > 0) {
    options.will.properties = {...options.will.properties, ...opts.willProperties}
  }
  return options
}

/** One attempt: resolves on CONNACK success, rejects with the first error (the client is then closed). */
function attempt(options: IClientOptions, debug: ConnectOptions['debug']): Promise<Omit<Connection, 'version'>> {
  return new Promise((resolve, reject) => {
    // manualConnect: mqtt.js writes CONNECT inside its constructor otherwise, before -d could see it.
    const client = mqtt.connect({...options, manualConnect: true})
    if (debug) {
      client.on('packetsend', (packet) => debug(`sent     ${client__describePacket(packet)}`))
      client.on('packetreceive', (packet) => debug(`received ${client__describePacket(packet)}`))
    }
    const fail = (error: Error): void => {
      client.removeListener('connect', onConnect)
      // A failed socket may report more errors while closing: they add nothing to the first one.
      client.on('error', () => {})
      client.end(true)
      reject(error)
    }
    const early: IPublishPacket[] = []
    const buffer = (_topic: string, _payload: Buffer, packet: IPublishPacket): void => void early.push(packet)
    const onConnect = (connack: IConnackPacket): void => {
      client.removeListener('error', fail)
      client.on('message', buffer)
      const takeEarlyMessages = (): IPublishPacket[] => {
        client.removeListener('message', buffer)
        return early.splice(0)
      }
      resolve({client, connack, takeEarlyMessages})
    }
    client.once('connect', onConnect)
    client.once('error', fail)
    client.connect()
  })
}

export async function client__connect(settings: ClientSettings, opts: ConnectOptions): Promise<Connection> {
  const where = settings.target.display
  let spinner: Spinner | undefined
  if (opts.spinner) spinner = (await spinner__create({text: `Connecting to ${where}`, stream: process.stderr}, true)).start()
  let version = settings.protocolVersion
  try {
    for (;;) {
      try {
        const options = withProperties(client__mqttOptions(settings, {version}), version, opts)
        const connection = await attempt(options, opts.debug)
        spinner?.stop()
        return {...connection, version}
      } catch (error) {
        const code = (error as {code?: unknown}).code
        if (
          typeof code === 'number' &&
          version === 5 &&
          !settings.protocolVersionGiven &&
          client__isProtocolVersionRefusal(code)
        ) {
          spinner?.stop()
          opts.notice(`${where} refused MQTT 5 (${client__reasonText(code, 5)}); retrying once with MQTT 3.1.1`)
          spinner?.start()
          version = 4
          continue
        }
        if ((error as Error).message === 'connack timeout') {
          throw new ClientError(
            `timed out after ${settings.connectTimeoutMs / 1000}s waiting for ${where} to accept the connection`,
            ExitCode.timeout,
            {cause: error},
          )
        }
        throw client__explainError(error, where, version)
      }
    }
  } finally {
    spinner?.stop()
  }
}

/** `PUBLISH (d0, q1, r0, m3, 'a/b', ... (5 bytes))`, in the spirit of mosquitto's -d lines. */
export function client__describePacket(packet: Packet): string {
  const p = packet as Packet & Record<string, unknown>
  const name = packet.cmd.toUpperCase()
  switch (packet.cmd) {
    case 'connect':
      return `${name} (c${packet.clean ? 1 : 0}, k${packet.keepalive}, v${packet.protocolVersion}, id '${packet.clientId}')`
    case 'connack':
      return `${name} (session present ${packet.sessionPresent ? 1 : 0}, code ${packet.reasonCode ?? packet.returnCode ?? 0})`
    case 'publish':
      return `${name} (d${packet.dup ? 1 : 0}, q${packet.qos}, r${packet.retain ? 1 : 0}, m${packet.messageId ?? 0}, '${packet.topic}', ... (${packet.payload.length} bytes))`
    case 'subscribe':
      return `${name} (m${packet.messageId}, ${packet.subscriptions.map((s) => `'${s.topic}' q${s.qos}`).join(', ')})`
    case 'suback':
      return `${name} (m${packet.messageId}, granted ${JSON.stringify(packet.granted)})`
    default:
      return p.messageId === undefined ? name : `${name} (m${p.messageId}${p.reasonCode === undefined ? '' : `, code ${p.reasonCode}`})`
  }
}

const firstDelayMs = 1000
const maxDelayMs = 30_000

/**
 * Keeps `client` connected after its first CONNACK: reconnects after 1 s, doubling up to 30 s, back to 1 s after
 * each success; every step is one line on stderr. Errors while reconnecting are reported, never thrown.
 */
export function client__keepReconnecting(
  client: MqttClient,
  version: ProtocolVersion,
  notice: (line: string) => void,
  where: string,
): void {
  let delay = firstDelayMs
  client.options.reconnectPeriod = delay
  let down = false
  client.on('close', () => {
    if (client.disconnecting) return
    if (!down) notice(`connection to ${where} lost; reconnecting in ${delay / 1000}s`)
    down = true
  })
  client.on('reconnect', () => {
    // mqtt.js reads reconnectPeriod when it schedules the next attempt: this sets the wait after this one fails.
    delay = Math.min(delay * 2, maxDelayMs)
    client.options.reconnectPeriod = delay
    notice(`reconnecting to ${where}…`)
  })
  client.on('connect', () => {
    delay = firstDelayMs
    client.options.reconnectPeriod = delay
    if (down) notice(`reconnected to ${where}`)
    down = false
  })
  client.on('error', (error) => {
    notice(`${client__explainError(error, where, version).message}; next attempt in ${delay / 1000}s`)
  })
  client.on('disconnect', (packet) => {
    const code = packet.reasonCode ?? 0
    notice(`${where} sent DISCONNECT: ${client__reasonText(code, 5)}`)
  })
}

/** Closes gracefully (DISCONNECT, waits for the socket), giving up after `timeoutMs`. */
export function client__close(client: MqttClient, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.end(true)
      resolve()
    }, timeoutMs)
    client.end(false, {}, () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
