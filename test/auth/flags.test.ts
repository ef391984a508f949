/** The broker's security flags mapped to hooks, options and banner lines. */
import {chmod, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {security__fromFlags} from '../../src/broker/auth/flags.js'
import {PasswordFile} from '../../src/broker/auth/password-file.js'

let dir: string
let passwd: string
let acl: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-flags-'))
  passwd = join(dir, 'passwd')
  acl = join(dir, 'acl')
  const users = new PasswordFile()
  await users.set('alice', 'pw', {N: 1024, r: 8, p: 1})
  await users.save(passwd)
  await writeFile(acl, 'user alice\ntopic alice/#\n')
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('security__fromFlags', () => {
  it('maps the limit flags to broker options and says what was loaded', async () => {
    const security = await security__fromFlags(
      {'password-file': passwd, 'acl-file': acl, 'max-connection-rate': 10, 'max-publish-rate': 100, 'max-publish-bytes-rate': 65_536},
      false,
    )
    expect(security.options).toMatchObject({maxConnectionRate: 10, maxPublishRate: 100, maxPublishBytesRate: 65_536})
    expect(security.options.auth?.hooks.authorizePublish).toBeTypeOf('function')
    expect(security.notes).toEqual([`1 user from ${passwd}`, `1 ACL rule from ${acl}`])
    expect(security.warnings).toEqual([])
  })

  it('warns when nobody can log in, and when an ACL trusts unchecked user names', async () => {
    expect((await security__fromFlags({}, false)).warnings).toEqual([expect.stringContaining('no user can log in')])
    expect((await security__fromFlags({'acl-file': acl}, true)).warnings).toEqual([expect.stringContaining('user names are not checked')])
    expect((await security__fromFlags({}, true)).warnings).toEqual([])
  })

  it('warns about a password file other users can read', async () => {
    const loose = join(dir, 'loose')
    await writeFile(loose, await readFile(passwd), {mode: 0o644})
    await chmod(loose, 0o644)
    expect((await security__fromFlags({'password-file': loose}, true)).warnings).toEqual([`${loose} can be read by other users: chmod 600 it`])
    expect((await security__fromFlags({'password-file': passwd}, true)).warnings).toEqual([])
  })

  it('rejects with the file and line of a mistake', async () => {
    const bad = join(dir, 'bad')
    await writeFile(bad, 'alice:secret\n')
    await expect(security__fromFlags({'password-file': bad}, true)).rejects.toThrow(/bad line 1: the password is not hashed/)
  })
})
