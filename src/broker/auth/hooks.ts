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

export interface AuthFileOptions {
  passwordFile?: string
  aclFile?: string
  allowAnonymous?: boolean
  failedLoginDelayMs?: number
}

/**
 * Hooks backed by files that can be re-read while the broker runs (`mqttkit broker` does it on SIGHUP): a reload
 * that fails (missing or malformed file) keeps the rules in force and rejects with the file's error.
 */
export class AuthFiles {
  readonly hooks: Partial<Hooks>
  private readonly state: AuthState

  private constructor(
    private readonly files: AuthFileOptions,
    state: AuthState,
  ) {
    this.state = state
    this.hooks = auth__hooksFrom(state, files.failedLoginDelayMs ?? DEFAULT_FAILED_LOGIN_DELAY_MS)
  }

  /** Without files: user names are labels, anonymous clients allowed or not (what a Broker starts with by default). */
  static none(options: {allowAnonymous?: boolean; failedLoginDelayMs?: number} = {}): AuthFiles {
    return new AuthFiles(options, {allowAnonymous: options.allowAnonymous ?? true})
  }

  /** Whether clients without a user name may connect; changing it applies to the next CONNECT (broker.configure). */
  get allowAnonymous(): boolean {
    return this.state.allowAnonymous
  }

  set allowAnonymous(value: boolean) {
    this.state.allowAnonymous = value
  }

  /** The password file path, when there is one (the web admin edits it). */
  get passwordFilePath(): string | undefined {
    return this.files.passwordFile
  }

  /** The password file in force (undefined without --password-file). */
  get passwordFile(): PasswordFile | undefined {
    return this.state.passwordFile
  }

  /** Reads the files; rejects with a message naming the file and line. */
  static async load(files: AuthFileOptions): Promise<AuthFiles> {
    return new AuthFiles(files, await AuthFiles.read(files, files.allowAnonymous ?? true))
  }

  /** Users in the password file and rules in the ACL now in force. */
  get counts(): {users: number; rules: number} {
    return {users: this.state.passwordFile?.size ?? 0, rules: this.state.acl?.ruleCount ?? 0}
  }

  /** Re-reads both files and swaps them in at once; connected clients get the new ACL on their next action. */
  async reload(): Promise<{users: number; rules: number}> {
    const next = await AuthFiles.read(this.files, this.state.allowAnonymous)
    this.state.passwordFile = next.passwordFile
    this.state.acl = next.acl
    return this.counts
  }

  private static async read(files: AuthFileOptions, allowAnonymous: boolean): Promise<AuthState> {
    const [passwordFile, acl] = await Promise.all([
      files.passwordFile === undefined ? undefined : PasswordFile.load(files.passwordFile),
      files.aclFile === undefined ? undefined : Acl.load(files.aclFile),
    ])
    return {passwordFile, acl, allowAnonymous}
  }
}

/** Reads the files (rejecting with a message naming the file and line) and builds the hooks. */
export async function auth__load(files: AuthFileOptions): Promise<Partial<Hooks>> {
  return (await AuthFiles.load(files)).hooks
}

/** Hooks from a password file and ACL already in memory. */
export function auth__hooks(options: AuthOptions): Partial<Hooks> {
  return auth__hooksFrom(
    {passwordFile: options.passwordFile, acl: options.acl, allowAnonymous: options.allowAnonymous ?? true},
    options.failedLoginDelayMs ?? DEFAULT_FAILED_LOGIN_DELAY_MS,
  )
}

interface AuthState {
  passwordFile?: PasswordFile
  acl?: Acl
  allowAnonymous: boolean
}

/** The hooks read `state` on every call, so a reload takes effect at once. */
function auth__hooksFrom(state: AuthState, delay: number): Partial<Hooks> {
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
  // Synchronous unless a password is checked: the broker then answers CONNECT without a promise.
  hooks.authenticate = (client, username, password) => {
    // The broker's own bridges (an in-process client no network peer can imitate) need no credentials.
    if (client.transport === 'bridge') return true
    // Mutual TLS with the certificate CN as user name: the transport replaced the CONNECT user name with the CN of
    // a certificate it verified, so the certificate is the credential (docs/transports.md). A client that also
    // sends that same name in CONNECT goes through the password check like anyone else.
    if (client.certificate !== undefined && client.username !== undefined && client.username !== username) return true
    const passwordFile = state.passwordFile
    if (passwordFile !== undefined && username !== undefined) {
      return passwordFile.verify(username, password).then((ok) => ok || refuse(client))
    }
    // No password file: a user name is a label, accepted exactly when anonymous access is.
    return state.allowAnonymous || refuse(client)
  }

  if (state.acl !== undefined) {
    // Rules are compiled once per connection (placeholders substituted) and kept with the connection's ClientInfo,
    // until the ACL is reloaded.
    const cache = new WeakMap<ClientInfo, {acl: Acl; username?: string; id: string; rules: ClientAcl}>()
    const rulesOf = (client: ClientInfo): ClientAcl => {
      const acl = state.acl!
      const cached = cache.get(client)
      if (cached && cached.acl === acl && cached.id === client.id && cached.username === client.username) return cached.rules
      const rules = acl.forClient(client.username, client.id)
      cache.set(client, {acl, username: client.username, id: client.id, rules})
      return rules
    }
    // The ACL is for network clients; what a bridge moves is decided by its topic rules (docs/bridges.md).
    hooks.authorizePublish = (client, message) => client.transport === 'bridge' || rulesOf(client).canWrite(message.topic)
    hooks.authorizeSubscribe = (client, subscription) => client.transport === 'bridge' || rulesOf(client).canSubscribe(subscription.filter)
    hooks.authorizeForward = (client, message) => client.transport === 'bridge' || rulesOf(client).canRead(message.topic)
  }
  return hooks
}
