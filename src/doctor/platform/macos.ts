// macOS (and other BSD-like systems with lsof): listening sockets from `lsof -nP -iTCP -sTCP:LISTEN`,
// full command lines from `ps`, because lsof cuts the COMMAND column to a few characters.
import type {Exec, ListeningSocket} from '../types.js'

/**
 * Parses `lsof -nP -iTCP -sTCP:LISTEN` output:
 * `mosquitto 4242 me 4u IPv4 0x1a2b 0t0 TCP 127.0.0.1:1883 (LISTEN)`.
 * Columns are whitespace separated; NAME is the address before `(LISTEN)`.
 */
export function macos__parseLsof(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = []
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s.*\sTCP\s+(\S+):(\d+)\s+\(LISTEN\)\s*$/.exec(line)
    if (!m) continue
    let address = m[3]
    if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1)
    if (address === '*') address = '0.0.0.0'
    out.push({port: Number(m[4]), address, pid: Number(m[2]), command: unescapeLsof(m[1])})
  }
  return out
}

/** lsof escapes spaces and non-printables in COMMAND as `\x20`. */
function unescapeLsof(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
}

/** Parses `ps -o pid=,command= -p 1,2,3` (or `ps -axo pid=,command=`): `  4242 /usr/local/sbin/mosquitto -c x`. */
export function macos__parsePs(text: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(.+?)\s*$/.exec(line)
    if (m) out.set(Number(m[1]), m[2])
  }
  return out
}

export async function macos__listeners(exec: Exec): Promise<ListeningSocket[] | undefined> {
  const lsof = await exec('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN'])
  if (!lsof) return undefined
  const sockets = macos__parseLsof(lsof.stdout)
  const pids = [...new Set(sockets.map((s) => s.pid).filter((p): p is number => p !== undefined))]
  if (pids.length > 0) {
    const ps = await exec('ps', ['-o', 'pid=,command=', '-p', pids.join(',')])
    const commands = macos__parsePs(ps?.stdout ?? '')
    for (const s of sockets) if (s.pid !== undefined && commands.has(s.pid)) s.command = commands.get(s.pid)
  }
  return sockets
}

/** Processes named `name` from `ps -axo pid=,command=`. */
export async function macos__findProcesses(exec: Exec, name: string): Promise<{pid: number; command: string}[]> {
  const ps = await exec('ps', ['-axo', 'pid=,command='])
  const out: {pid: number; command: string}[] = []
  for (const [pid, command] of macos__parsePs(ps?.stdout ?? '')) {
    if ((command.split(/\s+/)[0] ?? '').split('/').pop() === name) out.push({pid, command})
  }
  return out
}
