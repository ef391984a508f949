// Step 8: bridges the broker reports in $SYS (mqttkit: $SYS/broker/bridges/<name>/state, mosquitto with
// `notifications true`: $SYS/broker/connection/<name>/state), retained `1` up or `0` down; any that is down is named.
import {mqtt__end, mqtt__subscribe} from '../mqtt.js'
import {session__open} from '../session.js'
import type {Check, CheckResult} from '../types.js'

const FILTERS = {'$SYS/broker/bridges/+/state': {qos: 0 as const}, '$SYS/broker/connection/+/state': {qos: 0 as const}}
/** Retained messages follow the SUBACK at once; this long is enough to have them all. */
const SETTLE_MS = 500

export const bridgesCheck: Check = {
  id: 'target.bridges',
  title: 'bridges',
  needs: ['target.connect'],
  after: ['target.mqtt5'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const base = {id: 'target.bridges', title: 'bridges'}
    const s = await session__open(ctx, 'br')
    if (!s.client) return {...base, status: 'fail', detail: `could not connect again: ${s.error}`}
    const client = s.client
    const states = new Map<string, string>()
    client.on('message', (topic, payload) => {
      const name = /^\$SYS\/broker\/(?:bridges|connection)\/([^/]+)\/state$/.exec(topic)?.[1]
      if (name !== undefined) states.set(name, payload.toString())
    })
    try {
      const sub = await mqtt__subscribe(client, FILTERS, ctx.timeoutMs)
      if (sub.error || sub.granted.every((g) => g >= 0x80)) {
        return {...base, status: 'skip', detail: 'the broker does not let this client read $SYS bridge states'}
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_MS, ctx.timeoutMs)))
      if (states.size === 0) return {...base, status: 'skip', detail: 'the broker reports no bridges'}
      const down = [...states].filter(([, v]) => v !== '1').map(([name]) => name)
      const data = {bridges: Object.fromEntries([...states].map(([name, v]) => [name, v === '1' ? 'up' : 'down']))}
      if (down.length === 0) return {...base, status: 'ok', detail: `${states.size} bridge(s) connected: ${[...states.keys()].join(', ')}`, data}
      return {
        ...base,
        status: 'warn',
        detail: `bridge(s) not connected to their remote broker: ${down.join(', ')}`,
        fix: [
          `look for "bridge ${down[0]}:" lines in the broker's log (the remote's address and why it failed)`,
          'run `mqttkit doctor --url <the remote broker URL>` from this machine to see why the remote cannot be reached',
        ],
        data,
      }
    } finally {
      await mqtt__end(client)
    }
  },
}
