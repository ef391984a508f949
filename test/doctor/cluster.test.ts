// `mqttkit doctor --store redis://... --check cluster` through the built binary against a real redis-server: the
// nodes alive in the cluster are listed, an empty cluster warns, and an unreachable Redis fails the check (exit 2).
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {cluster__name, cluster__node, cluster__stopAll} from '../helpers/cluster.js'
import {REDIS_SERVER, type RunningRedis, redis__cleanup, redis__start, requireRedis} from '../helpers/redis.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')

function doctor(args: string[]): Promise<{code: number; stdout: string}> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'doctor', '--no-local', '--json', ...args], {timeout: 25_000, env: {...process.env, FORCE_COLOR: '0'}}, (error, stdout) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout})
    })
  })
}

let redis: RunningRedis | undefined
beforeAll(async () => {
  if (existsSync(REDIS_SERVER)) redis = await redis__start()
})
beforeEach((ctx) => {
  requireRedis(ctx)
})
afterAll(async () => {
  await cluster__stopAll()
  await redis__cleanup()
})

describe('mqttkit doctor --store (cluster check)', () => {
  it('lists the nodes alive on the cluster\'s Redis', async () => {
    const name = cluster__name()
    await cluster__node(redis!.url, name, 'alpha')
    await cluster__node(redis!.url, name, 'beta')
    const {code, stdout} = await doctor(['--store', redis!.url, '--cluster-name', name, '--check', 'cluster'])
    expect(code).toBe(0)
    const check = (JSON.parse(stdout) as {checks: Array<{id: string; status: string; detail: string; data: {alive: string[]}}>}).checks.find((c) => c.id === 'cluster')!
    expect(check.status).toBe('ok')
    expect(check.data.alive.sort()).toEqual(['alpha', 'beta'])
    expect(check.detail).toContain('2 node(s) alive (alpha, beta)')
  })

  it('warns when no node is alive in that cluster, fails when Redis does not answer', async () => {
    const empty = await doctor(['--store', redis!.url, '--cluster-name', 'nobody-here', '--check', 'cluster'])
    const warned = (JSON.parse(empty.stdout) as {checks: Array<{id: string; status: string}>}).checks.find((c) => c.id === 'cluster')!
    expect(warned.status).toBe('warn')
    const down = await doctor(['--store', 'redis://127.0.0.1:1/0', '--check', 'cluster'])
    expect(down.code).toBe(2)
    const failed = (JSON.parse(down.stdout) as {checks: Array<{id: string; status: string; detail: string}>}).checks.find((c) => c.id === 'cluster')!
    expect(failed.status).toBe('fail')
    expect(failed.detail).toMatch(/does not answer: .*ECONNREFUSED/)
  })
})
