// Runs the doctor's checks: each check starts as soon as the checks it depends on have finished, so the
// machine checks run side by side while the broker checks run in order (DNS → TCP → TLS → CONNECT → …).
import {exec__run} from './exec.js'
import type {Check, CheckResult, CheckStatus, DoctorContext, DoctorOptions, DoctorReport, Exec} from './types.js'

export interface RunHooks {
  exec?: Exec
  /** Called when a check starts and when it ends, for spinners. */
  onStart?(check: Check): void
  onResult?(check: Check, results: CheckResult[]): void
}

export async function doctor__run(checks: Check[], options: DoctorOptions, hooks: RunHooks = {}): Promise<DoctorReport> {
  const active = checks.filter((c) => c.applies(options))
  const known = new Set(active.map((c) => c.id))
  const memo = new Map<string, Promise<unknown>>()
  const done = new Map<string, CheckResult[]>()
  const running = new Map<string, Promise<CheckResult[]>>()

  const ctx: DoctorContext = {
    ...options,
    exec: hooks.exec ?? exec__run,
    memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
      let p = memo.get(key) as Promise<T> | undefined
      if (!p) {
        p = compute()
        memo.set(key, p)
      }
      return p
    },
    result: (id) => done.get(id),
  }

  const start = (check: Check): Promise<CheckResult[]> => {
    let p = running.get(check.id)
    if (p) return p
    p = (async () => {
      const deps = [...(check.needs ?? []), ...(check.after ?? [])].filter((id) => known.has(id))
      await Promise.all(deps.map((id) => start(active.find((c) => c.id === id)!)))
      const blocker = (check.needs ?? []).flatMap((id) => done.get(id) ?? []).find((r) => r.status === 'fail' || r.status === 'skip')
      let results: CheckResult[]
      if (blocker) {
        results = [{id: check.id, title: check.title, status: 'skip', detail: `not run: the check "${blocker.id}" did not pass`}]
      } else {
        hooks.onStart?.(check)
        results = await runOne(check, ctx)
      }
      done.set(check.id, results)
      hooks.onResult?.(check, results)
      return results
    })()
    running.set(check.id, p)
    return p
  }

  await Promise.all(active.map((c) => start(c)))
  // Report in the declared order, whatever order the checks finished in.
  const results = active.flatMap((c) => done.get(c.id) ?? [])
  const summary: Record<CheckStatus, number> = {ok: 0, warn: 0, fail: 0, skip: 0}
  for (const r of results) summary[r.status]++
  return {
    schema: 'mqttkit.doctor/1',
    platform: options.platform,
    node: process.versions.node,
    target: options.target ? `${options.target.protocol}://${options.target.host}:${options.target.port}${options.target.path ?? ''}` : undefined,
    summary,
    exitCode: summary.fail > 0 ? 2 : summary.warn > 0 ? 1 : 0,
    checks: results,
  }
}

/** Exit code the command uses: warnings only fail the run under `--strict`. */
export function doctor__exitCode(report: DoctorReport, strict: boolean): 0 | 1 | 2 {
  if (report.exitCode === 1 && !strict) return 0
  return report.exitCode
}

async function runOne(check: Check, ctx: DoctorContext): Promise<CheckResult[]> {
  try {
    const out = await check.run(ctx)
    return Array.isArray(out) ? out : [out]
  } catch (error) {
    // A check that crashes is a doctor bug, but the user still gets every other answer and this one's cause.
    const message = error instanceof Error ? error.message : String(error)
    return [{id: check.id, title: check.title, status: 'fail', detail: `the check itself failed: ${message}`}]
  }
}
