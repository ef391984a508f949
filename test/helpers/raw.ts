/**
 * A raw TCP peer for bad-input tests: sends exactly the bytes a test gives it (mqtt-packet encodes well-formed
 * packets) and reports what the broker answered and whether it closed the connection.
 */
import net from 'node:net'
import mqttPacket, {type Packet} from 'mqtt-packet'

const sockets = new Set<net.Socket>()

export class RawClient {
  readonly packets: Packet[] = []
  closed = false
  /** Index after the packet `next` returned last. */
  private cursor = 0
  private readonly parser: ReturnType<typeof mqttPacket.parser>
  private readonly closedPromise: Promise<void>
  private waiters: Array<() => void> = []

  private constructor(
    readonly socket: net.Socket,
    protocolVersion: number,
  ) {
    sockets.add(socket)
    this.parser = mqttPacket.parser({protocolVersion})
    this.parser.on('packet', (p: Packet) => {
      this.packets.push(p)
      this.notify()
    })
    // A broker answering garbage with garbage would show up here; the tests only look at packets and closing.
    this.parser.on('error', () => {})
    socket.on('data', (chunk) => this.parser.parse(chunk))
    socket.on('error', () => {})
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true
        sockets.delete(socket)
        this.notify()
        resolve()
      }),
    )
  }

  static connect(port: number, protocolVersion = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1')
      socket.once('connect', () => resolve(new RawClient(socket, protocolVersion)))
      socket.once('error', reject)
    })
  }

  /** Connects and completes a CONNECT/CONNACK exchange. */
  static async connected(port: number, clientId: string, protocolVersion = 4): Promise<RawClient> {
    const raw = await RawClient.connect(port, protocolVersion)
    raw.send({cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: true, keepalive: 60} as Packet)
    const connack = await raw.next('connack')
    if ((connack as {returnCode?: number; reasonCode?: number}).returnCode ?? (connack as {reasonCode?: number}).reasonCode) {
      throw new Error(`CONNACK refused: ${JSON.stringify(connack)}`)
    }
    return raw
  }

  send(packet: Packet | Buffer): void {
    this.socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet, {protocolVersion: (packet as {protocolVersion?: number}).protocolVersion ?? 4}))
  }

  sendV5(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, {protocolVersion: 5}))
  }

  /**
   * Resolves with the next packet of type `cmd` after the one the previous `next` returned (packets that arrived
   * before the call count: a PUBLISH may come in the same segment as the CONNACK). Rejects when the connection
   * closes first or on timeout.
   */
  next(cmd: Packet['cmd'], timeoutMs = 5000): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = this.cursor; i < this.packets.length; i++) {
          if (this.packets[i]!.cmd !== cmd) continue
          this.cursor = i + 1
          done()
          resolve(this.packets[i]!)
          return true
        }
        if (this.closed) {
          done()
          reject(new Error(`connection closed before ${cmd}`))
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${cmd} within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((w) => w !== waiter)
      }
      const waiter = (): void => void check()
      this.waiters.push(waiter)
      check()
    })
  }

  /** True when the broker closed the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, timeoutMs))])
    return this.closed
  }

  destroy(): void {
    this.socket.destroy()
  }

  private notify(): void {
    for (const w of [...this.waiters]) w()
  }
}

export function raw__cleanup(): void {
  for (const s of sockets) s.destroy()
  sockets.clear()
}
