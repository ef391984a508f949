import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PasswordFile, PasswordFileError, passwordHash__parse} from '../../src/broker/auth/password-file.js'
import {requireProgram} from '../helpers/system.js'

const FAST = {N: 1024, r: 8, p: 1} as const
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-pw-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('password file', () => {
  it('verifies scrypt passwords and refuses wrong, missing and unknown ones alike', async () => {
    const file = new PasswordFile()
    await file.set('alice', 's3cret', FAST)
    expect(await file.verify('alice', Buffer.from('s3cret'))).toBe(true)
    expect(await file.verify('alice', Buffer.from('s3creT'))).toBe(false)
    expect(await file.verify('alice', Buffer.from(''))).toBe(false)
    expect(await file.verify('alice', undefined)).toBe(false)
    expect(await file.verify('bob', Buffer.from('s3cret'))).toBe(false)
    expect(await file.verify(undefined, Buffer.from('s3cret'))).toBe(false)
  })

  it('writes the documented format, mode 0600, and reads it back', async () => {
    const path = join(dir, 'roundtrip')
    const file = new PasswordFile(path)
    await file.set('alice', 'one')
    await file.set('bob', 'two', FAST)
    await file.save()
    const text = await readFile(path, 'utf8')
    expect(text).toMatch(/^alice:\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}\nbob:\$scrypt\$N=1024,/)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const again = await PasswordFile.load(path)
    expect(again.users()).toEqual(['alice', 'bob'])
    expect(await again.verify('alice', Buffer.from('one'))).toBe(true)
    expect(await again.verify('bob', Buffer.from('two'))).toBe(true)
    expect(again.serialize()).toBe(text)
  })

  it('tightens a readable file to 0600 when it is rewritten', async () => {
    const path = join(dir, 'loose')
    await writeFile(path, '', {mode: 0o644})
    const file = await PasswordFile.load(path)
    await file.set('u', 'p', FAST)
    await file.save()
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('reads mosquitto $7$ (PBKDF2-SHA512) and $6$ (SHA-512) hashes made by mosquitto_passwd', async (ctx) => {
    if (!requireProgram(ctx, '/usr/bin/mosquitto_passwd', 'mosquitto')) return
    const path = join(dir, 'mosquitto')
    execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', path, 'alice', 'pbkdf2-pass'])
    execFileSync('/usr/bin/mosquitto_passwd', ['-H', 'sha512', '-b', path, 'bob', 'sha-pass'])
    const text = await readFile(path, 'utf8')
    expect(text).toMatch(/^alice:\$7\$/m)
    expect(text).toMatch(/^bob:\$6\$/m)
    const file = await PasswordFile.load(path)
    expect(await file.verify('alice', Buffer.from('pbkdf2-pass'))).toBe(true)
    expect(await file.verify('alice', Buffer.from('sha-pass'))).toBe(false)
    expect(await file.verify('bob', Buffer.from('sha-pass'))).toBe(true)
    expect(await file.verify('bob', Buffer.from('pbkdf2-pass'))).toBe(false)
    // Adding a user keeps the mosquitto lines byte for byte.
    await file.set('carol', 'x', FAST)
    expect(file.serialize().startsWith(text.endsWith('\n') ? text : `${text}\n`)).toBe(true)
  })

  it('spends as long on an unknown user as on a known one', async () => {
    const file = new PasswordFile()
    await file.set('alice', 'pw')
    const time = async (user: string) => {
      const start = performance.now()
      await file.verify(user, Buffer.from('wrong'))
      return performance.now() - start
    }
    // Interleaved, and the fastest of each kept: robust against a busy machine slowing one side.
    let known = Infinity
    let unknown = Infinity
    for (let i = 0; i < 5; i++) {
      known = Math.min(known, await time('alice'))
      unknown = Math.min(unknown, await time('nobody'))
    }
    // Both run scrypt with N=16384 (tens of ms); without the dummy hash the unknown user would take ~0.05 ms. The
    // margins are wide because a busy machine makes single timings swing by a factor of several.
    expect(unknown).toBeGreaterThan(5)
    expect(unknown).toBeGreaterThan(known / 10)
  })

  it('names the file and line of a malformed entry, and refuses plain-text passwords', () => {
    expect(() => PasswordFile.parse('# users\n\nalice:plain\n', 'f')).toThrow(/^f line 3: the password is not hashed/)
    expect(() => PasswordFile.parse('nocolon\n', 'f')).toThrow(/f line 1: expected "user:hash"/)
    expect(() => PasswordFile.parse('a:$md5$x$y\n', 'f')).toThrow(/unknown hash type "\$md5\$"/)
    expect(() => PasswordFile.parse('a:$scrypt$N=3,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==\n')).toThrow(/power of two/)
    expect(() => PasswordFile.parse('a:$7$0$AAAA$AAAA\n')).toThrow(/iterations/)
    expect(() => PasswordFile.parse('a:$6$AAAA$!!\n')).toThrow(/not base64/)
    const line = 'a:$7$101$AAAAAAAAAAAAAAAA$' + Buffer.alloc(64).toString('base64')
    expect(() => PasswordFile.parse(`${line}\n${line}\n`)).toThrow(/line 2: user "a" is listed twice/)
    expect(() => passwordHash__parse('$scrypt$N=1024$a$b')).toThrow(PasswordFileError)
  })

  it('refuses user names that would break the file', async () => {
    const file = new PasswordFile()
    await expect(file.set('a:b', 'x', FAST)).rejects.toThrow(/cannot contain ":"/)
    await expect(file.set('a\nb', 'x', FAST)).rejects.toThrow(/line breaks/)
    await expect(file.set('', 'x', FAST)).rejects.toThrow(/empty/)
    await expect(file.set('#x', 'x', FAST)).rejects.toThrow(/comment/)
  })

  it('rejects a missing file with a clear message', async () => {
    await expect(PasswordFile.load(join(dir, 'absent'))).rejects.toThrow(/cannot read password file .*absent: no such file/)
    expect(existsSync(join(dir, 'absent'))).toBe(false)
  })
})
