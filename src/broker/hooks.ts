/**
 * The one typed list of broker hooks. Library users pass any subset in `new Broker({hooks})`; the rest keep the
 * defaults below. Every hook may be sync or async. To refuse with a specific MQTT reason code, return false or
 * throw a `HookError` carrying the code; any other thrown error refuses with "unspecified error" (0x80) and is
 * logged: a hook can never crash the broker.
 */
import type {PeerCertificate} from 'node:tls'
import type {StoredMessage, SubscriptionRecord} from './store/store.js'

/** `bridge`: the local end of one of the broker's own bridges (src/broker/bridge/), an in-process MQTT 5 client. */
export type Transport = 'tcp' | 'tls' | 'ws' | 'wss' | 'json' | 'bridge'

/** What the broker knows about a connected client, given to every hook. */
export interface ClientInfo {
  readonly id: string
  readonly username?: string
  readonly protocolVersion: 3 | 4 | 5
  readonly transport: Transport
  readonly remoteAddress: string
  readonly remotePort?: number
  /** The TLS peer certificate, when the client presented one. */
  readonly certificate?: PeerCertificate
}

/** Refuses an action with a specific reason code (MQTT 5 value; mapped to the nearest 3.1.1 code where needed). */
export class HookError extends Error {
  constructor(
    readonly reasonCode: number,
    message?: string,
  ) {
    super(message ?? `refused with reason code 0x${reasonCode.toString(16)}`)
    this.name = 'HookError'
  }
}

type Awaitable<T> = T | Promise<T>

export interface AuthExchange {
  method: string
  data?: Buffer
}

/** Result of one step of MQTT 5 enhanced authentication. */
export type AuthStep = {done: true; data?: Buffer; username?: string} | {done: false; data?: Buffer}

/**
 * One acknowledgement a client sent in a QoS 1/2 flow (PUBACK, PUBREC, PUBREL or PUBCOMP), given to onPubAck,
 * onPubRec, onPubRel, onPubComp and the `ack` event.
 */
export interface AckInfo {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'
  packetId: number
  /** The reason code the client sent (0 success; always 0 from MQTT 3.1/3.1.1 clients). */
  reasonCode: number
  /**
   * The message the acknowledgement is about while the broker still holds it: the delivery to this client for
   * PUBACK/PUBREC/PUBCOMP. Absent for PUBREL (an incoming QoS 2 message was routed at PUBLISH time), for an unknown
   * packet id, and for a PUBCOMP of an exchange restored from the store after a restart.
   */
  message?: StoredMessage
  /**
   * False when the packet id matched nothing the broker waits for: the broker then ignores a PUBACK/PUBCOMP and
   * answers a PUBREC with PUBREL 0x92 and a PUBREL with PUBCOMP 0x92 (MQTT 5; 3.1.1 gets the plain ack).
   */
  known: boolean
}

/** Why a message did not reach a client (onMessageDropped, the `messageDropped` event). */
export type DropReason =
  /** The session's queue was full (--max-queued and the queue budget), or the budget trimmed a stalled session. */
  | 'queue-full'
  /** Its MQTT 5 message expiry passed before it could be sent. */
  | 'expired'
  /** `authorizeForward` refused it for this client. */
  | 'not-authorized'
  /** A QoS 0 message to a connection with more than --max-output-buffer bytes unsent. */
  | 'slow-reader'
  /** Larger than the client's MQTT 5 Maximum Packet Size [MQTT-3.1.2-25]. */
  | 'too-large'

export interface Hooks {
  /** CONNECT credentials; false or HookError refuses the connection (0x86 bad user name or password by default). */
  authenticate(client: ClientInfo, username: string | undefined, password: Buffer | undefined): Awaitable<boolean>
  /**
   * A PUBLISH (or a will) from a client; false drops it (PUBACK 0x87 in MQTT 5, acknowledged and dropped in 3.1.1).
   * The default refuses `$SYS/...`, which the broker owns (a client could otherwise spoof its statistics); an ACL
   * grants it only with a rule that names `$SYS` (wildcards do not cover `$` topics).
   */
  authorizePublish(client: ClientInfo, message: StoredMessage): Awaitable<boolean>
  /** One subscription of a SUBSCRIBE; false refuses it (SUBACK 0x87 in MQTT 5, 0x80 in 3.1.1). */
  authorizeSubscribe(client: ClientInfo, subscription: SubscriptionRecord): Awaitable<boolean>
  /** Whether a routed message may be delivered to this client; synchronous because it runs per delivery. */
  authorizeForward(client: ClientInfo, message: StoredMessage): boolean
  /** MQTT 5 enhanced authentication (CONNECT/AUTH with an authentication method); absent: method refused (0x8C). */
  onAuth?(client: ClientInfo, exchange: AuthExchange): Awaitable<AuthStep>
  onConnect(client: ClientInfo): Awaitable<void>
  onDisconnect(client: ClientInfo, reason: string): Awaitable<void>
  /** After a message was accepted and routed; `client` is null for messages the broker publishes itself. */
  onPublish(client: ClientInfo | null, message: StoredMessage): Awaitable<void>
  onSubscribe(client: ClientInfo, subscriptions: SubscriptionRecord[]): Awaitable<void>
  onUnsubscribe(client: ClientInfo, filters: string[]): Awaitable<void>
  /** A client acknowledged a QoS 1 message the broker sent it (PUBACK). */
  onPubAck(client: ClientInfo, ack: AckInfo): Awaitable<void>
  /** A client received a QoS 2 message the broker sent it (PUBREC); the broker answers PUBREL next. */
  onPubRec(client: ClientInfo, ack: AckInfo): Awaitable<void>
  /** A publishing client released a QoS 2 message (PUBREL); the broker answers PUBCOMP next. */
  onPubRel(client: ClientInfo, ack: AckInfo): Awaitable<void>
  /** A client completed a QoS 2 delivery from the broker (PUBCOMP). */
  onPubComp(client: ClientInfo, ack: AckInfo): Awaitable<void>
  /** A PINGREQ, answered with PINGRESP right after. */
  onPing(client: ClientInfo): Awaitable<void>
  /** A disconnected session's expiry interval passed; it is deleted (its delayed will, if any, goes out with it). */
  onSessionExpired(client: ClientInfo): Awaitable<void>
  /** A message for `client` was not delivered, and why; `client` is the last one known for an offline session. */
  onMessageDropped(client: ClientInfo, message: StoredMessage, reason: DropReason): Awaitable<void>
  /** A will is being published for `client` (abnormal disconnect, will delay passed, or session end). */
  onWill(client: ClientInfo, will: StoredMessage): Awaitable<void>
}

/** `$SYS` or `$SYS/...`: the broker's own topics. */
export function topic__isSys(topic: string): boolean {
  return topic.startsWith('$SYS') && (topic.length === 4 || topic.charCodeAt(4) === 0x2f)
}

/**
 * A bridge from mosquitto (`notifications true`, its default) announces its own state as a retained message and a
 * will on `$SYS/broker/connection/<its client id>/state`: the one `$SYS` topic a client may write, as it describes
 * that client and no broker statistic (docs/bridges.md; `mqttkit doctor` reads it).
 */
function topic__isOwnBridgeState(client: ClientInfo, topic: string): boolean {
  return topic === `$SYS/broker/connection/${client.id}/state`
}

export const defaultHooks: Hooks = {
  authenticate: () => true,
  authorizePublish: (client, message) => !topic__isSys(message.topic) || topic__isOwnBridgeState(client, message.topic),
  authorizeSubscribe: () => true,
  authorizeForward: () => true,
  onConnect: () => {},
  onDisconnect: () => {},
  onPublish: () => {},
  onSubscribe: () => {},
  onUnsubscribe: () => {},
  onPubAck: () => {},
  onPubRec: () => {},
  onPubRel: () => {},
  onPubComp: () => {},
  onPing: () => {},
  onSessionExpired: () => {},
  onMessageDropped: () => {},
  onWill: () => {},
}
