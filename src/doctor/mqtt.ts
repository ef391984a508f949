// The doctor's MQTT client steps, on mqtt.js: connect once (no reconnect loop, so a refusal is reported, not
// retried forever), subscribe and wait for a message, all with hard time limits.
import mqtt from 'mqtt'
import type {IClientOptions, IConnackPacket, IDisconnectPacket, IPublishPacket, MqttClient, Packet} from 'mqtt'

export interface ConnectOutcome {
  client?: MqttClient
  connack?: IConnackPacket
  /** Reason code (MQTT 5) or return code (3.1.1) of a refusing CONNACK. */
  reasonCode?: number
  error?: Error & {code?: string | number}
  ms: number
}

export function mqtt__connect(options: IClientOptions, timeoutMs: number): Promise<ConnectOutcome> {
  const started = performance.now()
  return new Promise((resolve) => {
    const client = mqtt.connect({
      clean: true,
      clientId: `mqttkit-doctor-${Math.random().toString(16).slice(2, 10)}`,
      ...options,
      // One attempt, bounded by doctor's own --timeout whatever the shared flags asked for.
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    })
    let settled = false
    const finish = (out: Omit<ConnectOutcome, 'ms'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // Only our own listeners: mqtt.js listens to its own 'connect' to flush its queue.
      client.removeListener('connect', onConnect)
      client.removeListener('packetreceive', onPacket)
      if (!out.client) client.end(true)
      // Errors after the outcome (a late socket reset) must not crash the process.
      client.on('error', () => {})
      resolve({...out, ms: performance.now() - started})
    }
    const timer = setTimeout(() => finish({error: Object.assign(new Error(`no CONNACK within ${timeoutMs} ms`), {code: 'CONNACK_TIMEOUT'})}), timeoutMs + 200)
    const onConnect = (connack: IConnackPacket) => finish({client, connack})
    const onPacket = (packet: Packet) => {
      if (packet.cmd !== 'connack') return
      const rc = options.protocolVersion === 5 ? packet.reasonCode : packet.returnCode
      if (rc && rc > 0) finish({connack: packet, reasonCode: rc})
    }
    client.once('connect', onConnect)
    client.on('packetreceive', onPacket)
    client.once('error', (error: Error & {code?: string | number}) => {
      // mqtt.js reports its own connectTimeout as a plain Error; give it the code our callers test for.
      if (error.code === undefined && /connack timeout/i.test(error.message)) error.code = 'CONNACK_TIMEOUT'
      finish({error})
    })
    client.once('close', () => finish({error: Object.assign(new Error('the server closed the connection before CONNACK'), {code: 'CLOSED'})}))
  })
}

/** Ends a client politely (DISCONNECT), but never waits longer than a moment. */
export function mqtt__end(client: MqttClient | undefined, disconnect: Partial<IDisconnectPacket> = {}): Promise<void> {
  if (!client) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      client.end(true)
      resolve()
    }, 500)
    client.end(false, disconnect, () => {
      clearTimeout(t)
      resolve()
    })
  })
}

export interface SubscribeOutcome {
  /** Granted QoS or failure reason code per filter. */
  granted: number[]
  error?: Error & {code?: number}
}

export function mqtt__subscribe(client: MqttClient, filters: Record<string, {qos: 0 | 1 | 2}>, timeoutMs: number): Promise<SubscribeOutcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({granted: [], error: new Error(`no SUBACK within ${timeoutMs} ms`)}), timeoutMs)
    client.subscribe(filters, (error, granted) => {
      clearTimeout(timer)
      resolve({granted: (granted ?? []).map((g) => g.qos), error: (error ?? undefined) as SubscribeOutcome['error']})
    })
  })
}

/** Resolves with the first message on `topic` (exact match) or undefined after `timeoutMs`. */
export function mqtt__nextMessage(client: MqttClient, topic: string, timeoutMs: number): Promise<IPublishPacket | undefined> {
  return new Promise((resolve) => {
    const onMessage = (t: string, _payload: Buffer, packet: IPublishPacket) => {
      if (t !== topic) return
      clearTimeout(timer)
      client.removeListener('message', onMessage)
      resolve(packet)
    }
    const timer = setTimeout(() => {
      client.removeListener('message', onMessage)
      resolve(undefined)
    }, timeoutMs)
    client.on('message', onMessage)
  })
}

export function mqtt__publish(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  opts: {qos: 0 | 1 | 2; retain?: boolean},
  timeoutMs: number,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new Error(`no acknowledgement within ${timeoutMs} ms`)), timeoutMs)
    client.publish(topic, payload, opts, (error) => {
      clearTimeout(timer)
      resolve(error ?? undefined)
    })
  })
}
