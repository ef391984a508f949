/**
 * `mqttkit retained clear` asking on a real terminal (tmux): past 10 matching topics it asks `[y/N]`; "n" clears
 * nothing (exit 1), "y" clears them all (exit 0). Retained messages are set up and checked with mqtt.js.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {tmux__path as TMUX, tmux__quote as quote, tmux__server} from '../helpers/tmux.js'
import {cli__cleanup, cli__mqttjs, cli__startMqttkit, repoRoot} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})

const server = tmux__server('retained')
const tmux = server.run

afterEach(async () => {
  server.kill()
  await cli__cleanup()
})

const waitForScreen = (name: string, pattern: RegExp, timeoutMs?: number): Promise<string> => server.waitForScreen(name, pattern, timeoutMs)

async function retainedCount(port: number, filter: string): Promise<number> {
  const client = await cli__mqttjs(port)
  let n = 0
  client.on('message', (_t, _p, packet) => void (packet.retain && n++))
  await client.subscribeAsync(filter)
  await new Promise((r) => setTimeout(r, 300))
  await client.endAsync()
  return n
}

describe('retained clear on a terminal', () => {
  it('asks before clearing more than 10 topics: n keeps them (exit 1), y clears them (exit 0)', async (ctx) => {
    if (!requireProgram(ctx, TMUX, 'tmux')) return
    const broker = await cli__startMqttkit({sysInterval: 0})
    const seeder = await cli__mqttjs(broker.port)
    for (let i = 0; i < 12; i++) await seeder.publishAsync(`many/${i}`, `v${i}`, {qos: 1, retain: true})
    await seeder.endAsync()
    const clear = [process.execPath, 'bin/run.js', 'retained', 'clear', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'many/#'].map(quote).join(' ')
    const script = `cd ${quote(repoRoot)}; ${clear}; echo "EXIT=$?"; sleep 60`
    const run = (name: string) => tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '30', `env -u CI NO_COLOR=1 sh -c ${quote(script)}`)

    run('no')
    await waitForScreen('no', /12 retained messages match many\/#: clear them all\? \[y\/N\]/)
    tmux('send-keys', '-t', 'no', 'n', 'Enter')
    const refused = await waitForScreen('no', /EXIT=\d+/)
    expect(refused).toMatch(/not confirmed: nothing cleared/)
    expect(refused).toMatch(/EXIT=1/)
    expect(await retainedCount(broker.port, 'many/#')).toBe(12)

    run('yes')
    await waitForScreen('yes', /\[y\/N\]/)
    tmux('send-keys', '-t', 'yes', 'y', 'Enter')
    const done = await waitForScreen('yes', /EXIT=\d+/)
    expect(done).toMatch(/12 of 12 retained message\(s\) cleared/)
    expect(done).toMatch(/EXIT=0/)
    expect(await retainedCount(broker.port, 'many/#')).toBe(0)
  })
})
