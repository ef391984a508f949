/**
 * `sub -F`: mosquitto_sub's output templates. A template is compiled once into parts, then rendered per message
 * into bytes (`%p` is the raw payload, so the result is a Buffer, not a string).
 *
 *   %t topic   %p payload   %l payload length   %q QoS   %r retain (0/1)   %m message id   %x/%X payload hex
 *   %j JSON record (payload as string)   %J JSON record (payload as JSON)   %I ISO-8601 local time
 *   %U Unix time with nanoseconds   %C content type   %D correlation data   %E message expiry   %F payload format
 *   %R response topic   %S subscription identifier   %A topic alias   %P user properties (key:value …)   %% %
 *   @<c> strftime-style time field (@Y @m @d @H @M @S @N @s @z …, @@ = @)
 *   \n \t \r \a \e \v \0 \\ escapes
 * Fields take printf-style `-` (left-align), `0` (zero-pad), width and `.precision` (truncation): `%-20t`, `%.10p`.
 * The table is documented in docs/cli.md; keep both in step.
 */
import {ClientError, ExitCode} from './errors.js'
import {record__mosquittoJson, type ReceivedMessage} from './record.js'

type Part =
  | {kind: 'literal'; bytes: Buffer}
  | {kind: 'field'; code: string; left: boolean; zero: boolean; width: number; precision?: number}
  | {kind: 'time'; code: string}

export interface Template {
  parts: Part[]
}

const fieldCodes = new Set('tplqrmxXjJIUCDEFRSAP'.split(''))
const timeCodes = new Set('aAbBdeFHIjmMNpsSTyYzZ'.split(''))
const escapes: Record<string, string> = {n: '\n', t: '\t', r: '\r', a: '\u0007', e: '\u001b', v: '\v', '0': '\0', '\\': '\\'}

export function template__compile(source: string): Template {
  const parts: Part[] = []
  let literal = ''
  const flush = (): void => {
    if (literal !== '') parts.push({kind: 'literal', bytes: Buffer.from(literal, 'utf8')})
    literal = ''
  }
  let i = 0
  while (i < source.length) {
    const c = source[i]
    if (c === '\\' && i + 1 < source.length && escapes[source[i + 1]] !== undefined) {
      literal += escapes[source[i + 1]]
      i += 2
    } else if (c === '@' && i + 1 < source.length) {
      const code = source[i + 1]
      if (code === '@') literal += '@'
      else if (timeCodes.has(code)) {
        flush()
        parts.push({kind: 'time', code})
      } else throw new ClientError(`-F: unknown time field "@${code}"`, ExitCode.usage)
      i += 2
    } else if (c === '%') {
      const match = /^%([-0]*)(\d*)(?:\.(\d+))?(.)?/.exec(source.slice(i))!
      const [whole, flags, width, precision, code] = match
      if (code === '%' && whole === '%%') literal += '%'
      else if (code !== undefined && fieldCodes.has(code)) {
        flush()
        parts.push({
          kind: 'field',
          code,
          left: flags.includes('-'),
          zero: flags.includes('0'),
          width: width === '' ? 0 : Number(width),
          precision: precision === undefined ? undefined : Number(precision),
        })
      } else throw new ClientError(`-F: unknown field "${whole}" (see docs/cli.md for the table)`, ExitCode.usage)
      i += whole.length
    } else {
      literal += c
      i += 1
    }
  }
  flush()
  return {parts}
}

const pad2 = (n: number): string => String(n).padStart(2, '0')
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
  'November', 'December']

/** "+0100": the local offset as strftime's %z writes it. */
function offset(date: Date): string {
  const minutes = -date.getTimezoneOffset()
  const abs = Math.abs(minutes)
  return `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
}

function nanos(timeMs: number): string {
  return String(Math.floor((timeMs % 1000) * 1e6)).padStart(9, '0')
}

function timeField(code: string, timeMs: number): string {
  const d = new Date(Math.floor(timeMs))
  switch (code) {
    case 'a': return days[d.getDay()].slice(0, 3)
    case 'A': return days[d.getDay()]
    case 'b': return months[d.getMonth()].slice(0, 3)
    case 'B': return months[d.getMonth()]
    case 'd': return pad2(d.getDate())
    case 'e': return String(d.getDate()).padStart(2, ' ')
    case 'F': return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`
    case 'H': return pad2(d.getHours())
    case 'I': return pad2(((d.getHours() + 11) % 12) + 1)
    case 'j': {
      const start = new Date(d.getFullYear(), 0, 1)
      return String(Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1).padStart(3, '0')
    }
    case 'm': return pad2(d.getMonth() + 1)
    case 'M': return pad2(d.getMinutes())
    case 'N': return nanos(timeMs)
    case 'p': return d.getHours() < 12 ? 'AM' : 'PM'
    case 's': return String(Math.floor(timeMs / 1000))
    case 'S': return pad2(d.getSeconds())
    case 'T': return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
    case 'y': return pad2(d.getFullYear() % 100)
    case 'Y': return String(d.getFullYear())
    case 'z': return offset(d)
    case 'Z': return Intl.DateTimeFormat('en', {timeZoneName: 'short'}).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? ''
    default: return ''
  }
}

/** ISO-8601 local time with offset, as mosquitto's %I: 2026-01-02T03:04:05+0100. */
function isoLocal(timeMs: number): string {
  return `${timeField('F', timeMs)}T${timeField('T', timeMs)}${timeField('z', timeMs)}`
}

function userProperties(message: ReceivedMessage): string {
  const props = message.properties?.userProperties
  if (!props) return ''
  const pairs: string[] = []
  for (const [key, value] of Object.entries(props)) {
    for (const v of Array.isArray(value) ? value : [value]) pairs.push(`${key}:${v}`)
  }
  return pairs.join(' ')
}

function optional(value: unknown): string {
  if (value === undefined) return ''
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'boolean') return value ? '1' : '0'
  return String(value)
}

/** The value of one field: raw bytes for %p (binary safe), strings for the rest. */
function fieldValue(code: string, m: ReceivedMessage): Buffer | string {
  const p = m.properties
  switch (code) {
    case 't': return m.topic
    case 'p': return m.payload
    case 'l': return String(m.payload.length)
    case 'q': return String(m.qos)
    case 'r': return m.retain ? '1' : '0'
    case 'm': return m.messageId === undefined ? '' : String(m.messageId)
    case 'x': return m.payload.toString('hex')
    case 'X': return m.payload.toString('hex').toUpperCase()
    case 'j': return record__mosquittoJson(m, false)
    case 'J': return record__mosquittoJson(m, true)
    case 'I': return isoLocal(m.timeMs)
    case 'U': return `${Math.floor(m.timeMs / 1000)}.${nanos(m.timeMs)}`
    case 'C': return optional(p?.contentType)
    case 'D': return p?.correlationData ?? ''
    case 'E': return optional(p?.messageExpiryInterval)
    case 'F': return optional(p?.payloadFormatIndicator)
    case 'R': return optional(p?.responseTopic)
    case 'S': return optional(p?.subscriptionIdentifier)
    case 'A': return optional(p?.topicAlias)
    case 'P': return userProperties(m)
    default: return ''
  }
}

const numeric = new Set(['l', 'q', 'r', 'm', 'E', 'F', 'S', 'A'])

function shape(value: Buffer | string, part: Extract<Part, {kind: 'field'}>): Buffer {
  let bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  if (part.precision !== undefined && bytes.length > part.precision) bytes = bytes.subarray(0, part.precision)
  const missing = part.width - bytes.length
  if (missing <= 0) return bytes
  const fill = Buffer.alloc(missing, part.zero && !part.left && numeric.has(part.code) ? '0' : ' ')
  return part.left ? Buffer.concat([bytes, fill]) : Buffer.concat([fill, bytes])
}

export function template__render(template: Template, message: ReceivedMessage): Buffer {
  const chunks: Buffer[] = []
  for (const part of template.parts) {
    if (part.kind === 'literal') chunks.push(part.bytes)
    else if (part.kind === 'time') chunks.push(Buffer.from(timeField(part.code, message.timeMs), 'utf8'))
    else chunks.push(shape(fieldValue(part.code, message), part))
  }
  return Buffer.concat(chunks)
}
