/** What `mqttkit retained list|clear` share: flags, filter checks, the table and the JSON shape. */
import {Flags} from '@oclif/core'
import chalk from 'chalk'
import {topic__validateFilter} from '../broker/topics/validate.js'
import {ClientError, ExitCode} from './errors.js'
import type {RetainedEntry} from './retained.js'

const GROUP = 'RETAINED'

export const retainedFlags = {
  topic: Flags.string({char: 't', description: 'topic filter (+ and # allowed); repeat for more', multiple: true, multipleNonGreedy: true, helpGroup: GROUP}),
  settle: Flags.integer({description: 'milliseconds without another retained message that end the list', min: 50, default: 500, helpGroup: GROUP}),
  timeout: Flags.integer({char: 'W', description: 'seconds to collect at most (a broker that keeps sending)', min: 1, default: 30, helpGroup: GROUP}),
  quiet: Flags.boolean({description: 'no notes on stderr (errors still print)'}),
}

export interface RetainedJson {
  topic: string
  size: number
  qos: number
  expiresIn?: number
  age?: number
  /** UTF-8 text when the payload is valid UTF-8, else base64 (with `encoding`). */
  payload: string
  encoding: 'utf8' | 'base64'
}

export interface RetainedListResult {
  filters: string[]
  count: number
  bytes: number
  messages: RetainedJson[]
}

/** -t filters (or the URL's path), each checked like a SUBSCRIBE would be. */
export function retained__filters(topics: string[] | undefined, urlTopic: string | undefined): string[] {
  const filters = topics ?? (urlTopic === undefined ? [] : [urlTopic])
  if (filters.length === 0) throw new ClientError('missing topic filter: give -t FILTER (for example -t "#")', ExitCode.usage)
  for (const filter of filters) {
    const problem = topic__validateFilter(filter)
    if (problem !== null) throw new ClientError(`bad topic filter "${filter}": ${problem}`, ExitCode.usage)
    if (filter.startsWith('$share/')) throw new ClientError(`"${filter}": a shared subscription gets no retained messages (MQTT 5 §4.8.2)`, ExitCode.usage)
  }
  return filters
}

export function retained__toJson(entry: RetainedEntry): RetainedJson {
  const text = Buffer.from(entry.payload.toString('utf8'), 'utf8').equals(entry.payload)
  const out: RetainedJson = {topic: entry.topic, size: entry.size, qos: entry.qos, payload: entry.payload.toString(text ? 'utf8' : 'base64'), encoding: text ? 'utf8' : 'base64'}
  if (entry.expiresIn !== undefined) out.expiresIn = entry.expiresIn
  if (entry.age !== undefined) out.age = entry.age
  return out
}

/** An aligned table for people: topic, size, QoS, expiry (or age), and the start of the payload. */
export function retained__table(entries: RetainedEntry[]): string[] {
  if (entries.length === 0) return []
  const width = Math.min(60, Math.max(5, ...entries.map((e) => e.topic.length)))
  const head = chalk.bold(`${'TOPIC'.padEnd(width)}  ${'SIZE'.padStart(8)}  QOS  ${'AGE/EXPIRES'.padEnd(12)}  PAYLOAD`)
  const rows = entries.map((e) => {
    const when = e.age !== undefined ? `${e.age}s old` : e.expiresIn !== undefined ? `in ${e.expiresIn}s` : '-'
    const preview = retained__preview(e.payload)
    return `${chalk.cyan(e.topic.padEnd(width))}  ${String(e.size).padStart(8)}  ${String(e.qos).padStart(3)}  ${when.padEnd(12)}  ${chalk.dim(preview)}`
  })
  return [head, ...rows]
}

function retained__preview(payload: Buffer): string {
  const text = payload.subarray(0, 40).toString('utf8')
  // Control characters would garble the terminal: show them escaped.
  const safe = JSON.stringify(text).slice(1, -1)
  return payload.length > 40 ? `${safe}…` : safe
}
