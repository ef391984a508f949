/**
 * `mqttkit broker` as users run it: the built CLI (`node bin/run.js broker`, so `npm run build` first) in a child
 * process with the memory store and no WebSocket listener. Every child is killed by `brokerCli__cleanup()`.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const children: ChildProcess[] = []

export interface BrokerRun {
  child: ChildProcess
  /** stdout and stderr so far, interleaved as they arrived. */
  output: () => string
  exited: Promise<number | null>
}

export function brokerCli__spawn(args: string[], env: Record<string, string> = {}): BrokerRun {
  let output = ''
  const child = spawn(process.execPath, [RUN, 'broker', '--store', 'memory', '--no-ws', '--no-web', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, NO_COLOR: '1', ...env},
  })
  children.push(child)
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, output: () => output, exited}
}

/** Resolves once the output matches; throws with the output if the broker exits first or after `timeout` ms. */
export async function brokerCli__waitFor(r: BrokerRun, pattern: RegExp, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!pattern.test(r.output())) {
    if (r.child.exitCode !== null) throw new Error(`broker exited ${r.child.exitCode}:\n${r.output()}`)
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${r.output()}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

/** Kills every broker still running (call it in afterEach). */
export function brokerCli__cleanup(): void {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}
