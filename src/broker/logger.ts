/**
 * A small levelled logger (one line per event, ISO time first). Library users may pass their own object with the
 * same four methods (pino, console…) as `logger` in BrokerOptions.
 */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug'

export const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug']

export interface Logger {
  error(message: string): void
  warn(message: string): void
  info(message: string): void
  debug(message: string): void
}

const rank: Record<LogLevel, number> = {silent: 0, error: 1, warn: 2, info: 3, debug: 4}

function noop(): void {}

export function logger__create(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = rank[level]
  const make = (name: Exclude<LogLevel, 'silent'>, label: string) =>
    rank[name] <= at ? (message: string) => write(`${new Date().toISOString()} ${label} ${message}\n`) : noop
  return {error: make('error', 'ERROR'), warn: make('warn', 'WARN '), info: make('info', 'INFO '), debug: make('debug', 'DEBUG')}
}
