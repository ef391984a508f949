/**
 * Where `pub` payloads come from: `-m`, `-f` (bytes as stored), `-s` (all of stdin), `-l` (one message per line,
 * streamed: the next chunk is read only when the publisher asks for more, so a slow broker slows the reader
 * instead of filling memory) and `-n` (empty). Lines are split on bytes, never decoded, so binary lines survive.
 */
import {readFile} from 'node:fs/promises'
import type {Readable} from 'node:stream'
import {ClientError, ExitCode} from './errors.js'
import {payload__decode, type PayloadFormat} from './payload.js'

export type PayloadSource =
  | {kind: 'message'; text: string}
  | {kind: 'file'; path: string}
  | {kind: 'stdin'}
  | {kind: 'lines'}
  | {kind: 'null'}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The one payload of `-m`, `-f`, `-s` or `-n`, decoded from `format`. */
export async function input__readPayload(
  source: Exclude<PayloadSource, {kind: 'lines'}>,
  format: PayloadFormat, stdin: Readable): Promise<Buffer> {
  switch (source.kind) {
    case 'message':
      return payload__decode(Buffer.from(source.text, 'utf8'), format, '-m')
    case 'file': {
      let bytes: Buffer
      try {
        bytes = await readFile(source.path)
      } catch (error) {
        const e = error as NodeJS.ErrnoException
        throw new ClientError(`cannot read file ${source.path}: ${e.code ?? e.message}`, ExitCode.usage)
      }
      return payload__decode(bytes, format, `file ${source.path}`)
    }
    case 'stdin':
      return payload__decode(await readAll(stdin), format, 'stdin')
    case 'null':
      return Buffer.alloc(0)
  }
}

/**
 * Each line of `stream` as a payload (without "\n" or "\r\n"; empty lines skipped), decoded from `format`.
 * A final line without a newline is still a message.
 */
export async function* input__lines(stream: Readable, format: PayloadFormat): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0)
  let lineNumber = 0
  const emit = function* (line: Buffer): Generator<Buffer> {
    lineNumber += 1
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length
    if (end === 0) return
    yield payload__decode(line.subarray(0, end), format, `line ${lineNumber}`)
  }
  for await (const chunk of stream) {
    let data = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer])
    let start = 0
    let nl = data.indexOf(0x0a, start)
    while (nl !== -1) {
      yield* emit(data.subarray(start, nl))
      start = nl + 1
      nl = data.indexOf(0x0a, start)
    }
    // Copy the tail so the (possibly large) chunk it came from can be freed.
    pending = Buffer.from(data.subarray(start))
    data = pending
  }
  if (pending.length > 0) yield* emit(pending)
}
