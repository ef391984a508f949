// What each entry point loads (issue 20): a command pays only for what it uses, and the library entry carries no
// CLI dependency. Each case runs a real process with a module resolve hook that records every file URL it resolves;
// a file of the bundled CLI (dist/bundle/) stands for the sources esbuild put in it (dist/bundle-meta.json), so a
// dependency counts as loaded when any loaded chunk carries it. Needs `npm run build` first (npm test does).
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {brokers__freePort, brokers__startMqttkit, type RunningBroker} from '../helpers/brokers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const runJs = join(root, 'bin/run.js')

// Runs in the loader thread: appends each resolved file URL to the file named by IMPORTS_LOG.
const hooks = `
import {appendFileSync} from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.startsWith('file:')) appendFileSync(process.env.IMPORTS_LOG, result.url + '\\n')
  return result
}`
const register = `import {register} from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)})`

const dir = mkdtempSync(join(tmpdir(), 'mqttkit-imports-'))
let runs = 0

/** Starts `node [--import hook] args`; `files` resolves at its end with the files it resolved, relative to the repository. */
function start(args: string[]): {child: ChildProcess; files: Promise<string[]>} {
  const log = join(dir, `${++runs}.log`)
  let child!: ChildProcess
  const files = new Promise<string[]>((resolve, reject) => {
    child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, ...args], {
      cwd: root,
      env: {...process.env, IMPORTS_LOG: log},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      // SIGTERM is how the broker case stops it: a broker that just started listening may not handle it yet.
      if (code !== 0 && signal !== 'SIGTERM') return reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`))
      const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []
      resolve([...new Set(urls.map((url) => fileURLToPath(url).slice(root.length)))])
    })
  })
  return {child, files}
}

/** The files a run loaded, each bundle file replaced by the sources inside it (src/… and node_modules/…). */
async function sources(files: Promise<string[]>): Promise<string[]> {
  const meta = JSON.parse(readFileSync(join(root, 'dist/bundle-meta.json'), 'utf8')) as {outputs: Record<string, {inputs: Record<string, unknown>}>}
  return (await files).flatMap((file) => (meta.outputs[file] ? [file, ...Object.keys(meta.outputs[file].inputs)] : [file]))
}

const loaded = (args: string[]): Promise<string[]> => sources(start(args).files)

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

const pkg = (name: string) => new RegExp(`(^|/)node_modules/${name.replace('/', '\\/')}/`)

let broker: RunningBroker
beforeAll(async () => {
  if (!existsSync(join(root, 'dist/bundle/run.js'))) throw new Error('dist/bundle/ is missing: run `npm run build` first')
  broker = await brokers__startMqttkit()
})
afterAll(async () => {
  await broker?.stop()
  rmSync(dir, {recursive: true, force: true})
})

describe('modules loaded at start-up', () => {
  it("`import {Broker} from 'mqttkit'` loads no chalk, ora or oclif, nor mqtt.js (bridges), ioredis (Redis store) or the web admin's fastify, prom-client and yaml before they are used", async () => {
    const files = await loaded(['--input-type=module', '-e', "import {Broker} from 'mqttkit'; if (typeof Broker !== 'function') process.exit(1)"])
    expect(files).toContain('dist/index.js')
    for (const name of ['chalk', 'ora', '@oclif/core', 'mqtt', 'ioredis', 'fastify', 'prom-client', 'yaml']) expect(files.filter((f) => pkg(name).test(f))).toEqual([])
    expect(files.filter((f) => f.startsWith('dist/bundle/') || f.startsWith('dist/commands/'))).toEqual([])
  })

  it('--version prints the line oclif prints, without loading oclif', async () => {
    const files = await loaded([runJs, '--version'])
    expect(files).toContain('dist/bundle/version.js')
    expect(files.filter((f) => pkg('@oclif/core').test(f))).toEqual([])
    const ours = execFileSync(process.execPath, [runJs, '--version'], {cwd: root, encoding: 'utf8'})
    const oclif = execFileSync(process.execPath, ['--input-type=module', '-e', `import {execute} from '@oclif/core'; await execute({dir: ${JSON.stringify(runJs)}, args: ['--version']})`], {cwd: root, encoding: 'utf8'})
    expect(ours).toMatch(/^mqttkit\/\d+\.\d+\.\d+\S* \S+-\S+ node-v\d+/)
    expect(ours).toBe(oclif)
  })

  it('--help loads no command and no client library', async () => {
    for (const args of [['--help'], ['pub', '--help']]) {
      const files = await loaded([runJs, ...args])
      expect(files).toContain('dist/bundle/run.js')
      expect(files.filter((f) => /^(dist|src)\/(bundle\/)?commands\//.test(f) || pkg('mqtt').test(f) || pkg('ora').test(f))).toEqual([])
    }
  })

  it('pub without a terminal loads no spinner, bench engine or doctor checks, and nothing from node_modules (all bundled)', async () => {
    const run = start([runJs, 'pub', '-h', '127.0.0.1', '-p', String(broker.port), '-t', 'x', '-m', '1', '-q', '1'])
    const files = await sources(run.files)
    expect(files).toContain('dist/bundle/commands/pub.js')
    expect(files.filter((f) => pkg('ora').test(f) || /^(dist|src)\/(bench|doctor)\//.test(f))).toEqual([])
    expect(files.filter((f) => pkg('mqtt').test(f)).length).toBeGreaterThan(0)
    // Bundled: mqtt.js, oclif and chalk come inside dist/bundle/, not as hundreds of files to resolve and read.
    expect((await run.files).filter((f) => f.startsWith('node_modules/'))).toEqual([])
  })

  it('pub and sub without --simulate/--chart load neither the simulator nor the chart and its drawing library', async () => {
    const lazy = (f: string): boolean => pkg('simple-ascii-chart').test(f) || /^src\/client\/(chart|simulate)\/(?!flags\.ts$)/.test(f)
    const port = String(broker.port)
    const pub = await loaded([runJs, 'pub', '-h', '127.0.0.1', '-p', port, '-t', 'lazy', '-m', '1', '-q', '1', '-r'])
    const sub = await loaded([runJs, 'sub', '-h', '127.0.0.1', '-p', port, '-t', 'lazy', '-C', '1'])
    for (const files of [pub, sub]) {
      expect(files.some((f) => f.startsWith('src/client/'))).toBe(true)
      expect(files.filter(lazy)).toEqual([])
    }
    // …and --simulate does load the simulator (in a chunk of its own), so the check above can see it.
    const simulated = await loaded([runJs, 'pub', '-h', '127.0.0.1', '-p', port, '--simulate', 'counter', '-t', 'lazy/%i', '--count', '1'])
    expect(simulated).toContain('src/client/simulate/runner.ts')
  })

  it('broker loads no client library, spinner, bench engine or doctor checks', async () => {
    const port = await brokers__freePort()
    const data = mkdtempSync(join(dir, 'data-'))
    const run = start([runJs, 'broker', '--mqtt-host', '127.0.0.1', '--mqtt-port', String(port), '--ws-port', '0', '--web-port', '0', '--data-dir', data, '--log-level', 'error'])
    // Stopped (SIGTERM) once it listens: what it loaded by then is what `mqttkit broker` needs to serve.
    const deadline = Date.now() + 20_000
    while (!(await connects(port))) {
      if (Date.now() > deadline) throw new Error('mqttkit broker did not listen')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    run.child.kill('SIGTERM')
    const files = await sources(run.files)
    expect(files).toContain('dist/broker/broker.js')
    // Not bundled: oclif as installed runs it, and the bundle's copy of oclif is not loaded as well.
    expect(files.filter((f) => f.startsWith('dist/bundle/') && !f.startsWith('dist/bundle/commands/') && f !== 'dist/bundle/bundled.js')).toEqual([])
    expect(files.filter((f) => pkg('mqtt').test(f) || pkg('ora').test(f) || /^(dist|src)\/(bench|doctor|client)\//.test(f))).toEqual([])
  })
})
