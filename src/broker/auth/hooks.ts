/**
 * Turns a password file, an ACL and the allow-anonymous setting into broker hooks (the contract in
 * ../hooks.ts). The broker maps a refusal to the wire: CONNACK 0x86 (v5) / refused (3.1.1) for `authenticate`,
 * PUBACK 0x87 or a silent drop for `authorizePublish`, SUBACK 0x87/0x80 for `authorizeSubscribe`, and skips
 * deliveries (retained ones included) that `authorizeForward` refuses.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {type ClientInfo, HookError, type Hooks} from '../hooks.js'
import {Acl, type ClientAcl} from './acl.js'
import {PasswordFile} from './password-file.js'

/** MQTT 5 "not authorized"; the broker maps it to 3.1.1 CONNACK return code 5. */
const REASON_NOT_AUTHORIZED = 0x87

/** How long a refused login waits before its CONNACK: slows password guessing on one connection to a crawl. */
export const DEFAULT_FAILED_LOGIN_DELAY_MS = 1000

export interface AuthOptions {
  /** Users and their password hashes; absent: user names are taken as given (when anonymous access is allowed). */
  passwordFile?: PasswordFile
  /** Who may publish and subscribe to what; absent: everyone may do everything. */
  acl?: Acl
  /** Whether a client without a user name may connect (default true). */
  allowAnonymous?: boolean
  /** Wait before answering a refused login, in ms (default 1000). */
  failedLoginDelayMs?: number
}

export interface AuthFiles {
  passwordFile?: string
  aclFile?: string
  allowAnonymous?: boolean
  failedLoginDelayMs?: number
}

/** Reads the files (rejecting with a message naming the file and line) and builds the hooks. */
export async function auth__load(files: AuthFiles): Promise<Partial<Hooks>> {
  return auth__hooks({
    passwordFile: files.passwordFile === undefined ? undefined : await PasswordFile.load(files.passwordFile),
    acl: files.aclFile === undefined ? undefined : await Acl.load(files.aclFile),
    allowAnonymous: files.allowAnonymous,
    failedLoginDelayMs: files.failedLoginDelayMs,
  })
}

export function auth__hooks(options: AuthOptions): Partial<Hooks> {
  const {passwordFile, acl} = options
  const allowAnonymous = options.allowAnonymous ?? true
  const delay = options.failedLoginDelayMs ?? DEFAULT_FAILED_LOGIN_DELAY_MS
  const hooks: Partial<Hooks> = {}

  // Every refusal takes the same path (same delay, same answer) so a client cannot tell an unknown user from a
  // wrong password or a missing one. MQTT 5 clients get 0x86 "bad user name or password" (a plain false); 3.1.1
  // clients get return code 5 "not authorized", as they do from other brokers, rather than 4, which 3.1.1
  // describes as malformed user name or password data.
  const refuse = async (client: ClientInfo): Promise<false> => {
    if (delay > 0) await sleep(delay)
    if (client.protocolVersion !== 5) throw new HookError(REASON_NOT_AUTHORIZED, 'not authorized')
    return false
  }
  hooks.authenticate = async (client, username, password) => {
    if (passwordFile !== undefined && username !== undefined) {
      return (await passwordFile.verify(username, password)) || refuse(client)
    }
    // No password file: a user name is a label, accepted exactly when anonymous access is.
    return allowAnonymous || refuse(client)
  }

  if (acl !== undefined) {
    // Rules are compiled once per connection (placeholders substituted) and kept with the connection's ClientInfo.
    const cache = new WeakMap<ClientInfo, {username?: string; id: string; rules: ClientAcl}>()
    const rulesOf = (client: ClientInfo): ClientAcl => {
      const cached = cache.get(client)
      if (cached && cached.id === client.id && cached.username === client.username) return cached.rules
      const rules = acl.forClient(client.username, client.id)
      cache.set(client, {username: client.username, id: client.id, rules})
      return rules
    }
    hooks.authorizePublish = (client, message) => rulesOf(client).canWrite(message.topic)
    hooks.authorizeSubscribe = (client, subscription) => rulesOf(client).canSubscribe(subscription.filter)
    hooks.authorizeForward = (client, message) => rulesOf(client).canRead(message.topic)
  }
  return hooks
}
