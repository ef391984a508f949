// `mqttkit doctor --store redis://...`: is the cluster's Redis reachable, and which broker nodes hold a live lease
// there (docs/cluster.md)? Reads the keys the cluster writes (nodes hash, lease keys); changes nothing.
import {Redis} from 'ioredis'
import {ClusterKeys} from '../../broker/cluster/keys.js'
import {RedisKeys} from '../../broker/store/redis.js'
import {redisUrl__parse} from '../../broker/store/redis-url.js'
import type {Check, CheckResult, DoctorContext} from '../types.js'

const BASE = {id: 'cluster', title: 'cluster store (Redis) and nodes'}

export const clusterCheck: Check = {
  ...BASE,
  applies: (o) => o.store !== undefined && /^(redis|rediss|redis\+sentinel):\/\//i.test(o.store),
  async run(ctx: DoctorContext): Promise<CheckResult> {
    let target
    let keys
    try {
      target = redisUrl__parse(ctx.store!)
      keys = new ClusterKeys(new RedisKeys(ctx.clusterName ?? 'mqttkit'))
    } catch (error) {
      return {...BASE, status: 'fail', detail: (error as Error).message, fix: ['give --store as redis://host:port/db (docs/cluster.md)']}
    }
    const options = {...target.options, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: ctx.timeoutMs}
    const redis = target.url === undefined ? new Redis(options) : new Redis(target.url, options)
    let lastError = ''
    redis.on('error', (e: Error) => (lastError = e.message))
    try {
      const started = performance.now()
      await redis.connect()
      await redis.ping()
      const pingMs = Math.round((performance.now() - started) * 10) / 10
      const nodes = await redis.hgetall(keys.nodes)
      const incs = Object.keys(nodes)
      const leases = incs.length === 0 ? [] : ((await redis.pipeline(incs.map((inc) => ['exists', keys.lease(inc)])).exec()) ?? [])
      const alive: string[] = []
      const waiting: string[] = []
      incs.forEach((inc, i) => (leases[i]?.[1] === 1 ? alive : waiting).push(nodeIdOf(nodes[inc], inc)))
      const data = {redis: target.label, pingMs, cluster: keys.base, alive, waitingForAdoption: waiting}
      const detail = `${target.label} answers (${pingMs} ms); cluster ${ctx.clusterName ?? 'mqttkit'}: ${alive.length} node(s) alive${alive.length > 0 ? ` (${alive.sort().join(', ')})` : ''}${waiting.length > 0 ? `, ${waiting.length} gone and not adopted yet (${waiting.sort().join(', ')})` : ''}`
      if (alive.length === 0) {
        return {...BASE, status: 'warn', detail, fix: [`start a node: mqttkit broker --store ${target.label} --cluster-name ${ctx.clusterName ?? 'mqttkit'}`], data}
      }
      return {...BASE, status: 'ok', detail, data}
    } catch (error) {
      return {
        ...BASE,
        status: 'fail',
        detail: `Redis at ${target.label} does not answer: ${lastError || (error as Error).message}`,
        fix: ['start Redis (sudo systemctl start redis-server), or check the --store URL, its password and TLS'],
        data: {redis: target.label},
      }
    } finally {
      redis.disconnect()
    }
  },
}

function nodeIdOf(json: string | undefined, inc: string): string {
  try {
    return (JSON.parse(json ?? '{}') as {nodeId?: string}).nodeId ?? inc
  } catch {
    return inc
  }
}
