// Step 5: publish and receive our own message at QoS 0, 1 and 2, measuring the round trip. A message that
// never comes back with CONNECT accepted almost always means an ACL that denies the topic.
import {mqtt__end, mqtt__nextMessage, mqtt__publish, mqtt__subscribe} from '../mqtt.js'
import {reason__suback} from '../reasons.js'
import type {Check, CheckResult} from '../types.js'
import {session__open, session__topic} from '../session.js'

const ACL_FIX = (topic: string) => [
  `allow this user to publish and subscribe on ${topic}/# in the broker's ACL, or pick an allowed prefix with --test-topic`,
]

export const roundtripCheck: Check = {
  id: 'target.roundtrip',
  title: 'publish/subscribe round trip',
  needs: ['target.connect'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const base = {id: 'target.roundtrip', title: 'publish/subscribe round trip (QoS 0, 1, 2)'}
    const s = await session__open(ctx, 'rt')
    if (!s.client) return {...base, status: 'fail', detail: `could not connect again: ${s.error}`}
    const client = s.client
    const latencies: Record<string, number | null> = {}
    const granted: Record<string, number> = {}
    const problems: string[] = []
    try {
      for (const qos of [0, 1, 2] as const) {
        const topic = session__topic(ctx, `qos${qos}`)
        const sub = await mqtt__subscribe(client, {[topic]: {qos}}, ctx.timeoutMs)
        if (sub.error) {
          const code = sub.error.code
          problems.push(`QoS ${qos}: subscribe refused (${typeof code === 'number' ? reason__suback(code) : sub.error.message})`)
          latencies[`qos${qos}`] = null
          continue
        }
        granted[`qos${qos}`] = sub.granted[0]
        const started = performance.now()
        const arriving = mqtt__nextMessage(client, topic, ctx.timeoutMs)
        const pubError = await mqtt__publish(client, topic, `mqttkit doctor ${qos}`, {qos}, ctx.timeoutMs)
        if (pubError) {
          problems.push(`QoS ${qos}: publish failed (${pubError.message})`)
          latencies[`qos${qos}`] = null
          continue
        }
        const message = await arriving
        if (!message) {
          problems.push(`QoS ${qos}: the message did not come back within ${ctx.timeoutMs} ms`)
          latencies[`qos${qos}`] = null
          continue
        }
        latencies[`qos${qos}`] = Math.round((performance.now() - started) * 100) / 100
      }
    } finally {
      await mqtt__end(client)
    }
    const data = {latencyMs: latencies, grantedQos: granted}
    const shown = Object.entries(latencies)
      .map(([k, v]) => `${k.replace('qos', 'QoS ')}: ${v === null ? '—' : `${v} ms`}`)
      .join(', ')
    if (problems.length > 0) {
      return {...base, status: 'fail', detail: `${problems.join('; ')}. ${shown}`, fix: ACL_FIX(ctx.testTopic), data}
    }
    const downgraded = Object.entries(granted).filter(([k, g]) => g < Number(k.slice(3)))
    if (downgraded.length > 0) {
      return {
        ...base,
        status: 'warn',
        detail: `${shown}; the broker granted lower QoS (${downgraded.map(([k, g]) => `${k.replace('qos', 'QoS ')} → ${g}`).join(', ')})`,
        fix: ['the broker caps QoS (MQTT 5 Maximum QoS, or its configuration): design for the granted QoS or raise the broker limit'],
        data,
      }
    }
    return {...base, status: 'ok', detail: shown, data}
  },
}
