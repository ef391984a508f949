/**
 * On a terminal (a pty made by util-linux `script`): the ora spinner while connecting and a summary for people;
 * a pty that reports 0 columns gets no spinner (ora would loop on its line arithmetic). In a pipe neither appears,
 * which pub-basic checks with an empty stderr.
 */
import {spawn} from 'node:child_process'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {requireProgram} from '../helpers/system.js'
import {cli__cleanup, cli__startMqttkit, repoRoot} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})
afterEach(cli__cleanup)

/** Runs `mqttkit <args>` inside a pty of `columns` columns; resolves with everything the pty showed. */
function onTerminal(args: string[], columns: number): Promise<{code: number | null; output: string}> {
  const quoted = [process.execPath, 'bin/run.js', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const child = spawn('/usr/bin/script', ['-qec', `stty cols ${columns} rows 40; ${quoted}`, '/dev/null'], {
    cwd: repoRoot,
    // A person's terminal: chalk and ora turn colour and spinners off under CI=true, as they should for CI logs.
    env: {...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stdin.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, output})
    }),
  )
}

describe('pub on a terminal', () => {
  it('shows a spinner while connecting and a coloured summary; none with 0 columns or --json', async (ctx) => {
    if (!requireProgram(ctx, '/usr/bin/script', 'bsdutils')) return
    const broker = await cli__startMqttkit()
    const args = ['pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'tty', '-m', 'x', '-q', '1']
    const [sized, unsized, json] = await Promise.all([onTerminal(args, 100), onTerminal(args, 0), onTerminal([...args, '--json'], 100)])
    expect(sized.code, sized.output).toBe(0)
    expect(sized.output).toContain(`Connecting to mqtt://127.0.0.1:${broker.port}`)
    expect(sized.output).toMatch(/\u001b\[33mnote:\u001b\[39m published 1 message\(s\), 1 bytes, to tty \(QoS 1, all acknowledged\)/)
    expect(unsized.code, unsized.output).toBe(0)
    expect(unsized.output).not.toContain('Connecting to')
    expect(unsized.output).toContain('published 1 message(s)')
    expect(json.code).toBe(0)
    expect(json.output).not.toContain('Connecting to')
  })
})

describe('pub --simulate on a terminal', () => {
  it('keeps a live status line (devices connected, messages sent, rate); none with --json', async (ctx) => {
    if (!requireProgram(ctx, '/usr/bin/script', 'bsdutils')) return
    const broker = await cli__startMqttkit()
    const args = ['pub', '-h', '127.0.0.1', '-p', String(broker.port), '--simulate', 'counter', '-t', 'tty/%i', '--clients', '2', '--rate', '10', '--duration', '1.5']
    const [live, json] = await Promise.all([onTerminal(args, 100), onTerminal([...args, '--json'], 100)])
    expect(live.code, live.output).toBe(0)
    expect(live.output).toMatch(/counter · 2\/2 devices connected · \d+ sent · [\d.]+ msg\/s/)
    expect(live.output).toContain('30 message(s) from 2 device(s)')
    expect(json.code).toBe(0)
    expect(json.output).not.toContain('devices connected')
    expect(JSON.parse(json.output.slice(json.output.indexOf('{'))).messages).toBe(30)
  })
})
