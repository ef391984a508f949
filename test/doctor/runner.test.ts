// The runner: dependency order, skip on failed prerequisites, crashes turned into failures, exit codes.
import {describe, expect, it} from 'vitest'

import {doctor__exitCode, doctor__run} from '../../src/doctor/runner.js'
import type {Check, CheckStatus, DoctorOptions} from '../../src/doctor/types.js'

const options: DoctorOptions = {platform: 'linux', ports: [], extraPorts: [], expectedConnections: 1, timeoutMs: 1000, local: true, testTopic: 't'}

function check(id: string, status: CheckStatus | Error, extra: Partial<Check> = {}, log?: string[]): Check {
  return {
    id,
    title: id,
    applies: () => true,
    async run() {
      log?.push(id)
      await new Promise((r) => setTimeout(r, 5))
      if (status instanceof Error) throw status
      return {id, title: id, status, detail: status}
    },
    ...extra,
  }
}

describe('doctor runner', () => {
  it('runs a check after the checks it needs, and skips it when one of them failed', async () => {
    const log: string[] = []
    const report = await doctor__run(
      [check('b', 'ok', {needs: ['a']}, log), check('a', 'fail', {}, log), check('c', 'ok', {needs: ['b']}, log)],
      options,
    )
    expect(log).toEqual(['a'])
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['b', 'skip'],
      ['a', 'fail'],
      ['c', 'skip'],
    ])
    expect(report.checks[0].detail).toContain('"a" did not pass')
  })

  it('`after` orders without skipping; independent checks run concurrently', async () => {
    const log: string[] = []
    const report = await doctor__run([check('x', 'ok', {after: ['y']}, log), check('y', 'fail', {}, log), check('z', 'warn', {}, log)], options)
    expect(log.indexOf('y')).toBeLessThan(log.indexOf('x'))
    expect(report.checks.find((c) => c.id === 'x')?.status).toBe('ok')
  })

  it('turns a crashing check into a failure that names the error, and keeps the others', async () => {
    const report = await doctor__run([check('boom', new Error('kaput')), check('fine', 'ok')], options)
    expect(report.checks[0]).toMatchObject({id: 'boom', status: 'fail'})
    expect(report.checks[0].detail).toContain('kaput')
    expect(report.checks[1].status).toBe('ok')
  })

  it('leaves out checks that do not apply', async () => {
    const report = await doctor__run([check('no', 'ok', {applies: () => false}), check('yes', 'ok')], options)
    expect(report.checks.map((c) => c.id)).toEqual(['yes'])
  })

  it('exit code: 0 all ok, 2 on any failure, 1 for warnings only under --strict', async () => {
    const ok = await doctor__run([check('a', 'ok'), check('s', 'skip')], options)
    const warn = await doctor__run([check('a', 'ok'), check('w', 'warn')], options)
    const fail = await doctor__run([check('w', 'warn'), check('f', 'fail')], options)
    expect([doctor__exitCode(ok, false), doctor__exitCode(ok, true)]).toEqual([0, 0])
    expect([doctor__exitCode(warn, false), doctor__exitCode(warn, true)]).toEqual([0, 1])
    expect([doctor__exitCode(fail, false), doctor__exitCode(fail, true)]).toEqual([2, 2])
    expect(fail.summary).toEqual({ok: 0, warn: 1, fail: 1, skip: 0})
  })
})
