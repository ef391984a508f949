/** Shared by the crash and restart tests: the CLI broker on an SQLite file, mqtt.js clients, cleanup. */
import {type Socket, connect as netConnect} from 'node:net'
import {join} from 'node:path'
import mqtt, {type IClientOptions, type MqttClient} from 'mqtt'
import mqttPacket from 'mqtt-packet'
import {afterAll, afterEach} from 'vitest'
import {BrokerProcess} from './broker-process.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

const brokers: BrokerProcess[] = []
const clients: MqttClient[] = []
const raws: Socket[] = []

/** For afterEach: closes every client and kills every broker the test started. */
export async function crash__cleanup(): Promise<void> {
  for (const client of clients.splice(0)) client.end(true)
  for (const socket of raws.splice(0)) socket.destroy()
  for (const broker of brokers.splice(0)) await broker.kill9()
}

/** Call once at the top of a test file: every client and broker goes after each test, the SQLite files after all. */
export function crash__registerCleanup(): void {
  afterEach(crash__cleanup)
  afterAll(tmp__cleanup)
}

/** A path for a fresh SQLite file in a temporary directory (removed by the cleanup registered above). */
export function crash__dbPath(name: string): string {
  return join(tmp__dir(), name)
}

/** `mqttkit broker --store sqlite:DB ...extra` (on `port` to restart on the same address). */
export async function crash__start(db: string, port?: number, extra: string[] = []): Promise<BrokerProcess> {
  const broker = await BrokerProcess.start(['--store', `sqlite:${db}`, ...extra], port)
  brokers.push(broker)
  return broker
}

export async function crash__connect(broker: BrokerProcess, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {reconnectPeriod: 0, ...options})
  clients.push(client)
  return client
}

/** Leaves a subscription in a persistent session: connects with `options`, subscribes to `filter`, disconnects. */
export async function crash__subscribeOffline(broker: BrokerProcess, options: IClientOptions, filter: string, qos: 0 | 1 | 2): Promise<void> {
  const client = await crash__connect(broker, options)
  await client.subscribeAsync(filter, {qos})
  await client.endAsync()
}

/**
 * Returns once every change the broker made so far is committed to its store. SUBACK, CONNACK and DISCONNECT are
 * not held back for the store, only PUBACK/PUBREC are, and a PUBACK goes out only once every change made before
 * that PUBLISH is committed (docs/persistence.md): one QoS 1 PUBLISH from a fresh clean client is the barrier. A
 * test that kills the broker right after a SUBSCRIBE or a DISCONNECT calls this first, or it tests a race.
 */
export async function crash__committed(broker: BrokerProcess): Promise<void> {
  const client = await crash__connect(broker, {clientId: `barrier-${process.pid}`, clean: true})
  await client.publishAsync('barrier/commit', 'x', {qos: 1})
  await client.endAsync()
}

export interface Received {
  topic: string
  payload: string
  retain: boolean
  dup: boolean
}

/** Connects and collects every PUBLISH from the first packet on (the handler exists before CONNACK). */
export function crash__collect(broker: BrokerProcess, options: IClientOptions) {
  const received: Received[] = []
  const client = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, {reconnectPeriod: 0, ...options})
  clients.push(client)
  client.on('message', (topic, payload, packet) =>
    received.push({topic, payload: payload.toString(), retain: packet.retain, dup: packet.dup}),
  )
  const connack = new Promise<{sessionPresent: boolean}>((resolve, reject) => {
    client.once('connect', (packet) => resolve({sessionPresent: packet.sessionPresent}))
    client.once('error', reject)
  })
  return {client, received, connack}
}

export async function crash__until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
}

/** Publishes `count` QoS 1 messages, at most `window` unacknowledged at a time; resolves when all are PUBACKed. */
export async function crash__publishAll(client: MqttClient, topic: string, count: number, window = 50): Promise<void> {
  for (let first = 0; first < count; first += window) {
    const batch: Array<Promise<unknown>> = []
    for (let i = first; i < Math.min(count, first + window); i++) batch.push(client.publishAsync(topic, String(i), {qos: 1}))
    await Promise.all(batch)
  }
}

/** A bare MQTT client over a socket (mqtt-packet): sends exactly what a test says, records every packet. */
export class RawClient {
  readonly packets: mqttPacket.Packet[] = []
  private readonly parser: ReturnType<typeof mqttPacket.parser>

  private constructor(readonly socket: Socket, protocolVersion: 4 | 5) {
    this.parser = mqttPacket.parser({protocolVersion})
    this.parser.on('packet', (packet) => this.packets.push(packet))
    socket.on('data', (chunk) => this.parser.parse(chunk))
    socket.on('error', () => undefined)
  }

  static async connect(broker: BrokerProcess, connect: Omit<mqttPacket.IConnectPacket, 'cmd'>): Promise<RawClient> {
    const socket = netConnect(broker.port, '127.0.0.1')
    raws.push(socket)
    const client = new RawClient(socket, (connect.protocolVersion ?? 4) as 4 | 5)
    client.send({cmd: 'connect', ...connect})
    await client.expect('connack')
    return client
  }

  send(packet: mqttPacket.Packet): void {
    this.socket.write(mqttPacket.generate(packet))
  }

  /** Resolves with the first packet of type `cmd` (matching `test`) received so far or within 5 s. */
  async expect<T extends mqttPacket.Packet>(cmd: T['cmd'], test: (packet: T) => boolean = () => true): Promise<T> {
    const find = () => this.packets.find((p) => p.cmd === cmd && test(p as T)) as T | undefined
    await crash__until(() => find() !== undefined, 5_000)
    const packet = find()
    if (!packet) throw new Error(`no ${cmd} received; got ${this.packets.map((p) => p.cmd).join(', ') || 'nothing'}`)
    return packet
  }
}
