/**
 * The outgoing Store given to every mqtt.js client of one bridge, so what one connection started the next one
 * finishes: a QoS 2 message the remote answered with PUBREC is never published again; after a reconnect mqtt.js
 * sends the PUBREL again for the same packet id from this store [MQTT-4.4.0-1] before it reports the connection.
 *
 * Only PUBRELs are kept: unacknowledged PUBLISHes are resent by the bridge from its own pending list (in order,
 * within the remote's window), so mqtt.js must not resend them too. In memory: across a restart of mqttkit the
 * broker hands the message to the bridge again and it is published anew (docs/bridges.md).
 */
import {Readable} from 'node:stream'
import type {Packet} from 'mqtt-packet'

type Done = (error?: Error) => void
type PacketDone = (error?: Error, packet?: Packet) => void

export interface ReleaseEvents {
  /** mqtt.js gave packet id `id` to the next QoS 1/2 PUBLISH the bridge asked for (they are stored in order). */
  published(id: number): void
  /** The remote answered `id` with PUBREC: from now on only PUBREL goes for it. */
  released(id: number): void
  /** The exchange of `id` is over (PUBCOMP, whatever its reason code). */
  completed(id: number): void
}

export class ReleaseStore {
  private readonly releases = new Map<number, Packet>()

  constructor(private readonly events: ReleaseEvents) {}

  get size(): number {
    return this.releases.size
  }

  put(packet: Packet, cb: Done): this {
    const id = (packet as {messageId?: number}).messageId
    if (id !== undefined) {
      if (packet.cmd === 'pubrel') {
        this.releases.set(id, packet)
        this.events.released(id)
      } else if (packet.cmd === 'publish') this.events.published(id)
    }
    cb()
    return this
  }

  createStream(): Readable {
    return Readable.from([...this.releases.values()], {objectMode: true})
  }

  del(packet: {messageId?: number}, cb: PacketDone): this {
    const id = packet.messageId
    const had = id === undefined ? undefined : this.releases.get(id)
    if (had !== undefined) {
      this.releases.delete(id!)
      this.events.completed(id!)
    }
    // No error for a PUBLISH never kept here: mqtt.js passes it to the publish callback.
    cb(undefined, had)
    return this
  }

  get(packet: {messageId?: number}, cb: PacketDone): this {
    const had = packet.messageId === undefined ? undefined : this.releases.get(packet.messageId)
    if (had === undefined) cb(new Error('missing packet'))
    else cb(undefined, had)
    return this
  }

  /** Kept open: a client that closes hands its PUBRELs to the next one. */
  close(cb: Done): void {
    cb()
  }
}
