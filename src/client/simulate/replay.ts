/**
 * `pub --simulate replay:FILE`: a recording made by `sub --jsonl` sent again with its original timing (each
 * message at its recorded offset from the first, divided by `--speed`). The whole file is read and checked before
 * anything connects, so a bad line is a usage error naming its line, never a half-sent replay.
 */
import {readFileSync} from 'node:fs'
import {ClientError, ExitCode} from '../errors.js'

export interface ReplayRecord {
  /** Milliseconds after the first record. */
  offsetMs: number
  topic: string
  payload: Buffer
}

function decode(payload: unknown, encoding: unknown, where: string): Buffer {
  switch (encoding ?? 'utf8') {
    case 'utf8':
      if (typeof payload !== 'string') throw bad(where, 'payload must be a string with encoding "utf8"')
      return Buffer.from(payload, 'utf8')
    case 'base64':
      if (typeof payload !== 'string') throw bad(where, 'payload must be a string with encoding "base64"')
      return Buffer.from(payload, 'base64')
    case 'hex':
      if (typeof payload !== 'string' || !/^(?:[\da-fA-F]{2})*$/.test(payload)) throw bad(where, 'payload is not hex')
      return Buffer.from(payload, 'hex')
    case 'json':
      return Buffer.from(JSON.stringify(payload), 'utf8')
    default:
      throw bad(where, `unknown encoding ${JSON.stringify(encoding)} (utf8, base64, hex or json)`)
  }
}

function bad(where: string, why: string): ClientError {
  return new ClientError(`replay ${where}: ${why}`, ExitCode.usage)
}

/** The records of a `sub --jsonl` file, in file order, timed from the first one. */
export function replay__parse(text: string, file: string): ReplayRecord[] {
  const records: ReplayRecord[] = []
  let first: number | undefined
  let previous = -Infinity
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '') continue
    const where = `${file} line ${i + 1}`
    let record: Record<string, unknown>
    try {
      record = JSON.parse(line) as Record<string, unknown>
    } catch (error) {
      throw bad(where, `not JSON (${(error as Error).message}); expected a record written by "sub --jsonl"`)
    }
    if (record === null || typeof record !== 'object') throw bad(where, 'expected a JSON object')
    const time = typeof record.time === 'string' ? Date.parse(record.time) : Number.NaN
    if (!Number.isFinite(time)) throw bad(where, '"time" must be an ISO-8601 time')
    if (typeof record.topic !== 'string' || record.topic === '') throw bad(where, '"topic" must be a non-empty string')
    if (/[+#]/.test(record.topic)) throw bad(where, `topic "${record.topic}" must not contain + or #`)
    first ??= time
    // A recording is in arrival order; a clock step backwards must not make a negative wait.
    const offsetMs = Math.max(time - first, previous)
    previous = offsetMs
    records.push({offsetMs, topic: record.topic, payload: decode(record.payload, record.encoding, where)})
  }
  if (records.length === 0) throw bad(file, 'no records (an empty file?)')
  return records
}

export function replay__read(file: string): ReplayRecord[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    throw new ClientError(`cannot read replay file ${file}: ${e.code ?? e.message}`, ExitCode.usage)
  }
  return replay__parse(text, file)
}
