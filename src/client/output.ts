/**
 * How `sub` writes a message. In a pipe (or to --output) the lines are exactly mosquitto_sub's: the payload, or
 * "topic payload" with -v, raw bytes, so scripts can rely on them. On a terminal the same information is made for
 * eyes: coloured topic (chalk, so NO_COLOR and FORCE_COLOR are honoured), QoS/retain tags, binary payloads shown as
 * hex instead of garbling the screen, JSON indented with --format json.
 */
import {Chalk, type ChalkInstance} from 'chalk'
import {payload__encode, payload__isUtf8, type PayloadFormat} from './payload.js'
import {record__jsonl, type ReceivedMessage} from './record.js'
import {template__render, type Template} from './template.js'

export interface OutputOptions {
  verbose: boolean
  format: PayloadFormat
  /** -F: overrides the plain and verbose layouts. */
  template?: Template
  /** --jsonl: one JSON record per line, overrides everything else. */
  jsonl: boolean
  /** -N: no newline after each message (plain, verbose and template layouts). */
  noNewline: boolean
  /** A person is watching (stdout is a TTY and no --output): readable layout. */
  pretty: boolean
  /** Colours allowed (chalk's level for stdout; 0 for --output files). */
  colorLevel: 0 | 1 | 2 | 3
}

const newline = Buffer.from('\n')
const space = Buffer.from(' ')

function clock(timeMs: number): string {
  const d = new Date(timeMs)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

function prettyLine(m: ReceivedMessage, options: OutputOptions, c: ChalkInstance): Buffer {
  let body: Buffer
  if (options.format === 'text' && !payload__isUtf8(m.payload)) {
    // Raw binary would garble the terminal: show what it is and its bytes in hex.
    body = Buffer.from(`${c.dim(`<${m.payload.length} bytes, binary, as hex>`)} ${m.payload.toString('hex')}`)
  } else if (m.payload.length === 0) {
    body = Buffer.from(c.dim('<empty>'))
  } else {
    const encoded = payload__encode(m.payload, options.format, true)
    body = options.format === 'json' && encoded !== m.payload ? Buffer.from(c.green(encoded.toString('utf8'))) : encoded
  }
  if (!options.verbose) return body
  const tags = [c.dim(clock(m.timeMs)), c.bold.cyan(m.topic)]
  if (m.qos > 0) tags.push(c.magenta(`q${m.qos}`))
  if (m.retain) tags.push(c.yellow('retained'))
  const user = m.properties?.userProperties
  if (user) {
    const pairs = Object.entries(user).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}=${one}`))
    tags.push(c.blue(pairs.join(' ')))
  }
  if (m.properties?.contentType) tags.push(c.blue(m.properties.contentType))
  return Buffer.concat([Buffer.from(tags.join(' ')), space, body])
}

/** A function turning each message into the bytes to write (newline included unless -N). */
export function output__formatter(options: OutputOptions): (m: ReceivedMessage) => Buffer {
  const c = new Chalk({level: options.colorLevel})
  const end = options.noNewline ? Buffer.alloc(0) : newline
  if (options.jsonl) return (m) => Buffer.from(`${JSON.stringify(record__jsonl(m, options.format))}\n`)
  const template = options.template
  if (template) return (m) => Buffer.concat([template__render(template, m), end])
  if (options.pretty) return (m) => Buffer.concat([prettyLine(m, options, c), end])
  if (options.verbose) {
    return (m) => Buffer.concat([Buffer.from(m.topic), space, payload__encode(m.payload, options.format, false), end])
  }
  return (m) => Buffer.concat([payload__encode(m.payload, options.format, false), end])
}
