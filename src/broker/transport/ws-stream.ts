/**
 * One accepted WebSocket as a byte Duplex for the broker. Written here rather than with ws's
 * `createWebSocketStream` because MQTT over WebSocket has rules of its own: only binary messages carry MQTT (a
 * text message closes the connection with 1003), message boundaries mean nothing (a packet may span messages and
 * a message may hold several packets: the broker's parser sees one byte stream), and writes corked together by the
 * broker leave as a single message.
 */
import {Duplex} from 'node:stream'
import type {RawData, WebSocket} from 'ws'

/** A peer that never answers our close frame must not hold the socket forever. */
const CLOSE_GRACE_MS = 2000

export class WebSocketDuplex extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super({allowHalfOpen: false})
    ws.on('message', (data, isBinary) => this.wsMessage(data, isBinary))
    ws.on('close', () => this.destroy())
    ws.on('error', (error) => this.destroy(error))
  }

  private wsMessage(data: RawData, isBinary: boolean): void {
    if (this.destroyed || this.ws.readyState !== this.ws.OPEN) return
    if (!isBinary) {
      // [MQTT-6.0.0-1] MQTT control packets are sent in binary data frames; anything else is a protocol error.
      ws__close(this.ws, 1003, 'MQTT over WebSocket uses binary frames')
      return
    }
    if (!this.push(toBuffer(data))) this.ws.pause()
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.ws.send(chunk, {binary: true}, callback)
  }

  override _writev(chunks: Array<{chunk: Buffer}>, callback: (error?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk))
    this.ws.send(data, {binary: true}, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    ws__close(this.ws, 1000)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    ws__close(this.ws, error === null ? 1000 : 1011)
    callback(error)
  }
}

/** Closes with a close frame (sent after anything already queued), then drops the socket if the peer stalls. */
export function ws__close(ws: WebSocket, code: number, reason?: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return
  ws.close(code, reason)
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref()
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}
