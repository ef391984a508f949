/**
 * The built CLI broker as a child process, for tests that must kill it for real (`kill -9`) and start it again on
 * the same store. Needs `npm run build` first, like every test that runs bin/run.js.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {connect} from 'node:net'
import {fileURLToPath} from 'node:url'
import {brokers__freePort as freePort} from '../helpers/brokers.js'

const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export class BrokerProcess {
  output = ''
  private exited: Promise<number | null>

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)))
  }

  /** `mqttkit broker --mqtt-port PORT --mqtt-host 127.0.0.1 --no-ws ...args`, not waited for. */
  private static spawn(port: number, args: string[]): BrokerProcess {
    const child = spawn(process.execPath, [RUN, 'broker', '--mqtt-port', String(port), '--mqtt-host', '127.0.0.1', '--no-ws', '--no-web', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, NO_COLOR: '1'},
    })
    return new BrokerProcess(child, port)
  }

  /** Starts `mqttkit broker --mqtt-port PORT ...args` and resolves once the port accepts connections. */
  static async start(args: string[], port?: number, timeoutMs = 15_000): Promise<BrokerProcess> {
    const chosen = port ?? (await freePort())
    const broker = BrokerProcess.spawn(chosen, args)
    const {child} = broker
    const deadline = Date.now() + timeoutMs
    while (!(await canConnect(chosen))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`broker exited (${child.exitCode ?? child.signalCode}) before listening:\n${broker.output}`)
      }

      if (Date.now() > deadline) {
        broker.child.kill('SIGKILL')
        throw new Error(`broker did not listen on ${chosen} within ${timeoutMs} ms:\n${broker.output}`)
      }

      await new Promise((resolve) => setTimeout(resolve, 50))
    }

    return broker
  }

  /** Runs the CLI broker expecting it to refuse to start; resolves with its exit code and output. */
  static async refuse(args: string[], timeoutMs = 15_000): Promise<{code: number | null; output: string}> {
    const port = await freePort()
    const broker = BrokerProcess.spawn(port, args)
    const timer = setTimeout(() => broker.child.kill('SIGKILL'), timeoutMs)
    const code = await broker.exited
    clearTimeout(timer)
    return {code, output: broker.output}
  }

  /** SIGKILL: no shutdown code runs, exactly like a crash. */
  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM: the broker's own clean shutdown; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}
