/**
 * Many idle MQTT connections from one process, for measuring a broker's memory per idle connection
 * (bench/brokers.ts, scenario idle-memory). Raw sockets sending one pre-encoded MQTT 3.1.1 CONNECT (clean session,
 * keepalive 600 s) and reading the CONNACK: nothing else runs per connection, so the load generator can hold as
 * many as its open-file limit allows. Connections are spread over several loopback source addresses (127.0.0.2,
 * 127.0.0.3, …) so the count is never bounded by the ephemeral ports of one address pair.
 */
import net from 'node:net'

export interface IdleClients {
  connected: number
  failed: number
  failures: Record<string, number>
  close(): void
}

export interface IdleOptions {
  host?: string
  port: number
  count: number
  /** Client id prefix (unique per run). */
  prefix: string
  /** Source addresses used in turn (default 127.0.0.2–127.0.0.9). */
  sources?: string[]
  /** Connection attempts in flight at once. */
  concurrency?: number
  /** Give up on a connection after this many ms without CONNACK. */
  timeoutMs?: number
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId)
  // Variable header: protocol name "MQTT", level 4, flags 0x02 (clean session), keepalive 600 s.
  const variable = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0x02, 0x58])
  const length = variable.length + 2 + id.length
  const out = Buffer.alloc(2 + length)
  out[0] = 0x10
  out[1] = length // client ids here are short: one length byte
  variable.copy(out, 2)
  out.writeUInt16BE(id.length, 2 + variable.length)
  id.copy(out, 4 + variable.length)
  return out
}

/** Opens `count` idle connections; resolves once every attempt connected (CONNACK 0) or failed. */
export async function idle__open(o: IdleOptions): Promise<IdleClients> {
  const sources = o.sources ?? ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']
  const concurrency = o.concurrency ?? 200
  const timeoutMs = o.timeoutMs ?? 30_000
  const sockets: net.Socket[] = []
  const result: IdleClients = {
    connected: 0,
    failed: 0,
    failures: {},
    close() {
      for (const s of sockets) s.destroy()
      sockets.length = 0
    },
  }
  const fail = (reason: string): void => {
    result.failed++
    result.failures[reason] = (result.failures[reason] ?? 0) + 1
  }
  let next = 0
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({host: o.host ?? '127.0.0.1', port: o.port, localAddress: sources[i % sources.length]})
      let done = false
      const finish = (reason: string | null): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        if (reason === null) {
          result.connected++
          sockets.push(socket)
        } else {
          fail(reason)
          socket.destroy()
        }
        resolve()
      }
      const timer = setTimeout(() => finish('no CONNACK in time'), timeoutMs)
      socket.once('connect', () => socket.write(connectPacket(`${o.prefix}${i}`)))
      socket.once('data', (d) => finish(d[0] === 0x20 && d[3] === 0 ? null : `CONNACK ${d[0] === 0x20 ? d[3] : 'missing'}`))
      socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
      socket.on('close', () => finish('closed'))
    })
  const lanes = Array.from({length: Math.min(concurrency, o.count)}, async () => {
    while (next < o.count) await one(next++)
  })
  await Promise.all(lanes)
  return result
}
