/**
 * The one typed list of broker hooks. Library users pass any subset in `new Broker({hooks})`; the rest keep the
 * defaults below. Every hook may be sync or async. To refuse with a specific MQTT reason code, return false or
 * throw a `HookError` carrying the code; any other thrown error refuses with "unspecified error" (0x80) and is
 * logged: a hook can never crash the broker.
 */
import type {PeerCertificate} from 'node:tls'
import type {StoredMessage, SubscriptionRecord} from './store/store.js'

export type Transport = 'tcp' | 'tls' | 'ws' | 'wss' | 'json'

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

export interface Hooks {
  /** CONNECT credentials; false or HookError refuses the connection (0x86 bad user name or password by default). */
  authenticate(client: ClientInfo, username: string | undefined, password: Buffer | undefined): Awaitable<boolean>
  /** A PUBLISH from a client; false drops it (PUBACK 0x87 in MQTT 5, silently in 3.1.1). */
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
}

export const defaultHooks: Hooks = {
  authenticate: () => true,
  authorizePublish: () => true,
  authorizeSubscribe: () => true,
  authorizeForward: () => true,
  onConnect: () => {},
  onDisconnect: () => {},
  onPublish: () => {},
  onSubscribe: () => {},
  onUnsubscribe: () => {},
}
