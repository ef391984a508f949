// Linux: who listens on which TCP port, read straight from /proc (no root, no ss/netstat needed):
// /proc/net/tcp{,6} LISTEN rows give a socket inode; /proc/<pid>/fd/* links `socket:[inode]` name its owner;
// /proc/<pid>/cmdline gives the command line. Other users' processes are unreadable without root: those sockets
// are reported without a pid.
import {readdir, readFile, readlink} from 'node:fs/promises'

import type {ListeningSocket} from '../types.js'

export interface ProcSocket {
  address: string
  port: number
  inode: number
}

const TCP_LISTEN = '0A'

/** Parses /proc/net/tcp or /proc/net/tcp6 and keeps the LISTEN sockets. */
export function linux__parseProcNetTcp(text: string): ProcSocket[] {
  const out: ProcSocket[] = []
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue
    const [hexAddr, hexPort] = cols[1].split(':')
    if (!hexAddr || !hexPort) continue
    out.push({address: linux__decodeAddress(hexAddr), port: Number.parseInt(hexPort, 16), inode: Number(cols[9])})
  }
  return out
}

/** /proc prints addresses as 32-bit words in host (little-endian) byte order. */
export function linux__decodeAddress(hex: string): string {
  const words: Buffer[] = []
  for (let i = 0; i < hex.length; i += 8) words.push(Buffer.from(hex.slice(i, i + 8), 'hex').reverse())
  const bytes = Buffer.concat(words)
  if (bytes.length === 4) return [...bytes].join('.')
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads better as the IPv4 address.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${[...bytes.subarray(12)].join('.')}`
  }
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  // Compress the longest run of zero groups, as `::` (RFC 5952).
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (bestLen < 2) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

/** /proc/<pid>/cmdline separates arguments with NUL. */
export function linux__parseCmdline(raw: string): string {
  return raw.split('\0').filter((a) => a.length > 0).join(' ')
}

/** Extracts the inode from a /proc/<pid>/fd link target such as `socket:[12345]`. */
export function linux__socketInode(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link)
  return m ? Number(m[1]) : undefined
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Process ids currently visible in /proc. */
export async function linux__pids(proc = '/proc'): Promise<number[]> {
  const entries = await readdir(proc).catch(() => [] as string[])
  return entries.filter((e) => /^\d+$/.test(e)).map(Number)
}

export async function linux__cmdline(pid: number, proc = '/proc'): Promise<string | undefined> {
  const raw = await readText(`${proc}/${pid}/cmdline`)
  if (raw === undefined) return undefined
  const line = linux__parseCmdline(raw)
  // Kernel threads have an empty cmdline; their name lives in comm.
  return line || (await readText(`${proc}/${pid}/comm`))?.trim()
}

/** Every listening TCP socket on the machine, with its owner when /proc lets us see it. */
export async function linux__listeners(proc = '/proc', ports?: number[]): Promise<ListeningSocket[]> {
  // Only the ports asked about: walking every process's descriptors is the slow part on a busy machine.
  const sockets = [
    ...linux__parseProcNetTcp((await readText(`${proc}/net/tcp`)) ?? ''),
    ...linux__parseProcNetTcp((await readText(`${proc}/net/tcp6`)) ?? ''),
  ].filter((s) => !ports || ports.includes(s.port))
  if (sockets.length === 0) return []
  const wanted = new Map<number, ProcSocket>(sockets.map((s) => [s.inode, s]))
  const owners = new Map<number, number>()
  for (const pid of await linux__pids(proc)) {
    if (owners.size === wanted.size) break
    const fds = await readdir(`${proc}/${pid}/fd`).catch(() => [] as string[])
    for (const fd of fds) {
      const link = await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => '')
      const inode = linux__socketInode(link)
      if (inode !== undefined && wanted.has(inode) && !owners.has(inode)) owners.set(inode, pid)
    }
  }
  const commands = new Map<number, string | undefined>()
  for (const pid of new Set(owners.values())) commands.set(pid, await linux__cmdline(pid, proc))
  return sockets.map((s) => {
    const pid = owners.get(s.inode)
    return {port: s.port, address: s.address, pid, command: pid === undefined ? undefined : commands.get(pid)}
  })
}

/** Processes whose program name is `name` (e.g. mosquitto), from /proc/<pid>/cmdline. */
export async function linux__findProcesses(name: string, proc = '/proc'): Promise<{pid: number; command: string}[]> {
  const out: {pid: number; command: string}[] = []
  for (const pid of await linux__pids(proc)) {
    const raw = await readText(`${proc}/${pid}/cmdline`)
    if (!raw) continue
    const argv0 = raw.split('\0')[0] ?? ''
    if (argv0.split('/').pop() === name) out.push({pid, command: linux__parseCmdline(raw)})
  }
  return out
}

/** Soft and hard open-file limits from /proc/self/limits: the broker's own reader of that file. */
export {openFiles__parse as linux__parseOpenFileLimit} from '../../broker/limits/open-files.js'
