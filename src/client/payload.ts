/**
 * Payload formats, in (what `-m`, `-f`, `-s`, `-l` hold) and out (how `sub` shows a payload).
 *
 * In:  text = the bytes as given (a file is sent byte for byte); json = must parse, sent as given;
 *      hex / base64 = decoded to the bytes they stand for (whitespace ignored).
 * Out: text = the raw bytes (binary safe in a pipe); json = re-indented on a terminal, compact in a pipe, raw when
 *      it does not parse; hex / base64 = the encoding of the bytes.
 */
import {isUtf8} from 'node:buffer'
import {ClientError, ExitCode} from './errors.js'

export const payloadFormats = ['text', 'json', 'hex', 'base64'] as const
export type PayloadFormat = (typeof payloadFormats)[number]

const hexPattern = /^(?:[\da-fA-F]{2})*$/
const base64Pattern = /^[A-Za-z\d+/_-]*={0,2}$/

/** Bytes to send for `input` written in `format`; `what` names the source in error messages ("-m", "line 3"). */
export function payload__decode(input: Buffer, format: PayloadFormat, what: string): Buffer {
  switch (format) {
    case 'text':
      return input
    case 'json': {
      try {
        JSON.parse(input.toString('utf8'))
      } catch (error) {
        throw new ClientError(`${what} is not valid JSON: ${(error as Error).message}`, ExitCode.usage)
      }
      return input
    }
    case 'hex': {
      const text = input.toString('latin1').replace(/\s+/g, '').replace(/^0x/i, '')
      if (!hexPattern.test(text)) {
        throw new ClientError(`${what} is not hex: expected pairs of 0-9a-f`, ExitCode.usage)
      }
      return Buffer.from(text, 'hex')
    }
    case 'base64': {
      const text = input.toString('latin1').replace(/\s+/g, '')
      if (!base64Pattern.test(text)) throw new ClientError(`${what} is not base64`, ExitCode.usage)
      return Buffer.from(text, 'base64')
    }
  }
}

/** True when `bytes` is well-formed UTF-8 (so it can be shown and put in JSON as a string). */
export function payload__isUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes)
}

/** The payload as `sub` prints it (without the trailing newline). `pretty` indents JSON for people. */
export function payload__encode(payload: Buffer, format: PayloadFormat, pretty: boolean): Buffer {
  switch (format) {
    case 'text':
      return payload
    case 'hex':
      return Buffer.from(payload.toString('hex'), 'latin1')
    case 'base64':
      return Buffer.from(payload.toString('base64'), 'latin1')
    case 'json': {
      try {
        const value: unknown = JSON.parse(payload.toString('utf8'))
        return Buffer.from(JSON.stringify(value, null, pretty ? 2 : undefined), 'utf8')
      } catch {
        return payload
      }
    }
  }
}

/**
 * The payload as a JSON value for `--jsonl` and `%j`: parsed JSON with --format json, a string with text (base64
 * instead when the bytes are not UTF-8, which `encoding` then says), hex or base64 strings otherwise.
 */
export function payload__toJson(payload: Buffer, format: PayloadFormat): {payload: unknown; encoding: string} {
  if (format === 'json') {
    try {
      return {payload: JSON.parse(payload.toString('utf8')) as unknown, encoding: 'json'}
    } catch {
      // Not JSON after all: fall through to the text rules so nothing is lost.
    }
  }
  if (format === 'hex') return {payload: payload.toString('hex'), encoding: 'hex'}
  if (format === 'base64' || !payload__isUtf8(payload)) {
    return {payload: payload.toString('base64'), encoding: 'base64'}
  }
  return {payload: payload.toString('utf8'), encoding: 'utf8'}
}
