// Step 6: a retained message is stored and delivered to a later subscriber (then removed again).
import {mqtt__end, mqtt__nextMessage, mqtt__publish, mqtt__subscribe} from '../mqtt.js'
import type {Check, CheckResult} from '../types.js'
import {session__open, session__topic} from '../session.js'

export const retainedCheck: Check = {
  id: 'target.retained',
  title: 'retained messages',
  needs: ['target.connect'],
  after: ['target.roundtrip'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const base = {id: 'target.retained', title: 'retained messages'}
    const props = ctx.result('target.connect')?.[0]?.data?.properties as {retainAvailable?: boolean} | undefined
    if (props?.retainAvailable === false) {
      return {...base, status: 'warn', detail: 'the broker says it does not support retained messages (CONNACK Retain Available = 0)', fix: ['enable retained messages in the broker (mosquitto: `retain_available true`)']}
    }
    const s = await session__open(ctx, 'ret')
    if (!s.client) return {...base, status: 'fail', detail: `could not connect again: ${s.error}`}
    const client = s.client
    const topic = session__topic(ctx, 'retained')
    try {
      const pubError = await mqtt__publish(client, topic, 'mqttkit doctor retained', {qos: 1, retain: true}, ctx.timeoutMs)
      if (pubError) return {...base, status: 'fail', detail: `publishing a retained message failed: ${pubError.message}`, fix: [`allow publishing on ${ctx.testTopic}/# (or choose --test-topic)`]}
      // Subscribing after the publish: only a stored (retained) message can arrive.
      const arriving = mqtt__nextMessage(client, topic, ctx.timeoutMs)
      const sub = await mqtt__subscribe(client, {[topic]: {qos: 1}}, ctx.timeoutMs)
      if (sub.error) return {...base, status: 'fail', detail: `subscribing failed: ${sub.error.message}`, fix: [`allow subscribing to ${ctx.testTopic}/# (or choose --test-topic)`]}
      const message = await arriving
      if (!message) {
        return {...base, status: 'fail', detail: `a retained message was published (acknowledged) but a new subscriber did not receive it within ${ctx.timeoutMs} ms`, fix: ['check that the broker keeps retained messages (mosquitto: `retain_available true`) and that the ACL allows reading this topic']}
      }
      if (!message.retain) {
        return {...base, status: 'warn', detail: 'the message arrived without the RETAIN flag', fix: ['the broker does not mark stored messages as retained [MQTT-3.3.1-8]; upgrade it']}
      }
      return {...base, status: 'ok', detail: 'a retained message was stored and delivered to a new subscription (then cleared)'}
    } finally {
      // An empty retained payload deletes the stored message, leaving the broker as we found it.
      await mqtt__publish(client, topic, '', {qos: 1, retain: true}, ctx.timeoutMs)
      await mqtt__end(client)
    }
  },
}
