/**
 * Durations on the command line (`--duration 90`, `--window 60s`, `--duration 2m`, `--window 500ms`): a bare number
 * is seconds, as everywhere else in the CLI.
 */
import {ClientError, ExitCode} from './errors.js'

const units: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Milliseconds for `text`; a usage error naming `flag` when it is not a positive duration. */
export function duration__parseMs(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(text)
  const ms = match === null ? Number.NaN : Number(match[1]) * units[match[2] ?? 's']!
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ClientError(`${flag} needs a duration such as 30, 30s, 500ms or 2m, not "${text}"`, ExitCode.usage)
  }
  return ms
}
