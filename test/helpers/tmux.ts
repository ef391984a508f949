/**
 * Terminal programs under a real terminal: a tmux server of the test's own (its own socket, so no other session is
 * touched), sessions at a fixed size, keys sent, screens read with capture-pane. Tests check `requireProgram(ctx,
 * tmux__path, 'tmux')` first and call `kill()` in afterEach.
 */
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'

export const tmux__path = '/usr/bin/tmux'

/** `a` as one single-quoted shell word. */
export function tmux__quote(a: string): string {
  return `'${a.replaceAll("'", "'\\''")}'`
}

export interface TmuxServer {
  /** Runs `tmux -L <socket> ...args`; throws with tmux's message when it fails. */
  run(...args: string[]): string
  /** What session `target` shows now, as text. */
  screen(target: string): string
  /** Resolves with the screen once it matches; throws with the last screen after `timeoutMs`. */
  waitForScreen(target: string, pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Stops this server and everything running in it (only ours: its own socket). */
  kill(): void
}

export function tmux__server(name: string): TmuxServer {
  const socket = `mqttkit-${name}-${process.pid}-${randomBytes(3).toString('hex')}`
  const run = (...args: string[]): string => {
    const r = spawnSync(tmux__path, ['-L', socket, ...args], {encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const screen = (target: string): string => run('capture-pane', '-p', '-t', target)
  return {
    run,
    screen,
    async waitForScreen(target, pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const text = screen(target)
        if (pattern.test(text)) return text
        if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${text}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    kill: () => void spawnSync(tmux__path, ['-L', socket, 'kill-server'], {stdio: 'ignore'}),
  }
}
