// Every MQTT connection is one open file descriptor on the broker: a soft limit of 1024 (a common default)
// caps a broker started from this shell near a thousand clients, with EMFILE errors after that.
import {readFile} from 'node:fs/promises'

import {OPEN_FILES_HEADROOM, openFiles__format} from '../../broker/limits/open-files.js'
import {fix__raiseFileLimit} from '../fixes.js'
import {linux__parseOpenFileLimit} from '../platform/linux.js'
import type {Check, DoctorContext} from '../types.js'


async function openFileLimit(ctx: DoctorContext): Promise<{soft: number; hard?: number} | undefined> {
  if (ctx.platform === 'linux') {
    const text = await readFile('/proc/self/limits', 'utf8').catch(() => '')
    return linux__parseOpenFileLimit(text)
  }
  const out = await ctx.exec('sh', ['-c', 'ulimit -n; ulimit -Hn'])
  if (!out || out.code !== 0) return undefined
  const [soft, hard] = out.stdout.trim().split(/\s+/).map((v) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v)))
  return Number.isFinite(soft) || soft === Number.POSITIVE_INFINITY ? {soft, hard} : undefined
}

export const fileLimitCheck: Check = {
  id: 'file-limit',
  title: 'open-file limit',
  applies: (o) => o.local,
  async run(ctx) {
    const base = {id: 'file-limit', title: 'open-file limit'}
    if (ctx.platform === 'win32') {
      return {...base, status: 'skip', detail: 'Windows has no per-process open-file limit for sockets'}
    }
    const limit = await openFileLimit(ctx)
    if (!limit) return {...base, status: 'skip', detail: 'could not read the open-file limit'}
    const wanted = ctx.expectedConnections + OPEN_FILES_HEADROOM
    const show = (n: number | undefined) => (n === undefined ? '?' : openFiles__format(n))
    const data = {soft: show(limit.soft), hard: show(limit.hard), expectedConnections: ctx.expectedConnections}
    const detail = `soft limit ${show(limit.soft)}, hard limit ${show(limit.hard)} (inherited by a broker started from this shell)`
    if (limit.soft >= wanted) {
      return {...base, status: 'ok', detail: `${detail}: enough for ${ctx.expectedConnections} connections`, data}
    }
    const room = Math.max(0, limit.soft - OPEN_FILES_HEADROOM)
    return {
      ...base,
      status: 'warn',
      detail: `${detail}: a broker can hold about ${room} connections, fewer than the ${ctx.expectedConnections} expected (--connections)`,
      fix: fix__raiseFileLimit(ctx.platform, wanted),
      data,
    }
  },
}
