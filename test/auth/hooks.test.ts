/** The auth hooks on their own: the login decision table, the refusal path, ACL hooks and reloading files. */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Acl} from '../../src/broker/auth/acl.js'
import {AuthFiles, auth__hooks} from '../../src/broker/auth/hooks.js'
import {PasswordFile} from '../../src/broker/auth/password-file.js'
import {type ClientInfo, HookError} from '../../src/broker/hooks.js'
import type {StoredMessage, SubscriptionRecord} from '../../src/broker/store/store.js'

const FAST = {N: 1024, r: 8, p: 1}
const v5 = (username?: string, id = 'c'): ClientInfo => ({id, username, protocolVersion: 5, transport: 'tcp', remoteAddress: '127.0.0.1'})
const v4 = (username?: string): ClientInfo => ({...v5(username), protocolVersion: 4})
const msg = (topic: string): StoredMessage => ({topic, payload: Buffer.alloc(0), qos: 0, retain: false})
const sub = (filter: string): SubscriptionRecord => ({filter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0})

/** true, false, or the HookError's reason code. */
async function login(hooks: ReturnType<typeof auth__hooks>, client: ClientInfo, username?: string, password?: string) {
  try {
    return await hooks.authenticate!(client, username, password === undefined ? undefined : Buffer.from(password))
  } catch (error) {
    return (error as HookError).reasonCode
  }
}

let dir: string
let users: PasswordFile
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-hooks-'))
  users = new PasswordFile()
  await users.set('alice', 'pw', FAST)
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('authenticate', () => {
  it('with a password file: right password in; wrong, missing, unknown out; anonymous per allowAnonymous', async () => {
    const open = auth__hooks({passwordFile: users, allowAnonymous: true, failedLoginDelayMs: 0})
    expect(await login(open, v5('alice'), 'alice', 'pw')).toBe(true)
    expect(await login(open, v5('alice'), 'alice', 'nope')).toBe(false)
    expect(await login(open, v5('alice'), 'alice')).toBe(false)
    expect(await login(open, v5('bob'), 'bob', 'pw')).toBe(false)
    expect(await login(open, v5(), undefined)).toBe(true)
    const closed = auth__hooks({passwordFile: users, allowAnonymous: false, failedLoginDelayMs: 0})
    expect(await login(closed, v5(), undefined)).toBe(false)
    expect(await login(closed, v5('alice'), 'alice', 'pw')).toBe(true)
  })

  it('without a password file: any user name is accepted exactly when anonymous access is', async () => {
    expect(await login(auth__hooks({allowAnonymous: true, failedLoginDelayMs: 0}), v5('x'), 'x', 'y')).toBe(true)
    expect(await login(auth__hooks({allowAnonymous: false, failedLoginDelayMs: 0}), v5('x'), 'x', 'y')).toBe(false)
    expect(await login(auth__hooks({allowAnonymous: false, failedLoginDelayMs: 0}), v5(), undefined)).toBe(false)
  })

  it('refuses 3.1.1 clients with HookError 0x87 (return code 5) and MQTT 5 clients with false (0x86)', async () => {
    const hooks = auth__hooks({passwordFile: users, allowAnonymous: false, failedLoginDelayMs: 0})
    expect(await login(hooks, v4('alice'), 'alice', 'nope')).toBe(0x87)
    expect(await login(hooks, v5('alice'), 'alice', 'nope')).toBe(false)
  })

  it('waits the failed-login delay before every refusal, and not before an acceptance', async () => {
    const hooks = auth__hooks({passwordFile: users, allowAnonymous: false, failedLoginDelayMs: 400})
    for (const [user, password] of [['alice', 'nope'], ['nobody', 'pw'], [undefined, undefined]] as const) {
      const start = performance.now()
      expect(await login(hooks, v5(user), user, password)).toBe(false)
      expect(performance.now() - start).toBeGreaterThanOrEqual(395)
    }
    // An acceptance costs one cheap (N=1024) scrypt, nowhere near the delay.
    const start = performance.now()
    expect(await login(hooks, v5('alice'), 'alice', 'pw')).toBe(true)
    expect(performance.now() - start).toBeLessThan(300)
  })
})

describe('authenticate with a verified client certificate', () => {
  it('accepts the certificate CN as the credential when it replaced the CONNECT user name, and only then', async () => {
    const hooks = auth__hooks({passwordFile: users, allowAnonymous: false, failedLoginDelayMs: 0})
    const certificate = {subject: {CN: 'sensor-17'}} as unknown as NonNullable<ClientInfo['certificate']>
    const byCertificate: ClientInfo = {...v5('sensor-17'), certificate}
    expect(await login(hooks, byCertificate, undefined)).toBe(true)
    expect(await login(hooks, byCertificate, 'someone-else', 'x')).toBe(true)
    // The same name typed in CONNECT: a password login like any other (sensor-17 has none here).
    expect(await login(hooks, byCertificate, 'sensor-17', 'x')).toBe(false)
    // A certificate without CN-as-username leaves client.username as CONNECT sent it: password check.
    expect(await login(hooks, {...v5('alice'), certificate}, 'alice', 'nope')).toBe(false)
    expect(await login(hooks, {...v5(), certificate}, undefined)).toBe(false)
  })
})

describe('ACL hooks', () => {
  it('are absent without an ACL (everything allowed), present with one', () => {
    expect(auth__hooks({}).authorizePublish).toBeUndefined()
    const hooks = auth__hooks({acl: Acl.parse('user a\ntopic read r/#\ntopic write w/#\n')})
    expect(hooks.authorizePublish!(v5('a'), msg('w/1'))).toBe(true)
    expect(hooks.authorizePublish!(v5('a'), msg('r/1'))).toBe(false)
    expect(hooks.authorizeSubscribe!(v5('a'), sub('r/#'))).toBe(true)
    expect(hooks.authorizeSubscribe!(v5('a'), sub('w/#'))).toBe(false)
    expect(hooks.authorizeForward!(v5('a'), msg('r/x'))).toBe(true)
    expect(hooks.authorizeForward!(v5('a'), msg('w/x'))).toBe(false)
    expect(hooks.authorizeForward!(v5(), msg('r/x'))).toBe(false)
  })
})

describe('AuthFiles.reload', () => {
  it('applies new users and rules at once, and keeps the old ones when the new files are broken', async () => {
    const passwd = join(dir, 'passwd')
    const aclPath = join(dir, 'acl')
    await users.save(passwd)
    await writeFile(aclPath, 'user alice\ntopic read a/#\n')
    const auth = await AuthFiles.load({passwordFile: passwd, aclFile: aclPath, allowAnonymous: false, failedLoginDelayMs: 0})
    const alice = v5('alice')
    expect(await login(auth.hooks, v5('bob'), 'bob', 'bob-pw')).toBe(false)
    expect(auth.hooks.authorizeForward!(alice, msg('b/1'))).toBe(false)

    const more = await PasswordFile.load(passwd)
    await more.set('bob', 'bob-pw', FAST)
    await more.save()
    await writeFile(aclPath, 'user alice\ntopic read a/#\ntopic read b/#\n')
    expect(await auth.reload()).toEqual({users: 2, rules: 2})
    expect(await login(auth.hooks, v5('bob'), 'bob', 'bob-pw')).toBe(true)
    // The same connection (same ClientInfo) sees the new rules.
    expect(auth.hooks.authorizeForward!(alice, msg('b/1'))).toBe(true)

    await writeFile(aclPath, 'user alice\ntopic read a/#/x\n')
    await expect(auth.reload()).rejects.toThrow(/acl line 2: "#" must be a whole level/)
    expect(auth.hooks.authorizeForward!(alice, msg('b/1'))).toBe(true)
    expect(await login(auth.hooks, v5('bob'), 'bob', 'bob-pw')).toBe(true)
  })
})
