/**
 * `pub -l` streams stdin line by line: a pub | sub pipeline at QoS 1 loses nothing and keeps order, and lines are
 * sent as they arrive, not when stdin ends.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {cli__cleanup, cli__spawn, cli__startMqttkit, cli__subscribed} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

const host = ['-h', '127.0.0.1']

describe('pub -l | sub', () => {
  it('10,000 lines at QoS 1 arrive complete and in order [MQTT-4.6.0-2]', async () => {
    // The broker drops messages for a subscriber that falls more than maxQueued (default 1000, like mosquitto's
    // max_queued_messages) behind; on a loaded machine the -d subscriber can. What is tested here is that the two
    // clients lose nothing, so the queue may hold the whole run.
    const broker = await cli__startMqttkit({maxQueued: 20_000})
    const port = String(broker.port)
    const n = 10_000
    // Generous process limits: on a loaded 2-core CI machine this is the heaviest test of the set.
    const sub = await cli__subscribed([...host, '-p', port, '-t', 'lines', '-q', '1', '-C', String(n)], {timeoutMs: 150_000})
    const pub = cli__spawn(['pub', ...host, '-p', port, '-t', 'lines', '-l', '-q', '1', '--json'], {keepStdin: true, timeoutMs: 150_000})
    // Written in uneven chunks that split lines, as a real producer would.
    const text = Array.from({length: n}, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\n') + '\n'
    for (let at = 0; at < text.length; at += 7919) pub.child.stdin!.write(text.slice(at, at + 7919))
    pub.child.stdin!.end()
    const [p, s] = await Promise.all([pub.exited, sub.exited])
    expect(p.code, p.stderr.slice(-500)).toBe(0)
    expect(JSON.parse(p.stdout.toString())).toMatchObject({messages: n, completed: n})
    expect(s.code, s.stderr).toBe(0)
    const lines = s.stdout.toString().split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.length).toBe(n)
    for (let i = 0; i < n; i++) {
      if (lines[i] !== `line ${i} ${'x'.repeat(i % 50)}`) throw new Error(`line ${i} is "${lines[i]}"`)
    }
  }, 180_000)

  it('sends each line as it arrives (streaming), skips empty lines, strips CR, keeps binary bytes', async () => {
    const broker = await cli__startMqttkit()
    const port = String(broker.port)
    const sub = await cli__subscribed([...host, '-p', port, '-t', 'stream', '-q', '1', '-F', '%x'])
    const pub = cli__spawn(['pub', ...host, '-p', port, '-t', 'stream', '-l', '-q', '1'], {keepStdin: true})
    pub.child.stdin!.write('first\r\n')
    // Seen by the subscriber while pub's stdin is still open.
    await sub.waitForStdout(/^6669727374\n/, 30_000)
    pub.child.stdin!.write(Buffer.from([0x0a, 0x0a, 0x00, 0xff, 0x0d, 0x0a, 0x6c, 0x61, 0x73, 0x74]))
    pub.child.stdin!.end()
    const p = await pub.exited
    expect(p.code, p.stderr).toBe(0)
    await sub.waitForStdout(/6c617374\n$/, 30_000)
    sub.child.kill('SIGINT')
    const s = await sub.exited
    // "first", then the binary line 00 ff (its CR stripped), then "last" without a final newline.
    expect(s.stdout.toString()).toBe('6669727374\n00ff\n6c617374\n')
  })

  it('Ctrl-C during -l stops reading, reports on stderr and exits 130', async () => {
    const broker = await cli__startMqttkit()
    const pub = cli__spawn(['pub', ...host, '-p', String(broker.port), '-t', 'stop', '-l', '-q', '1', '-d'], {keepStdin: true})
    pub.child.stdin!.write('one\n')
    await pub.waitForStderr(/received PUBACK/, 30_000)
    pub.child.kill('SIGINT')
    const r = await pub.exited
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(/interrupted after 1 of 1 message\(s\) completed/)
  })
})
