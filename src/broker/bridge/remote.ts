/**
 * A bridge's end on the remote broker: one mqtt.js client per connection attempt (a fresh client keeps no
 * messages of its own to resend: what the remote has not acknowledged is resent from the bridge's pending list,
 * once, in order; only QoS 2 PUBRELs pass from one client to the next, in the bridge's release-store.ts), its
 * options from the bridge config, and the reconnect backoff.
 *
 * MQTT 3.1.1 remotes are told this is a bridge the way mosquitto's bridges do it (protocol level 4 | 0x80,
 * `try_private`), so the remote does not send the bridge's own messages back and keeps the retain flag; mqtt.js
 * cannot send that level, so the one byte is set on the way out (tcp and tls only; ws/wss 3.1.1 remotes connect
 * as plain clients, docs/bridges.md).
 */
import {readFileSync} from 'node:fs'
import net from 'node:net'
import {Duplex} from 'node:stream'
import tls from 'node:tls'
import type {IClientOptions, MqttClient} from 'mqtt'
import {type BridgeConfig, BridgeConfigError} from './config.js'
import type {ReleaseStore} from './release-store.js'

/** TLS material read once at start (a missing file stops the broker then, not at the first reconnect). */
export interface RemoteTls {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
}

export function remote__readTls(config: BridgeConfig): RemoteTls {
  const out: RemoteTls = {}
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = config[key]
    if (path === undefined) continue
    try {
      out[key] = readFileSync(path)
    } catch (error) {
      throw new BridgeConfigError(`bridge "${config.name}": ${key} file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
    }
  }
  return out
}

/** Delay before reconnect attempt `attempt` (1, 2, ...): base·2^(attempt-1) up to the cap, then a random 50-100 % of it. */
export function remote__backoff(attempt: number, base: number, cap: number, random = Math.random): number {
  const full = Math.min(cap, base * 2 ** Math.min(30, attempt - 1))
  return Math.round(full / 2 + (random() * full) / 2)
}

function options(config: BridgeConfig, clientId: string, material: RemoteTls): IClientOptions {
  const v5 = config.protocolVersion === 5
  const o: IClientOptions = {
    clientId,
    protocolVersion: config.protocolVersion,
    clean: config.clean,
    keepalive: config.keepalive,
    // Reconnects are ours (backoff with jitter, fail-over, a fresh client each time).
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    resubscribe: false,
    rejectUnauthorized: !config.insecure,
    ...material,
  }
  if (config.username !== undefined) o.username = config.username
  if (config.password !== undefined) o.password = config.password
  // MQTT 5: a persistent session must say how long it lives; "never expires" is what 3.1.1's clean=false means.
  if (v5) o.properties = {sessionExpiryInterval: config.clean ? 0 : 0xffff_ffff}
  return o
}

let mqttjs: typeof import('mqtt') | undefined

/** Imports mqtt.js, once, when a bridge starts: a broker without bridges never loads it (issue 20: start-up). */
export async function remote__load(): Promise<void> {
  mqttjs ??= await import('mqtt')
}

/** Connects (without waiting) to `url`; mqtt.js events tell the rest. Needs remote__load() first. */
export function remote__connect(config: BridgeConfig, url: string, clientId: string, material: RemoteTls, outgoingStore?: ReleaseStore): MqttClient {
  if (mqttjs === undefined) throw new Error('remote__connect before remote__load')
  const {default: mqtt, MqttClient} = mqttjs
  const o = options(config, clientId, material)
  // Typed against readable-stream's Readable; mqtt.js uses only read(1), 'readable', 'end' and destroy() of node's.
  if (outgoingStore !== undefined) o.outgoingStore = outgoingStore as unknown as NonNullable<IClientOptions['outgoingStore']>
  const parsed = new URL(url)
  // mqtt://user:pass@host: the URL's credentials unless the entry gives its own.
  if (o.username === undefined && parsed.username !== '') o.username = decodeURIComponent(parsed.username)
  if (o.password === undefined && parsed.password !== '') o.password = decodeURIComponent(parsed.password)
  const scheme = parsed.protocol.slice(0, -1)
  const secure = scheme === 'mqtts' || scheme === 'ssl' || scheme === 'tls'
  if (config.protocolVersion === 5 || !(secure || scheme === 'mqtt' || scheme === 'tcp')) return mqtt.connect(url, o)
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port)
  const builder = () =>
    new BridgeModeStream(
      secure
        ? tls.connect({host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !config.insecure, ...material})
        : net.connect({host, port}),
    )
  return new MqttClient(builder, {...o, host, port, protocol: secure ? 'mqtts' : 'mqtt', protocolId: 'MQTT'})
}

/**
 * Passes a socket through, setting the 0x80 bit of the protocol level byte of the first packet written (CONNECT:
 * fixed header, remaining length of 1-4 bytes, `00 04 M Q T T`, then the level).
 */
class BridgeModeStream extends Duplex {
  private written = 0
  private levelAt = -1
  private lengthBytes = 0

  constructor(private readonly inner: net.Socket) {
    super()
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause()
    })
    inner.on('end', () => this.push(null))
    inner.on('error', (error) => this.destroy(error))
    inner.on('close', () => this.destroy())
    inner.on('connect', () => this.emit('connect'))
    inner.on('secureConnect', () => this.emit('secureConnect'))
  }

  override _read(): void {
    this.inner.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(this.patch(chunk), callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy()
    callback(error)
  }

  private patch(chunk: Buffer): Buffer {
    if (this.levelAt === -2) return chunk
    let out = chunk
    for (let i = 0; i < chunk.length; i++) {
      const at = this.written + i
      if (this.levelAt < 0 && at >= 1) {
        // Remaining length bytes: continuation bit 0x80 set on all but the last.
        this.lengthBytes++
        if ((chunk[i]! & 0x80) === 0) this.levelAt = 1 + this.lengthBytes + 6
        continue
      }
      if (at === this.levelAt) {
        out = Buffer.from(chunk)
        out[i] = out[i]! | 0x80
        this.levelAt = -2
        break
      }
    }
    this.written += chunk.length
    return out
  }
}
