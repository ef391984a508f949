// The human report: one line per check (✔ ok, ⚠ warn, ✖ fail, ○ skip), the details under it, and the fix
// commands under each problem, then a one-line verdict.
import chalk from 'chalk'

import type {CheckResult, CheckStatus, DoctorReport} from './types.js'

const MARK: Record<CheckStatus, string> = {
  ok: chalk.green('✔'),
  warn: chalk.yellow('⚠'),
  fail: chalk.red('✖'),
  skip: chalk.dim('○'),
}

export function report__line(r: CheckResult): string {
  const lines = [`${MARK[r.status]} ${chalk.bold(r.title)}: ${r.status === 'skip' ? chalk.dim(r.detail) : r.detail}`]
  if (r.fix && (r.status === 'warn' || r.status === 'fail')) {
    for (const f of r.fix) lines.push(`    ${chalk.cyan('→')} ${f}`)
  }
  return lines.join('\n')
}

export function report__render(report: DoctorReport): string {
  const out: string[] = []
  if (report.target) out.push(chalk.dim(`broker under test: ${report.target}`))
  for (const r of report.checks) out.push(report__line(r))
  const {ok, warn, fail, skip} = report.summary
  const counts = `${ok} ok, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failure${fail === 1 ? '' : 's'}${skip ? `, ${skip} skipped` : ''}`
  const verdict = fail > 0 ? chalk.red(`✖ ${counts}`) : warn > 0 ? chalk.yellow(`⚠ ${counts}`) : chalk.green(`✔ ${counts}`)
  out.push('', verdict)
  return out.join('\n')
}
