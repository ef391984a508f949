/**
 * The broker's open-file limit (RLIMIT_NOFILE). Every client connection is one file descriptor, so the soft limit
 * caps the clients one process can hold; past it, accept() fails with EMFILE.
 *
 * Who raises it: the Node.js runtime sets the soft limit to the hard limit while the process starts, before any
 * JavaScript runs (PlatformInit in node.cc), so `mqttkit broker` normally finds soft == hard and this module only
 * reads and reports the limit. It raises the limit itself when it finds soft < hard: a host program that starts Node
 * without that step (an embedder passing kNoAdjustResourceLimits), or a limit lowered from outside after start.
 * JavaScript cannot call setrlimit (Node has no binding for it, and mqttkit ships no native addon), so it runs
 * util-linux's prlimit(1) on its own pid: prlimit(2) on a process of the same user needs no privilege as long as
 * the hard limit is unchanged. Only Linux is handled (its /proc/self/limits); elsewhere the limit is not read.
 */
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import type {Logger} from '../logger.js'

/** Below this soft limit the broker warns: a few thousand clients is a small broker. */
export const OPEN_FILES_LOW = 4096
/** Descriptors a broker uses besides client sockets: listeners, the store, logs, the event loop. */
export const OPEN_FILES_HEADROOM = 64
const PRLIMIT_TIMEOUT_MS = 2000

export interface OpenFileLimit {
  /** The soft limit now (Infinity: unlimited); null when it could not be read (not Linux, no /proc). */
  soft: number | null
  hard: number | null
  /** The soft limit before this process raised it; absent when it was not raised. */
  raisedFrom?: number
  /** Why the limit was not read or, with soft < hard, not raised. */
  error?: string
}

export interface OpenFilesOptions {
  /** Process whose limit is raised. Default: this process. */
  pid?: number
  /** Where that process's limits are read. Default: /proc/<pid>/limits (/proc/self/limits for this process). */
  limitsPath?: string
  /** The prlimit program. Default: `prlimit` from PATH. */
  prlimit?: string
  platform?: NodeJS.Platform
}

/** The "Max open files" line of a /proc/<pid>/limits text (`Max open files  1024  1048576  files`); undefined when absent. */
export function openFiles__parse(text: string): {soft: number; hard: number} | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text)
  if (!m) return undefined
  const value = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v))
  const soft = value(m[1]!)
  const hard = value(m[2]!)
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : {soft, hard}
}

/** A limit as people and prlimit write it. */
export function openFiles__format(n: number): string {
  return n === Number.POSITIVE_INFINITY ? 'unlimited' : String(n)
}

async function openFiles__read(path: string): Promise<{soft: number; hard: number} | string> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => error)
  if (typeof text !== 'string') return `cannot read ${path}: ${text.code ?? text.message}`
  return openFiles__parse(text) ?? `no "Max open files" line in ${path}`
}

function openFiles__prlimit(program: string, pid: number, hard: number): Promise<string | undefined> {
  const value = openFiles__format(hard)
  return new Promise((resolve) => {
    // execFile, never a shell: the arguments are numbers we format ourselves.
    execFile(program, ['--pid', String(pid), `--nofile=${value}:${value}`], {timeout: PRLIMIT_TIMEOUT_MS}, (error, _stdout, stderr) => {
      if (!error) return resolve(undefined)
      const e = error as NodeJS.ErrnoException & {killed?: boolean}
      if (e.code === 'ENOENT') return resolve('prlimit not found')
      if (e.killed) return resolve(`prlimit did not finish within ${PRLIMIT_TIMEOUT_MS} ms`)
      resolve(String(stderr).trim().split('\n').pop() || `prlimit failed: ${e.message}`)
    })
  })
}

/**
 * Reads the open-file limit and, when the soft limit is below the hard one, raises it to the hard limit with
 * prlimit. Never throws: a limit that cannot be read or raised comes back with `error`.
 */
export async function openFiles__raise(options: OpenFilesOptions = {}): Promise<OpenFileLimit> {
  const platform = options.platform ?? process.platform
  if (platform !== 'linux') return {soft: null, hard: null, error: `not read on ${platform} (only Linux's /proc is read)`}
  const pid = options.pid ?? process.pid
  const path = options.limitsPath ?? (pid === process.pid ? '/proc/self/limits' : `/proc/${pid}/limits`)
  const before = await openFiles__read(path)
  if (typeof before === 'string') return {soft: null, hard: null, error: before}
  if (before.soft >= before.hard) return before
  const failed = await openFiles__prlimit(options.prlimit ?? 'prlimit', pid, before.hard)
  if (failed !== undefined) return {...before, error: failed}
  const after = await openFiles__read(path)
  if (typeof after === 'string') return {...before, error: after}
  if (after.soft <= before.soft) return {...after, error: `prlimit ran but the soft limit is still ${openFiles__format(after.soft)}`}
  return {...after, raisedFrom: before.soft}
}

/** One log line for the outcome: info when raised, warn when it stays low or could not be raised, debug otherwise. */
export function openFiles__report(limit: OpenFileLimit, logger: Logger): void {
  if (limit.soft === null || limit.hard === null) {
    logger.debug(`open-file limit ${limit.error ?? 'unknown'}`)
    return
  }
  const soft = openFiles__format(limit.soft)
  const hard = openFiles__format(limit.hard)
  const clients = `about ${Math.max(0, limit.soft - OPEN_FILES_HEADROOM)} clients at most`
  if (limit.error !== undefined) {
    logger.warn(`open-file limit ${soft} (hard ${hard}) could not be raised: ${limit.error} — install util-linux or run \`ulimit -n ${hard}\` before starting (${clients})`)
  } else if (limit.raisedFrom !== undefined) {
    logger.info(`open-file limit raised from ${openFiles__format(limit.raisedFrom)} to ${soft}`)
  } else {
    logger.debug(`open-file limit ${soft} (hard ${hard})`)
  }
  if (limit.error === undefined && limit.soft < OPEN_FILES_LOW) {
    logger.warn(`open-file limit ${soft} (hard ${hard}): ${clients}; raise the hard limit (LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf, or \`ulimit -Hn\` as root) — see \`mqttkit doctor\``)
  }
}
