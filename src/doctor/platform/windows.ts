// Windows: listening sockets from `netstat -ano`, process names from `tasklist /FO CSV /NH`.
// netstat's State column is translated on non-English Windows ("ABHÖREN", "ÉCOUTE"), so a TCP row counts as
// listening by its foreign address (0.0.0.0:0 or [::]:0), which every locale prints the same way.
import type {Exec, ListeningSocket} from '../types.js'

export function windows__parseNetstat(text: string): ListeningSocket[] {
  const out: ListeningSocket[] = []
  for (const line of text.split(/\r?\n/)) {
    const cols = line.trim().split(/\s+/)
    if (cols.length < 5 || cols[0].toUpperCase() !== 'TCP') continue
    const foreign = cols[2]
    if (foreign !== '0.0.0.0:0' && foreign !== '[::]:0' && foreign !== '*:*') continue
    const local = splitHostPort(cols[1])
    if (!local) continue
    out.push({...local, pid: Number(cols[cols.length - 1])})
  }
  return out
}

function splitHostPort(s: string): {address: string; port: number} | undefined {
  const i = s.lastIndexOf(':')
  if (i < 0) return undefined
  let address = s.slice(0, i)
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1)
  // Scoped IPv6 addresses carry a zone (`[fe80::1%4]`); the zone does not help the user.
  address = address.replace(/%\d+$/, '')
  const port = Number(s.slice(i + 1))
  return Number.isInteger(port) ? {address, port} : undefined
}

/** Parses one CSV line with quoted fields (tasklist quotes every field and may put commas inside, e.g. "5,432 K"). */
export function windows__parseCsvLine(line: string): string[] {
  const fields: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (ch === '"') quoted = false
      else cur += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      fields.push(cur)
      cur = ''
    } else cur += ch
  }
  fields.push(cur)
  return fields
}

/** `tasklist /FO CSV /NH` → pid → image name. A header row, if present, is ignored. */
export function windows__parseTasklist(text: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue
    const [image, pid] = windows__parseCsvLine(line.trim())
    if (image && /^\d+$/.test(pid ?? '')) out.set(Number(pid), image)
  }
  return out
}

export async function windows__listeners(exec: Exec): Promise<ListeningSocket[] | undefined> {
  // Plain `-ano` lists IPv4 and IPv6 TCP rows together (`-p TCP` would drop the IPv6 ones).
  const netstat = await exec('netstat', ['-ano'])
  if (!netstat) return undefined
  const sockets = windows__parseNetstat(netstat.stdout)
  const tasks = windows__parseTasklist((await exec('tasklist', ['/FO', 'CSV', '/NH']))?.stdout ?? '')
  for (const s of sockets) if (s.pid !== undefined) s.command = tasks.get(s.pid)
  return sockets
}

export async function windows__findProcesses(exec: Exec, image: string): Promise<{pid: number; command: string}[]> {
  const out = await exec('tasklist', ['/FO', 'CSV', '/NH', '/FI', `IMAGENAME eq ${image}`])
  return [...windows__parseTasklist(out?.stdout ?? '')].map(([pid, command]) => ({pid, command}))
}
