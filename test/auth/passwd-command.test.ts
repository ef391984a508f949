/**
 * `mqttkit passwd` through the built binary (run `npm run build` first): files it writes are read back by the
 * broker's PasswordFile, mosquitto_passwd files keep working, and the terminal prompt never echoes the password.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {PasswordFile} from '../../src/broker/auth/password-file.js'
import {requireProgram} from '../helpers/system.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')
let dir: string

function passwd(args: string[], input?: string) {
  const result = spawnSync('node', [BIN, 'passwd', ...args], {input, encoding: 'utf8', env: {...process.env, FORCE_COLOR: '0'}})
  return {code: result.status, stdout: result.stdout, stderr: result.stderr}
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttkit-passwd-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

// Each case spawns the CLI several times: allow for a busy machine (about 8 s in all on an idle one).
describe('mqttkit passwd', {timeout: 60_000}, () => {
  it('creates a 0600 file, adds, updates and deletes users; the broker reads what it wrote', async () => {
    const file = join(dir, 'users')
    expect(passwd(['-c', file, 'alice', '--password', 'a-pass']).code).toBe(0)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const added = passwd([file, 'bob', '--password', 'b-pass', '--json'])
    expect(added.code).toBe(0)
    expect(JSON.parse(added.stdout)).toEqual({file, user: 'bob', action: 'added', users: 2})
    const updated = passwd([file, 'alice', '--password', 'a-new', '--json'])
    expect(JSON.parse(updated.stdout)).toMatchObject({action: 'updated', users: 2})

    let users = await PasswordFile.load(file)
    expect(await users.verify('alice', Buffer.from('a-new'))).toBe(true)
    expect(await users.verify('alice', Buffer.from('a-pass'))).toBe(false)
    expect(await users.verify('bob', Buffer.from('b-pass'))).toBe(true)

    const deleted = passwd(['--delete', file, 'bob', '--json'])
    expect(JSON.parse(deleted.stdout)).toMatchObject({action: 'deleted', users: 1})
    users = await PasswordFile.load(file)
    expect(users.users()).toEqual(['alice'])
    expect((await stat(file)).mode & 0o777).toBe(0o600)

    // -c starts over: the old users are gone.
    expect(JSON.parse(passwd(['-c', file, 'zoe', '--password', 'z', '--json']).stdout)).toMatchObject({action: 'added', users: 1})
    expect((await PasswordFile.load(file)).users()).toEqual(['zoe'])
  })

  it('reads the password from the first line of stdin when it is not a terminal', async () => {
    const file = join(dir, 'stdin')
    expect(passwd(['-c', file, 'carol'], 'from stdin\nignored\n').code).toBe(0)
    const users = await PasswordFile.load(file)
    expect(await users.verify('carol', Buffer.from('from stdin'))).toBe(true)
  })

  it('fails with exit 1 and one clear line on every mistake', async () => {
    const file = join(dir, 'mistakes')
    let r = passwd([file, 'x', '--password', 'p'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('does not exist (use -c to create it)')
    passwd(['-c', file, 'x', '--password', 'p'])
    r = passwd(['--delete', file, 'nobody'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no user "nobody"')
    r = passwd([file, 'a:b', '--password', 'p'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot contain ":"')
  })

  it('fails with exit 1 on an empty password or a malformed file, changing nothing', async () => {
    const file = join(dir, 'mistakes2')
    passwd(['-c', file, 'x', '--password', 'p'])
    let r = passwd([file, 'y'], '')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no password given')
    r = passwd([file, 'y'], '\n')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the password is empty')
    await writeFile(join(dir, 'broken'), 'alice:plaintext\n')
    r = passwd([join(dir, 'broken'), 'y', '--password', 'p'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/broken line 1: the password is not hashed/)
    // Nothing was changed by the failures.
    expect((await PasswordFile.load(file)).users()).toEqual(['x'])
  })

  it('adds scrypt users to a mosquitto_passwd file and keeps its $7$ lines', async (ctx) => {
    if (!requireProgram(ctx, '/usr/bin/mosquitto_passwd', 'mosquitto')) return
    const file = join(dir, 'mosquitto')
    execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', file, 'legacy', 'old-pass'])
    const before = await readFile(file, 'utf8')
    expect(passwd([file, 'fresh', '--password', 'new-pass']).code).toBe(0)
    const after = await readFile(file, 'utf8')
    expect(after.startsWith(before)).toBe(true)
    expect(after).toMatch(/^fresh:\$scrypt\$/m)
    const users = await PasswordFile.load(file)
    expect(await users.verify('legacy', Buffer.from('old-pass'))).toBe(true)
    expect(await users.verify('fresh', Buffer.from('new-pass'))).toBe(true)
  })

  it('asks twice on a terminal without echoing the password, and refuses a mismatch', async (ctx) => {
    if (!requireProgram(ctx, '/usr/bin/python3', 'python3')) return
    const file = join(dir, 'tty')
    passwd(['-c', file, 'seed', '--password', 'x'])
    // Python's pty gives the command a real terminal; it types the answers and prints everything the command wrote.
    const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp('node', ['node', sys.argv[1], 'passwd', sys.argv[2], sys.argv[3]])
out = b''
def until(s):
    global out
    end = time.time() + 15
    while s not in out and time.time() < end:
        try: out += os.read(fd, 1024)
        except OSError: return
until(b'Password: ')
os.write(fd, sys.argv[4].encode() + b'\\r')
until(b'Reenter password: ')
os.write(fd, sys.argv[5].encode() + b'\\r')
while True:
    try:
        d = os.read(fd, 1024)
    except OSError: break
    if not d: break
    out += d
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.WEXITSTATUS(status))
`
    const run = (user: string, first: string, second: string) =>
      spawnSync('/usr/bin/python3', ['-c', script, BIN, file, user, first, second], {encoding: 'utf8', env: {...process.env, FORCE_COLOR: '0'}})
    const ok = run('dave', 'hunter2-typed', 'hunter2-typed')
    expect(ok.status).toBe(0)
    expect(ok.stdout).toContain('Reenter password:')
    expect(ok.stdout).toContain('added user dave')
    expect(ok.stdout).not.toContain('hunter2-typed')
    expect(await (await PasswordFile.load(file)).verify('dave', Buffer.from('hunter2-typed'))).toBe(true)

    const mismatch = run('erin', 'one-thing', 'another')
    expect(mismatch.status).toBe(1)
    expect(mismatch.stdout).toContain('the passwords do not match')
    expect((await PasswordFile.load(file)).has('erin')).toBe(false)
  })
})
