/**
 * Running the built CLI (`node bin/run.js …`, so `npm run build` first) against brokers started by the test:
 * the mqttkit Broker in-process, or a real mosquitto on a free port. Every process and broker is tracked and
 * stopped by `cli__cleanup()` (call it in afterEach/afterAll).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {brokers__freePort, brokers__startMosquitto, brokers__startMqttkit} from './brokers.js'

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const runJs = join(repoRoot, 'bin', 'run.js')

const cleanups: Array<() => unknown> = []

export async function cli__cleanup(): Promise<void> {
  const all = cleanups.splice(0)
  await Promise.allSettled(all.reverse().map(async (fn) => fn()))
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

export interface CliProcess {
  child: ChildProcess
  /** Everything written to stdout so far. */
  stdout(): Buffer
  stderr(): string
  /** Resolves once stderr matches (e.g. /received SUBACK/ with -d); rejects after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Resolves once stdout matches. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<void>
  exited: Promise<CliResult>
}

interface SpawnOptions {
  env?: Record<string, string | undefined>
  /** Written to stdin, which is then closed. Without it stdin is closed at once ('ignore' would not be a pipe). */
  input?: Buffer | string
  /** Keep stdin open (the test writes to child.stdin). */
  keepStdin?: boolean
  timeoutMs?: number
}

function requireBuild(): void {
  if (!existsSync(join(repoRoot, 'dist', 'commands', 'pub.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before these tests (npm test does)')
  }
}

/** Starts `mqttkit <args>`; kills it after `timeoutMs` (default 60 s) so a hang fails the test, not CI. */
export function cli__spawn(args: string[], options: SpawnOptions = {}): CliProcess {
  requireBuild()
  const env: Record<string, string | undefined> = {...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env}
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  const child = spawn(process.execPath, [runJs, ...args], {cwd: repoRoot, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe']})
  const out: Buffer[] = []
  let err = ''
  const watchers: Array<() => void> = []
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk)
    for (const w of watchers) w()
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    err += chunk
    for (const w of watchers) w()
  })
  child.stdin!.on('error', () => {})
  if (options.input !== undefined) child.stdin!.end(options.input)
  else if (!options.keepStdin) child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const exited = new Promise<CliResult>((resolveExit) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolveExit({code, signal, stdout: Buffer.concat(out), stderr: err})
    })
  })
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    return exited
  })
  const waitFor = (read: () => string, pattern: RegExp, timeoutMs = 10_000): Promise<void> =>
    new Promise((resolveWait, reject) => {
      if (pattern.test(read())) return resolveWait()
      // Removed once settled: a watcher left behind would re-run its pattern over all output on every chunk.
      const settle = (error?: Error): void => {
        clearTimeout(t)
        const at = watchers.indexOf(watch)
        if (at !== -1) watchers.splice(at, 1)
        if (error) reject(error)
        else resolveWait()
      }
      const watch = (): void => {
        if (pattern.test(read())) settle()
      }
      const t = setTimeout(() => settle(new Error(`timed out waiting for ${pattern}; stderr so far: ${err.slice(-2000)}`)), timeoutMs)
      watchers.push(watch)
      void exited.then(() => {
        if (watchers.includes(watch)) {
          if (pattern.test(read())) settle()
          else settle(new Error(`exited before ${pattern}; stderr: ${err.slice(-2000)}`))
        }
      })
    })
  return {
    child,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    waitForStderr: (pattern, timeoutMs) => waitFor(() => err, pattern, timeoutMs),
    waitForStdout: (pattern, timeoutMs) => waitFor(() => Buffer.concat(out).toString('utf8'), pattern, timeoutMs),
    exited,
  }
}

/** Runs `mqttkit <args>` to the end. */
export function cli__run(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  return cli__spawn(args, options).exited
}

/**
 * Starts `sub` with -d and resolves once its SUBACK arrived, so a publish after this is seen by it.
 */
export async function cli__subscribed(args: string[], options: SpawnOptions = {}): Promise<CliProcess> {
  const sub = cli__spawn(['sub', '-d', ...args], {keepStdin: true, ...options})
  await sub.waitForStderr(/received SUBACK/, 45_000)
  return sub
}

export interface TestBrokerHandle {
  port: number
  stop(): Promise<void>
}

export {MOSQUITTO as mosquittoPath} from './brokers.js'
/** A free TCP port on 127.0.0.1, for programs that need a number. */
export const cli__freePort = brokers__freePort

/**
 * A real mosquitto on a free port (test/helpers/brokers.ts), anonymous unless `passwords` is given: user →
 * password, written with mosquitto_passwd -b.
 */
export async function cli__startMosquitto(options: {passwords?: Record<string, string>} = {}): Promise<TestBrokerHandle> {
  const extra: string[] = []
  if (options.passwords) {
    const dir = mkdtempSync(join(tmpdir(), 'mqttkit-passwd-'))
    // Started as root, mosquitto drops to its own user: it must be able to read the password file.
    chmodSync(dir, 0o755)
    const file = join(dir, 'passwd')
    writeFileSync(file, '', {mode: 0o644})
    for (const [user, password] of Object.entries(options.passwords)) {
      await new Promise<void>((res, rej) => {
        const p = spawn('/usr/bin/mosquitto_passwd', ['-b', file, user, password], {stdio: 'ignore'})
        p.on('close', (code) => (code === 0 ? res() : rej(new Error(`mosquitto_passwd exited ${code}`))))
      })
    }
    chmodSync(file, 0o644)
    // The later allow_anonymous wins over the helper's default `allow_anonymous true`.
    extra.push('allow_anonymous false', `password_file ${file}`)
  }
  return track(await brokers__startMosquitto(extra))
}

/** The mqttkit Broker in this process on 127.0.0.1:`port` (0 = any free port: test/helpers/brokers.ts). */
export async function cli__startMqttkit(options: Record<string, unknown> = {}, port = 0): Promise<TestBrokerHandle> {
  if (port === 0) return track(await brokers__startMqttkit(options))
  // A fixed port, to bring a broker back where a client is reconnecting.
  const {Broker} = await import('../../src/index.js')
  const broker = new Broker({logLevel: 'silent', listeners: [{type: 'tcp', host: '127.0.0.1', port}], ...options})
  await broker.listen()
  return track({port, stop: () => broker.close()})
}

/** Stops `broker` in `cli__cleanup()` unless the test did; stopping twice is harmless. */
function track(broker: TestBrokerHandle): TestBrokerHandle {
  let stopped: Promise<void> | undefined
  const handle = {port: broker.port, stop: () => (stopped ??= broker.stop())}
  cleanups.push(handle.stop)
  return handle
}

/** An mqtt.js reference client (a third-party peer for the CLI), closed by `cli__cleanup()`. */
export async function cli__mqttjs(port: number, options: import('mqtt').IClientOptions = {}): Promise<import('mqtt').MqttClient> {
  const {default: mqtt} = await import('mqtt')
  const client = mqtt.connect({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 5000, ...options})
  cleanups.push(() => client.end(true))
  await new Promise<void>((res, rej) => {
    client.once('connect', () => res())
    client.once('error', rej)
  })
  return client
}

export interface Received {
  topic: string
  payload: Buffer
  packet: import('mqtt').IPublishPacket
}

/** Subscribes `client` to `filter` and resolves with the first `n` messages (rejects after `timeoutMs`). */
export async function cli__collect(
  client: import('mqtt').MqttClient,
  filter: string,
  n: number,
  options: import('mqtt').IClientSubscribeOptions = {qos: 1},
  timeoutMs = 10_000,
): Promise<() => Promise<Received[]>> {
  const got: Received[] = []
  let done: (value: Received[]) => void = () => {}
  const finished = new Promise<Received[]>((res) => {
    done = res
  })
  client.on('message', (topic, payload, packet) => {
    got.push({topic, payload, packet})
    if (got.length === n) done(got)
  })
  await client.subscribeAsync(filter, options)
  return () =>
    Promise.race([
      finished,
      new Promise<Received[]>((_, rej) => setTimeout(() => rej(new Error(`got ${got.length}/${n} messages`)), timeoutMs)),
    ])
}

/**
 * A broker that only speaks MQTT 3.1/3.1.1, like the old ones still in the field: an MQTT 5 CONNECT gets CONNACK
 * return code 1 (unacceptable protocol version) and the connection is closed; any other connection is handed,
 * bytes unchanged, to the broker on `upstreamPort`. `versions` records the protocol level of each CONNECT.
 */
export async function cli__startV311Only(upstreamPort: number): Promise<TestBrokerHandle & {versions: number[]}> {
  const versions: number[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      // Fixed header, remaining length (1-4 bytes), then "\0\4MQTT" or "\0\6MQIsdp" and the level byte.
      let i = 1
      while (i < head.length && (head[i]! & 0x80) !== 0) i++
      const nameLength = head.readUInt16BE(i + 1)
      const levelAt = i + 3 + nameLength
      if (head.length <= levelAt) return
      socket.removeListener('data', onData)
      const level = head[levelAt]!
      versions.push(level)
      if (level === 5) {
        socket.end(Buffer.from([0x20, 0x02, 0x00, 0x01]))
        return
      }
      const upstream = net.connect(upstreamPort, '127.0.0.1', () => upstream.write(head))
      sockets.add(upstream)
      upstream.on('error', () => socket.destroy())
      upstream.on('close', () => sockets.delete(upstream))
      socket.pipe(upstream).pipe(socket)
    }
    socket.on('data', onData)
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  const stop = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((res) => server.close(() => res()))
  }
  cleanups.push(stop)
  return {port: (server.address() as net.AddressInfo).port, stop, versions}
}
