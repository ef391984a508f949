/**
 * The web admin as `mqttkit broker` serves it (built binary, `npm run build` first): the banner's admin URL and
 * one-time login URL, the token hash in the data directory, `--web-token`, `--no-web`, `mqttkit web-token --reset`
 * taking effect in the running broker, and POST /config written back to the --config file.
 */
import {readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {brokerCli__cleanup, brokerCli__spawn, brokerCli__waitFor} from '../broker/broker-cli.js'
import {cli__run} from '../helpers/cli.js'
import {web__cleanup, web__tempDir} from './helpers.js'

afterEach(async () => {
  brokerCli__cleanup()
  await web__cleanup()
})

/** `mqttkit broker` with the web admin on a free port (the helper adds --no-web; a later --web wins). */
function broker(dataDir: string, extra: string[] = [], env: Record<string, string> = {}) {
  return brokerCli__spawn(['--mqtt-host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir, '--web', '--web-port', '0', ...extra], env)
}

const ADMIN = /web admin on (http:\/\/127\.0\.0\.1:\d+\/)/
/** Starting the CLI takes seconds on a loaded machine. */
const WAIT = 45_000


describe('mqttkit broker --web-port', () => {
  it('prints the admin URL and, at the first start only, a login URL whose token works; only its hash is stored (0600)', async () => {
    const dataDir = await web__tempDir()
    const first = broker(dataDir)
    await brokerCli__waitFor(first, ADMIN, WAIT)
    const url = ADMIN.exec(first.output())![1]!
    const login = /log in \(this URL is shown once\): (http:\/\/\S+)/.exec(first.output())![1]!
    const token = new URL(login).searchParams.get('token')!
    expect((await fetch(`${url}stats`, {headers: {authorization: `Bearer ${token}`}})).status).toBe(200)
    expect((await fetch(`${url}stats`)).status).toBe(401)
    expect((await stat(join(dataDir, 'web-token'))).mode & 0o777).toBe(0o600)
    expect(await readFile(join(dataDir, 'web-token'), 'utf8')).not.toContain(token)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    const second = broker(dataDir)
    await brokerCli__waitFor(second, /log in with the token printed at the first start/, WAIT)
    expect(second.output()).not.toContain('?token=')
    const url2 = ADMIN.exec(second.output())![1]!
    expect((await fetch(`${url2}stats`, {headers: {authorization: `Bearer ${token}`}})).status).toBe(200)

    // `mqttkit web-token --reset` makes a new token; the running broker stops taking the old one.
    const reset = await cli__run(['web-token', '--reset', '--data-dir', dataDir, '--json'])
    expect(reset.code).toBe(0)
    const result = JSON.parse(reset.stdout.toString()) as {token: string; file: string}
    expect(result.file).toBe(join(dataDir, 'web-token'))
    await new Promise((r) => setTimeout(r, 1100))
    expect((await fetch(`${url2}stats`, {headers: {authorization: `Bearer ${token}`}})).status).toBe(401)
    expect((await fetch(`${url2}stats`, {headers: {authorization: `Bearer ${result.token}`}})).status).toBe(200)
  }, 180_000)

  it('--web-token (MQTTKIT_WEB_TOKEN) sets the token and writes no file; a short one is refused', async () => {
    const dataDir = await web__tempDir()
    const run = broker(dataDir, [], {MQTTKIT_WEB_TOKEN: 'my-own-admin-token-123'})
    await brokerCli__waitFor(run, ADMIN, WAIT)
    const url = ADMIN.exec(run.output())![1]!
    expect(run.output()).not.toContain('log in')
    expect((await fetch(`${url}clients`, {headers: {authorization: 'Bearer my-own-admin-token-123'}})).status).toBe(200)
    await expect(stat(join(dataDir, 'web-token'))).rejects.toThrow()
    const short = broker(dataDir, ['--web-token', 'short'])
    expect(await short.exited).toBe(1)
    expect(short.output().replace(/\s+›\s+/g, ' ')).toContain('at least 16 characters')
  }, 180_000)

  it('--no-web serves no admin; POST /config is written back to the --config file', async () => {
    const dataDir = await web__tempDir()
    const off = brokerCli__spawn(['--mqtt-host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir])
    await brokerCli__waitFor(off, /listening on mqtt/, WAIT)
    expect(off.output()).not.toContain('web admin')

    const config = join(dataDir, 'broker.json')
    await writeFile(config, JSON.stringify({'max-connections': 50}))
    const run = broker(dataDir, ['--config', config, '--web-token', 'config-admin-token-123'])
    await brokerCli__waitFor(run, ADMIN, WAIT)
    const url = ADMIN.exec(run.output())![1]!
    const res = await fetch(`${url}config`, {method: 'POST', headers: {authorization: 'Bearer config-admin-token-123', 'content-type': 'application/json'}, body: JSON.stringify({maxConnections: 7, allowAnonymous: false})})
    expect(res.status).toBe(200)
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({'max-connections': 7, 'allow-anonymous': false})
  }, 180_000)
})
