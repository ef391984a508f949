/**
 * `mqttkit sub --chart` in a real terminal: tmux runs the chart at a fixed size against the mqttkit broker,
 * `pub --simulate` publishes three sine devices, `tmux capture-pane` reads what a person would see (the three
 * series in the legend with numbers, a non-numeric message counted in the side panel), a resize redraws at the
 * new size, and `q` ends the process with exit 0 and the terminal back in cooked mode (icanon, echo) outside the
 * alternate screen. Without a terminal `--chart` refuses in one line.
 */
import {afterEach, describe, expect, it, vi} from 'vitest'
import {brokers__cleanup, brokers__startMqttkit} from '../helpers/brokers.js'
import {requireProgram} from '../helpers/system.js'
import {tmux__path as TMUX, tmux__quote as quote, tmux__server} from '../helpers/tmux.js'
import {cli__cleanup, cli__mqttjs, cli__run, cli__startMqttkit, repoRoot} from '../helpers/cli.js'

vi.setConfig({testTimeout: 90_000})

const server = tmux__server('chart')
const tmux = server.run

afterEach(async () => {
  server.kill()
  await cli__cleanup()
  await brokers__cleanup()
})

const waitForScreen = (pattern: RegExp, timeoutMs = 20_000): Promise<string> => server.waitForScreen('chart', pattern, timeoutMs)

describe('sub --chart in tmux', () => {
  it('draws three simulated series with last/min/max/mean, counts non-numeric messages, redraws on resize, q exits 0 and restores the terminal', async (ctx) => {
    if (!requireProgram(ctx, TMUX, 'tmux')) return
    const broker = await brokers__startMqttkit()
    // The chart is drawn before its SUBSCRIBE goes out: the broker says when the subscription is in place.
    const subscribed = new Promise<void>((resolve) => broker.mqttkit!.on('subscribe', () => resolve()))
    const port = String(broker.port)
    const sub = [process.execPath, 'bin/run.js', 'sub', '-h', '127.0.0.1', '-p', port, '-t', 'sim/#', '--chart'].map(quote).join(' ')
    // After the chart: its exit code and the terminal modes, printed by the shell that got the terminal back.
    const script = `cd ${quote(repoRoot)}; ${sub}; echo "EXIT=$?"; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo; sleep 60`
    tmux('new-session', '-d', '-s', 'chart', '-x', '120', '-y', '40', `env -u CI -u NO_COLOR TERM=xterm-256color sh -c ${quote(script)}`)
    await waitForScreen(/waiting for numeric messages/)
    await subscribed
    const peer = await cli__mqttjs(broker.port)
    await peer.publishAsync('sim/status', 'online')
    await waitForScreen(/non-numeric: 1/)

    const pub = await cli__run(['pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'sine', '--topic', 'sim/%i', '--clients', '3', '--rate', '20', '--duration', '3'])
    expect(pub.code, pub.stderr).toBe(0)
    const number = String.raw`-?\d+(?:\.\d+)?(?:e[-+]\d+)?`
    const legend = (i: number) => new RegExp(String.raw`━━ sim/${i}\s+last\s+${number}\s+min\s+${number}\s+max\s+${number}\s+mean\s+${number}`)
    const shown = await waitForScreen(/━━ sim\/3/)
    for (const i of [1, 2, 3]) expect(shown).toMatch(legend(i))
    // The sine of amplitude 1 is within [-1, 1]; the status message is counted, not charted.
    for (const i of [1, 2, 3]) {
      const [, min, max] = new RegExp(String.raw`━━ sim/${i}.*min\s+(${number})\s+max\s+(${number})`).exec(shown)!
      expect(Number(min)).toBeGreaterThanOrEqual(-1)
      expect(Number(max)).toBeLessThanOrEqual(1)
      expect(Number(max)).toBeGreaterThan(Number(min))
    }
    expect(shown).toMatch(/non-numeric: 1\s/)
    expect(shown).toMatch(/1 sim\/status/)
    expect(shown).toMatch(/messages per second/)
    expect(shown).toMatch(/mqttkit sub --chart · sim\/# · window 60s/)
    const lines = shown.split('\n')
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(120)

    // Resize: the next frame fits 80 columns; the side panel gives way to a one-line summary.
    tmux('resize-window', '-t', 'chart', '-x', '80', '-y', '30')
    const narrow = await waitForScreen(/non-numeric: 1 · hidden series: none/)
    expect(Math.max(...narrow.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80)
    expect(narrow).toMatch(legend(2))

    tmux('send-keys', '-t', 'chart', 'q')
    const after = await waitForScreen(/EXIT=\d+\n.*icanon/)
    expect(after).toMatch(/EXIT=0/)
    // Cooked mode again (not -icanon / -echo), and the alternate screen is gone with the chart on it.
    expect(after).toMatch(/(^|\s)icanon(\s|$)/m)
    expect(after).toMatch(/(^|\s)echo(\s|$)/m)
    expect(after).not.toMatch(/-icanon|-echo\b/)
    expect(after).not.toContain('mqttkit sub --chart')
  })

  it('reconnection notes appear in the side panel (not on stderr, which would tear the picture); Ctrl-C quits with exit 0', async (ctx) => {
    if (!requireProgram(ctx, TMUX, 'tmux')) return
    const broker = await cli__startMqttkit()
    const sub = [process.execPath, 'bin/run.js', 'sub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'x', '--chart', '--window', '10s'].map(quote).join(' ')
    tmux('new-session', '-d', '-s', 'chart', '-x', '100', '-y', '30', `sh -c ${quote(`cd ${quote(repoRoot)}; ${sub}; echo "EXIT=$?"; sleep 60`)}`)
    await waitForScreen(/window 10s/)
    await broker.stop()
    const noted = await waitForScreen(/│reconnecting to/)
    // The panel column is intact: the notes are inside it, right of the divider, wrapped to its width.
    expect(noted).toMatch(/│connection refused by/)
    for (const line of noted.split('\n')) expect(line.length).toBeLessThanOrEqual(100)
    expect(noted).toMatch(/^mqttkit sub --chart · x · window 10s/)
    tmux('send-keys', '-t', 'chart', 'C-c')
    expect(await waitForScreen(/EXIT=\d+/)).toMatch(/EXIT=0/)
  })
})

describe('sub --chart without a terminal', () => {
  it('refuses in one line suggesting --jsonl (exit 1), before connecting; --json and bad flags too', async () => {
    // Port 1: nothing listens there, so reaching the network would be exit 2, not 1.
    const base = ['sub', '-h', '127.0.0.1', '-p', '1', '-t', 'x', '--chart']
    const [piped, json, window, series, jsonl] = await Promise.all([
      cli__run(base),
      cli__run([...base, '--json']),
      cli__run([...base, '--window', 'soon']),
      cli__run([...base, '--series-max', '0']),
      cli__run([...base, '--jsonl']),
    ])
    expect(piped.code).toBe(1)
    expect(piped.stderr.trim()).toBe('Error: --chart needs a terminal (stdout is not one); to record messages use --jsonl instead')
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout.toString()).error.message).toMatch(/drop --json/)
    for (const r of [window, series, jsonl]) {
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(jsonl.stderr).toMatch(/--jsonl/)
    const field = await cli__run(['sub', '-t', 'x', '--field', 'temp'])
    expect(field.code).toBe(1)
    expect(field.stderr).toMatch(/--chart/)
  })
})
