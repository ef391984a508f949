/**
 * Two connected in-memory Duplex streams: bytes written to one are read from the other, with backpressure (a
 * write is acknowledged only once the other side has room). Node 20 has no `stream.duplexPair` (it came in 22.6),
 * hence these few lines. The gateway talks MQTT to the broker through such a pair, exactly like a socket would.
 */
import {Duplex} from 'node:stream'

class PairSide extends Duplex {
  other!: PairSide
  private blockedWrite: (() => void) | null = null

  constructor() {
    super({allowHalfOpen: false})
  }

  override _read(): void {
    const resume = this.other.blockedWrite
    if (resume === null) return
    this.other.blockedWrite = null
    resume()
  }

  // Delivery is deferred to the next tick, as a socket's would be: a synchronous push would run the reader's
  // parser inside the writer's own packet handler (re-entrancy that real sockets never cause and parsers break on).
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    process.nextTick(() => this.deliver(chunk, callback))
  }

  private deliver(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.other.destroyed) {
      callback(new Error('the other side of the stream is closed'))
      return
    }
    if (this.other.push(chunk)) callback()
    else this.blockedWrite = () => callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    process.nextTick(() => {
      if (!this.other.destroyed) this.other.push(null)
      callback()
    })
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.blockedWrite = null
    callback(error)
    // Like a socket whose peer went away: the other side closes too, without an error of its own.
    const other = this.other
    process.nextTick(() => other.destroy())
  }
}

export function duplex__pair(): [Duplex, Duplex] {
  const a = new PairSide()
  const b = new PairSide()
  a.other = b
  b.other = a
  return [a, b]
}
