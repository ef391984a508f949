/**
 * Spinners for people at a terminal, and only there: ora and its dependencies are imported when a spinner is shown,
 * so a pipe, a cron job or `--json` never pays for loading them (issue 20: start-up is the whole cost of a `pub`).
 */
import type {Options} from 'ora'

/** The part of ora's spinner the commands use. */
export interface Spinner {
  text: string
  start(): Spinner
  stop(): Spinner
}

/** Stands in where no spinner is shown: text may be set, nothing is written. */
class SilentSpinner implements Spinner {
  text = ''
  start(): Spinner {
    return this
  }

  stop(): Spinner {
    return this
  }
}

/** An ora spinner (not started) when `show`, otherwise a silent one; the caller decides where a spinner belongs. */
export async function spinner__create(options: Options, show: boolean): Promise<Spinner> {
  if (!show) return new SilentSpinner()
  const {default: ora} = await import('ora')
  return ora(options)
}
