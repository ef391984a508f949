/**
 * The open-file limit (src/broker/limits/open-files.ts): the /proc limits parser, the prlimit raise on real
 * processes started under a low soft limit, the Broker's listen() step and what `mqttkit broker` shows. Linux only,
 * like the module; prlimit comes from util-linux. The CLI tests need `npm run build` first.
 */
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {writeFile, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {Broker} from '../../src/broker/broker.js'
import {type OpenFileLimit, openFiles__format, openFiles__parse, openFiles__raise, openFiles__report} from '../../src/broker/limits/open-files.js'
import type {Logger} from '../../src/broker/logger.js'
import {requireProgram} from '../helpers/system.js'

const PRLIMIT = '/usr/bin/prlimit'
const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
`

/** Soft and hard limit of a process, as the kernel reports them. */
function limitsOf(pid: number | 'self'): {soft: number; hard: number} {
  return openFiles__parse(readFileSync(`/proc/${pid}/limits`, 'utf8'))!
}

const HARD = limitsOf('self').hard
/** A soft limit below the hard one (1024, the usual default, unless the hard limit is lower still). */
const LOW = Math.min(1024, Math.floor(HARD / 2))

const children: ChildProcess[] = []
function start(command: string, args: string[]): {child: ChildProcess; output: () => string} {
  let output = ''
  const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  children.push(child)
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  return {child, output: () => output}
}

/** A `sleep` whose open-file limit prlimit set before it started (prlimit execs it: same pid). */
async function sleeper(soft: number, hard: number): Promise<number> {
  const {child} = start(PRLIMIT, [`--nofile=${soft}:${hard}`, 'sleep', '30'])
  const deadline = Date.now() + 5000
  // Until prlimit has exec'd sleep, /proc/<pid>/limits is prlimit's own (the limit is set just before the exec).
  while (readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'sleep') {
    if (Date.now() > deadline) throw new Error('prlimit did not start sleep')
    await new Promise((r) => setTimeout(r, 10))
  }
  return child.pid!
}

async function waitFor(output: () => string, pattern: RegExp, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!pattern.test(output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function recordingLogger(): Logger & {lines: string[]} {
  const lines: string[] = []
  const at = (level: string) => (message: string) => lines.push(`${level} ${message}`)
  return {lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug')}
}

const brokers: Broker[] = []
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.all(brokers.splice(0).map((b) => b.close()))
})
afterAll(() => {
  // The Broker tests lower this worker's own soft limit; leave it as the worker found it.
  if (limitsOf('self').soft < HARD) execFileSync(PRLIMIT, ['--pid', String(process.pid), `--nofile=${HARD}:${HARD}`])
})

describe('openFiles__parse (/proc/<pid>/limits)', () => {
  it('reads the soft and hard "Max open files" values', () => {
    expect(openFiles__parse(LIMITS)).toEqual({soft: 1024, hard: 524288})
  })

  it('reads "unlimited" as Infinity and formats it back', () => {
    const limit = openFiles__parse('Max open files            unlimited            unlimited            files     \n')
    expect(limit).toEqual({soft: Number.POSITIVE_INFINITY, hard: Number.POSITIVE_INFINITY})
    expect(openFiles__format(limit!.hard)).toBe('unlimited')
  })

  it('is undefined without the line or with a value that is not a number', () => {
    expect(openFiles__parse('Max cpu time              unlimited            unlimited            seconds\n')).toBeUndefined()
    expect(openFiles__parse('Max open files            many                 1024                 files\n')).toBeUndefined()
    expect(openFiles__parse('')).toBeUndefined()
  })
})

describe('openFiles__raise', () => {
  it('raises a soft limit below the hard one to the hard one with prlimit, and confirms it from /proc', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const pid = await sleeper(LOW, HARD)
    const result = await openFiles__raise({pid})
    expect(result).toEqual({soft: HARD, hard: HARD, raisedFrom: LOW})
    expect(limitsOf(pid)).toEqual({soft: HARD, hard: HARD})
  })

  it('does nothing when soft == hard already (prlimit is not run: a missing one is no error)', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const pid = await sleeper(LOW, LOW)
    expect(await openFiles__raise({pid, prlimit: '/nonexistent/prlimit'})).toEqual({soft: LOW, hard: LOW})
  })

  it('without prlimit returns the reason and the unchanged limit, and the report says how to fix it', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const pid = await sleeper(LOW, HARD)
    const result = await openFiles__raise({pid, prlimit: '/nonexistent/prlimit'})
    expect(result).toEqual({soft: LOW, hard: HARD, error: 'prlimit not found'})
    expect(limitsOf(pid).soft).toBe(LOW)
    const logger = recordingLogger()
    openFiles__report(result, logger)
    expect(logger.lines).toEqual([
      `warn open-file limit ${LOW} (hard ${HARD}) could not be raised: prlimit not found — install util-linux or run \`ulimit -n ${HARD}\` before starting (about ${LOW - 64} clients at most)`,
    ])
  })

  it('returns prlimit\'s own error when it fails (here: no such process)', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const dir = await mkdtemp(join(tmpdir(), 'mqttkit-limits-'))
    try {
      await writeFile(join(dir, 'limits'), LIMITS)
      // Above pid_max no process can exist (an exited child's pid could be reused by someone else's process).
      const pid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1
      const result = await openFiles__raise({pid, limitsPath: join(dir, 'limits')})
      expect(result.soft).toBe(1024)
      expect(result.raisedFrom).toBeUndefined()
      expect(result.error).toMatch(/^prlimit: .*No such process/)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('does not read the limit outside Linux, and reports that at debug level only', async () => {
    const result = await openFiles__raise({platform: 'darwin'})
    expect(result).toEqual({soft: null, hard: null, error: "not read on darwin (only Linux's /proc is read)"})
    const logger = recordingLogger()
    openFiles__report(result, logger)
    expect(logger.lines).toEqual(["debug open-file limit not read on darwin (only Linux's /proc is read)"])
  })
})

describe('openFiles__report', () => {
  const report = (limit: OpenFileLimit) => {
    const logger = recordingLogger()
    openFiles__report(limit, logger)
    return logger.lines
  }

  it('logs a raise at info, a limit that is fine at debug, and warns when the soft limit stays under 4096', () => {
    expect(report({soft: 20000, hard: 20000, raisedFrom: 1024})).toEqual(['info open-file limit raised from 1024 to 20000'])
    expect(report({soft: 20000, hard: 20000})).toEqual(['debug open-file limit 20000 (hard 20000)'])
    const low = report({soft: 1024, hard: 1024})
    expect(low).toHaveLength(2)
    expect(low[1]).toMatch(/^warn open-file limit 1024 \(hard 1024\): about 960 clients at most; raise the hard limit \(LimitNOFILE=/)
    expect(report({soft: 2048, hard: 4096, raisedFrom: 1024})[1]).toMatch(/^warn open-file limit 2048 \(hard 4096\)/)
  })
})

describe('Broker.listen()', () => {
  const lower = () => execFileSync(PRLIMIT, ['--pid', String(process.pid), `--nofile=${LOW}:${HARD}`])

  it('raises this process\'s soft open-file limit to the hard one before listening and logs it', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    lower()
    expect(limitsOf('self').soft).toBe(LOW)
    const logger = recordingLogger()
    const broker = new Broker({logger, sysInterval: 0, listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}]})
    brokers.push(broker)
    await broker.listen()
    expect(limitsOf('self')).toEqual({soft: HARD, hard: HARD})
    expect(broker.openFiles).toEqual({soft: HARD, hard: HARD, raisedFrom: LOW})
    expect(logger.lines).toContain(`info open-file limit raised from ${LOW} to ${HARD}`)
  })

  it('leaves the limit alone with raiseFileLimit: false', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    lower()
    const logger = recordingLogger()
    const broker = new Broker({logger, raiseFileLimit: false, sysInterval: 0, listeners: [{type: 'tcp', host: '127.0.0.1', port: 0}]})
    brokers.push(broker)
    await broker.listen()
    expect(limitsOf('self').soft).toBe(LOW)
    expect(broker.openFiles).toBeUndefined()
    expect(logger.lines.filter((l) => l.includes('open-file'))).toEqual([])
  })
})

describe('mqttkit broker (built CLI)', () => {
  const cli = (nofile: string) =>
    start(PRLIMIT, [`--nofile=${nofile}`, process.execPath, RUN, 'broker', '--store', 'memory', '--no-ws', '--no-web', '--mqtt-host', '127.0.0.1', '--mqtt-port', '0', '--sys-interval', '0'])

  it('started with a low soft limit runs with soft == hard and shows the limit in its banner', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const r = cli(`${LOW}:${HARD}`)
    await waitFor(r.output, /listening on/)
    // The Node.js runtime itself raises the soft limit while the process starts (limits/open-files.ts says why).
    expect(limitsOf(r.child.pid!)).toEqual({soft: HARD, hard: HARD})
    expect(r.output()).toContain(`(store: memory, open files: ${HARD})`)
    expect(r.output()).not.toMatch(/WARN/)
  })

  it('warns at start when the hard limit itself is low', async (ctx) => {
    if (!requireProgram(ctx, PRLIMIT, 'util-linux')) return
    const r = cli('1024:1024')
    await waitFor(r.output, /listening on/)
    expect(r.output()).toContain('(store: memory, open files: 1024)')
    expect(r.output()).toMatch(/WARN +open-file limit 1024 \(hard 1024\): about 960 clients at most; raise the hard limit/)
  })
})
