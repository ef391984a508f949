/** Shared helpers for the broker feature tests: a broker on an ephemeral port, mqtt.js clients, raw sockets. */
import net from 'node:net'
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import mqttPacket, {type Packet} from 'mqtt-packet'
import {Broker, type BrokerOptions} from '../../src/broker/broker.js'

export interface TestBroker {
  broker: Broker
  port: number
  url: string
}

const open: Array<{close(): unknown}> = []

/** A broker on 127.0.0.1:0, silent unless told otherwise. Close it with `cleanup()`. */
export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const broker = new Broker({logLevel: 'silent', sysInterval: 0, listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}], ...options})
  const [listener] = await broker.listen()
  open.push(broker)
  const port = listener!.address.port
  return {broker, port, url: `mqtt://127.0.0.1:${port}`}
}

/** An mqtt.js client connected (resolves on 'connect'); no reconnects unless asked. */
export function connect(port: number, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options})
  open.push({close: () => client.end(true)})
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', reject)
    client.once('close', () => reject(new Error('closed before CONNACK')))
  })
}

/** A connection attempt the broker must refuse: resolves with CONNACK's reason code (v5) / return code (3.1.1). */
export function connectRefusal(port: number, options: IClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options})
    client.once('connect', () => {
      client.end(true)
      reject(new Error('connection was accepted'))
    })
    client.once('error', (error: Error & {code?: number}) => {
      client.end(true)
      resolve(error.code ?? -1)
    })
  })
}

export interface Received {
  topic: string
  payload: Buffer
  packet: mqtt.IPublishPacket
}

/**
 * Connects and records every message from the first packet on: a resumed session's queued messages arrive right
 * after CONNACK, before a listener attached after `await connect()` could see them.
 */
export async function connectRecording(port: number, options: IClientOptions = {}): Promise<{client: MqttClient; received: Received[]}> {
  const received: Received[] = []
  const client = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options})
  open.push({close: () => client.end(true)})
  client.on('message', (topic, payload, packet) => received.push({topic, payload, packet}))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return {client, received}
}

/** Waits until `list` holds at least `n` entries. */
export async function waitForCount<T>(list: T[], n: number, timeout = 3000): Promise<T[]> {
  const deadline = Date.now() + timeout
  while (list.length < n) {
    if (Date.now() > deadline) throw new Error(`timed out with ${list.length}/${n}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return list
}

/** Resolves with the next `n` messages a client receives. */
export function nextMessages(client: MqttClient, n = 1, timeout = 3000): Promise<Array<{topic: string; payload: Buffer; packet: mqtt.IPublishPacket}>> {
  return new Promise((resolve, reject) => {
    const got: Array<{topic: string; payload: Buffer; packet: mqtt.IPublishPacket}> = []
    const timer = setTimeout(() => {
      client.off('message', on)
      reject(new Error(`timed out with ${got.length}/${n} messages`))
    }, timeout)
    const on = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      got.push({topic, payload, packet})
      if (got.length === n) {
        clearTimeout(timer)
        client.off('message', on)
        resolve(got)
      }
    }
    client.on('message', on)
  })
}

/** True when no message arrives within `ms`. */
export function noMessage(client: MqttClient, ms = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const on = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      client.off('message', on)
      resolve(true)
    }, ms)
    client.once('message', on)
  })
}

/** A raw socket speaking MQTT through mqtt-packet: send packets, await the ones the broker sends back. */
export class RawClient {
  readonly packets: Packet[] = []
  closed = false
  private waiters: Array<() => void> = []
  private readonly parser: ReturnType<typeof mqttPacket.parser>

  constructor(
    readonly socket: net.Socket,
    public version: 3 | 4 | 5 = 4,
  ) {
    this.parser = mqttPacket.parser({protocolVersion: version})
    this.parser.on('packet', (p) => {
      this.packets.push(p)
      this.wake()
    })
    socket.on('data', (d) => this.parser.parse(d))
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
    socket.on('error', () => {})
    open.push({close: () => socket.destroy()})
  }

  static async connect(port: number, version: 3 | 4 | 5 = 4): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new RawClient(socket, version)
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, {protocolVersion: this.version}))
  }

  write(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.from(bytes))
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Waits for (and removes) the first received packet of this type. */
  async next<T extends Packet['cmd']>(cmd: T, timeout = 3000): Promise<Extract<Packet, {cmd: T}>> {
    const deadline = Date.now() + timeout
    for (;;) {
      const i = this.packets.findIndex((p) => p.cmd === cmd)
      if (i >= 0) return this.packets.splice(i, 1)[0] as Extract<Packet, {cmd: T}>
      if (this.closed) throw new Error(`connection closed while waiting for ${cmd}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${cmd}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Resolves once the broker closed the socket (rejects after `timeout`). */
  async waitClosed(timeout = 3000): Promise<void> {
    const deadline = Date.now() + timeout
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('socket still open')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Sends CONNECT (clean, keepalive 60 unless given) and returns the CONNACK. */
  async handshake(connect: Partial<Extract<Packet, {cmd: 'connect'}>> = {}): Promise<Extract<Packet, {cmd: 'connack'}>> {
    this.send({
      cmd: 'connect',
      protocolId: this.version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.version,
      clientId: 'raw',
      clean: true,
      keepalive: 60,
      ...connect,
    } as Packet)
    return this.next('connack')
  }
}

/** Closes every broker, client and socket opened through these helpers. */
export async function cleanup(): Promise<void> {
  const list = open.splice(0)
  for (const item of list.reverse()) {
    try {
      await item.close()
    } catch {
      // already closed
    }
  }
}

/** Polls until `check()` is true (timers under a loaded CI machine fire late, never early). */
export async function until(check: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
