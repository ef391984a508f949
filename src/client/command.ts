/**
 * The base of the client commands (pub, sub, bench, doctor): one-line errors and the exit codes of errors.ts,
 * for failures of our own and for oclif's flag-parsing failures alike (oclif would exit 2 and print a wrapped
 * block; scripts get exit 1 for any usage mistake instead).
 */
import {Command} from '@oclif/core'
import {chalkStderr} from 'chalk'
import {ClientError, ExitCode} from './errors.js'

interface OclifError extends Error {
  code?: string
}

/** The message and exit code a failure ends the command with. */
export function client__failure(err: unknown): {message: string; exitCode: number} {
  if (err instanceof ClientError) return {message: err.message, exitCode: err.exitCode}
  const e = err as OclifError
  // Flag parsing and validation errors: keep the sentences, drop oclif's "See more help" line breaks.
  const message = String(e?.message ?? err)
    .replace(/\s*See more help with --help\s*$/, ' (see --help)')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ')
  // Anything else escaped the commands' own checks: a system error names the network, the rest is input.
  const systemError = typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)
  return {message, exitCode: systemError ? ExitCode.network : ExitCode.usage}
}

export abstract class ClientCommand extends Command {
  static override enableJsonFlag = true

  /** --quiet: no notes on stderr (errors still print). Set by subclasses after parsing. */
  protected quiet = false

  /** A note for people, on stderr: never mixed with the data on stdout (so --json keeps it), silent with --quiet. */
  protected notice = (line: string): void => {
    if (this.quiet) return
    process.stderr.write(`${chalkStderr.yellow('note:')} ${line}\n`)
  }

  /**
   * Spinners only for people watching a terminal, never in --json mode or a pipe. A terminal reporting 0 columns
   * (a pty nobody sized) is left alone: ora's line arithmetic divides by the width.
   */
  protected wantsSpinner(): boolean {
    return process.stderr.isTTY === true && (process.stderr.columns ?? 0) > 0 && !this.jsonEnabled() && !this.quiet
  }

  protected override async catch(err: Error & {code?: string}): Promise<unknown> {
    // `this.exit()` inside run() arrives here as oclif's ExitError: let it through untouched.
    if (err.code === 'EEXIT') throw err
    const {message, exitCode} = client__failure(err)
    if (this.jsonEnabled()) {
      this.logJson({error: {message, exitCode}})
    } else {
      process.stderr.write(`${chalkStderr.red('Error:')} ${message}\n`)
    }
    return this.exit(exitCode)
  }
}
