// Step 7: what the broker grants an MQTT 5 client (the CONNACK properties, with the specification's defaults
// for absent ones) and whether wildcard and shared subscriptions are really accepted.
import {randomBytes} from 'node:crypto'
import type {IClientOptions} from 'mqtt'

import {mqtt__connect, mqtt__end, mqtt__subscribe} from '../mqtt.js'
import {reason__suback} from '../reasons.js'
import type {Check, CheckResult} from '../types.js'
import {session__topic} from '../session.js'

interface ConnackProps {
  maximumQoS?: number
  retainAvailable?: boolean
  receiveMaximum?: number
  maximumPacketSize?: number
  topicAliasMaximum?: number
  wildcardSubscriptionAvailable?: boolean
  sharedSubscriptionAvailable?: boolean
  subscriptionIdentifiersAvailable?: boolean
  sessionExpiryInterval?: number
  serverKeepAlive?: number
}

/** The session expiry doctor asks for, to see whether the broker lowers it. */
const ASKED_EXPIRY = 300

export const mqtt5Check: Check = {
  id: 'target.mqtt5',
  title: 'MQTT 5 capabilities',
  needs: ['target.connect'],
  after: ['target.retained'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const base = {id: 'target.mqtt5', title: 'MQTT 5 capabilities'}
    const t = ctx.target!
    // Ask for a session that outlives the connection, to see the broker's own cap (it answers with its value).
    const again = await mqtt__connect(
      {...t.clientOptions, protocolVersion: 5, clientId: `mqttkit-doctor-v5-${randomBytes(3).toString('hex')}`, clean: true, properties: {sessionExpiryInterval: ASKED_EXPIRY}, will: undefined},
      ctx.timeoutMs,
    )
    if (!again.client) {
      const why = again.reasonCode !== undefined ? `refused with code ${again.reasonCode}` : String(again.error?.message ?? again.error?.code)
      return {...base, status: 'warn', detail: `the broker does not accept MQTT 5 (${why}): only 3.1.1 features are available`, fix: ['use -V 3.1.1 with this broker, or upgrade it to an MQTT 5 broker']}
    }
    const c = again.client
    try {
      const p = (again.connack?.properties ?? {}) as ConnackProps
      const caps = {
        maximumQoS: p.maximumQoS ?? 2,
        retainAvailable: p.retainAvailable ?? true,
        receiveMaximum: p.receiveMaximum ?? 65_535,
        maximumPacketSize: p.maximumPacketSize ?? null,
        topicAliasMaximum: p.topicAliasMaximum ?? 0,
        wildcardSubscriptionAvailable: p.wildcardSubscriptionAvailable ?? true,
        sharedSubscriptionAvailable: p.sharedSubscriptionAvailable ?? true,
        subscriptionIdentifiersAvailable: p.subscriptionIdentifiersAvailable ?? true,
        sessionExpiryInterval: p.sessionExpiryInterval ?? ASKED_EXPIRY,
        serverKeepAlive: p.serverKeepAlive ?? null,
      }
      const wildTopic = session__topic(ctx, '+')
      const wild = await mqtt__subscribe(c, {[wildTopic]: {qos: 0}}, ctx.timeoutMs)
      const shared = await mqtt__subscribe(c, {[`$share/mqttkit-doctor/${session__topic(ctx, 'shared')}`]: {qos: 0}}, ctx.timeoutMs)
      const probes = await probeIdsAndReasons(ctx.target!.clientOptions, ctx.timeoutMs)
      const subCode = (r: typeof wild) => (typeof r.error?.code === 'number' ? reason__suback(r.error.code) : r.error?.message)
      const tried = {wildcardSubscribe: wild.error ? subCode(wild) : 'granted', sharedSubscribe: shared.error ? subCode(shared) : 'granted'}
      const data = {...caps, ...tried, ...probes}
      const detail = [
        `maximum QoS ${caps.maximumQoS}`,
        `receive maximum ${caps.receiveMaximum}`,
        `maximum packet size ${caps.maximumPacketSize ?? 'unlimited'}`,
        `topic alias maximum ${caps.topicAliasMaximum}`,
        `retain ${caps.retainAvailable ? 'yes' : 'no'}`,
        `wildcard subscriptions ${tried.wildcardSubscribe === 'granted' ? 'yes' : `no (${tried.wildcardSubscribe})`}`,
        `shared subscriptions ${tried.sharedSubscribe === 'granted' ? 'yes' : `no (${tried.sharedSubscribe})`}`,
        `subscription identifiers ${caps.subscriptionIdentifiersAvailable ? 'yes' : 'no'}`,
        `assigned client ids ${probes.assignClientIds === 'yes' ? 'yes' : `no (${probes.assignClientIds})`}`,
        `reason strings ${probes.reasonStrings}`,
        `session expiry ${caps.sessionExpiryInterval} s (asked ${ASKED_EXPIRY} s)`,
        ...(caps.serverKeepAlive === null ? [] : [`server keep-alive ${caps.serverKeepAlive} s`]),
      ].join(', ')
      // A broker that advertises a feature and then refuses it contradicts itself: worth a warning.
      const contradictions: string[] = []
      if (caps.wildcardSubscriptionAvailable && tried.wildcardSubscribe !== 'granted') contradictions.push('wildcard subscriptions are advertised but refused')
      if (caps.sharedSubscriptionAvailable && tried.sharedSubscribe !== 'granted') contradictions.push('shared subscriptions are advertised but refused')
      if (contradictions.length > 0) {
        return {...base, status: 'warn', detail: `${contradictions.join('; ')} (an ACL may deny ${ctx.testTopic}/#). ${detail}`, fix: [`allow subscribing to ${ctx.testTopic}/# and $share/+/${ctx.testTopic}/# or choose --test-topic`], data}
      }
      return {...base, status: 'ok', detail, data}
    } finally {
      // Expire the session now rather than in ASKED_EXPIRY seconds: doctor leaves nothing behind [MQTT-3.14.2.2.2].
      await mqtt__end(c, {properties: {sessionExpiryInterval: 0}})
    }
  },
}

/**
 * Two capabilities CONNACK does not advertise, probed with one short connection each: whether an empty client id
 * gets one assigned (or is refused, e.g. 0x85), and whether refusals carry reason strings, seen on the CONNACK that
 * refuses an authentication method no broker knows (0x8C bad authentication method, a refusal that harms nothing).
 */
async function probeIdsAndReasons(options: IClientOptions, timeoutMs: number): Promise<{assignClientIds: string; reasonStrings: 'yes' | 'no' | 'unknown'}> {
  const empty = await mqtt__connect({...options, protocolVersion: 5, clientId: '', clean: true, will: undefined}, timeoutMs)
  let assignClientIds = 'yes'
  if (empty.client) await mqtt__end(empty.client)
  else assignClientIds = empty.reasonCode === undefined ? String(empty.error?.message ?? 'no CONNACK') : `0x${empty.reasonCode.toString(16)}`
  const method = await mqtt__connect(
    {...options, protocolVersion: 5, clean: true, will: undefined, properties: {authenticationMethod: `mqttkit-doctor-probe-${randomBytes(3).toString('hex')}`}},
    timeoutMs,
  )
  let reasonStrings: 'yes' | 'no' | 'unknown' = 'unknown'
  if (method.client) await mqtt__end(method.client)
  else if (method.connack !== undefined) reasonStrings = method.connack.properties?.reasonString === undefined ? 'no' : 'yes'
  return {assignClientIds, reasonStrings}
}
