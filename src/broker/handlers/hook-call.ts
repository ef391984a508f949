/**
 * Calling user hooks safely: a hook may be sync or async, may return false, throw a HookError with a reason code
 * or throw anything else; none of that may crash the broker. Decisions come back as a reason code (0 = allowed),
 * synchronously when the hook answered synchronously, so the hot path allocates no promise for sync hooks.
 */
import type {BrokerContext} from '../context.js'
import {HookError, type Hooks, defaultHooks} from '../hooks.js'
import type {ClientInfo, DropReason} from '../hooks.js'
import type {StoredMessage} from '../store/store.js'
import {ReasonCode} from '../../protocol/index.js'

type NotifyName =
  | 'onConnect'
  | 'onDisconnect'
  | 'onPublish'
  | 'onSubscribe'
  | 'onUnsubscribe'
  | 'onPubAck'
  | 'onPubRec'
  | 'onPubRel'
  | 'onPubComp'
  | 'onPing'
  | 'onSessionExpired'
  | 'onMessageDropped'
  | 'onWill'

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as {then?: unknown}).then === 'function'
}

/** Maps a thrown value to a reason code, logging the unexpected ones. */
export function hooks__errorCode(ctx: BrokerContext, hook: string, error: unknown, refused: number): number {
  if (error instanceof HookError) return error.reasonCode >= 0x80 ? error.reasonCode : refused
  ctx.logger.warn(`hook ${hook} threw: ${error instanceof Error ? error.message : String(error)}`)
  return ReasonCode.UnspecifiedError
}

/**
 * Runs a yes/no hook. Returns 0 when allowed, else the reason code (`refused` for a plain false), or a promise of
 * that when the hook is async.
 */
export function hooks__decide<A extends unknown[]>(
  ctx: BrokerContext,
  name: string,
  fn: (...args: A) => boolean | Promise<boolean>,
  refused: number,
  ...args: A
): number | Promise<number> {
  let result: boolean | Promise<boolean>
  try {
    result = fn(...args)
  } catch (error) {
    return hooks__errorCode(ctx, name, error, refused)
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (ok) => (ok === false ? refused : 0),
      (error: unknown) => hooks__errorCode(ctx, name, error, refused),
    )
  }
  return result === false ? refused : 0
}

/** Fires a notification hook; its result is ignored and its failures are only logged. */
export function hooks__notify<K extends NotifyName>(ctx: BrokerContext, name: K, ...args: Parameters<Hooks[K]>): void {
  try {
    const result = (ctx.hooks[name] as (...a: Parameters<Hooks[K]>) => unknown)(...args)
    if (isThenable(result)) Promise.resolve(result).catch((error: unknown) => ctx.logger.warn(`hook ${name} failed: ${String(error)}`))
  } catch (error) {
    ctx.logger.warn(`hook ${name} threw: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * Events that are also emitted under a second name: the past-tense names aedes users know (`published`,
 * `subscribed`…) and aedes' own (`clientReady`, `clientDisconnect`), same arguments. docs/broker.md lists them all.
 */
const EVENT_ALIASES: Record<string, string[]> = {
  publish: ['published'],
  subscribe: ['subscribed'],
  unsubscribe: ['unsubscribed'],
  clientConnected: ['clientReady'],
  clientDisconnected: ['clientDisconnect'],
}

/** Emits a Broker event (and its aliases); a listener that throws is logged and never reaches (or crashes) the broker. */
export function events__emit(ctx: BrokerContext, event: string, ...args: unknown[]): void {
  emitOne(ctx, event, args)
  const aliases = EVENT_ALIASES[event]
  if (aliases !== undefined) for (const alias of aliases) emitOne(ctx, alias, args)
}

function emitOne(ctx: BrokerContext, event: string, args: unknown[]): void {
  if (ctx.events.listenerCount(event) === 0) return
  try {
    ctx.events.emit(event, ...args)
  } catch (error) {
    ctx.logger.warn(`a '${event}' event listener threw: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * Whether anybody hears this step (a hook set by the user, or an event listener): the per-ack and per-drop paths
 * build their argument objects only then, so a broker nobody observes allocates nothing for them.
 */
export function hooks__observed(ctx: BrokerContext, hook: NotifyName, event: string): boolean {
  return ctx.hooks[hook] !== defaultHooks[hook] || ctx.events.listenerCount(event) > 0
}

/** onMessageDropped + the `messageDropped` event. */
export function hooks__dropped(ctx: BrokerContext, client: ClientInfo, message: StoredMessage, reason: DropReason): void {
  if (!hooks__observed(ctx, 'onMessageDropped', 'messageDropped')) return
  hooks__notify(ctx, 'onMessageDropped', client, message, reason)
  events__emit(ctx, 'messageDropped', message, reason, client)
}

export {isThenable as hooks__isThenable}
