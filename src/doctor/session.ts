// Shared by the checks that need a live connection after "MQTT CONNECT" passed: the same settings and the
// protocol version that CONNECT settled on, with a fresh client id so checks never take over each other.
import {randomBytes} from 'node:crypto'
import type {MqttClient} from 'mqtt'

import {mqtt__connect} from './mqtt.js'
import type {DoctorContext} from './types.js'

export async function session__open(ctx: DoctorContext, suffix: string): Promise<{client?: MqttClient; error?: string; version: number}> {
  const t = ctx.target!
  const v = (ctx.result('target.connect')?.[0]?.data?.protocolVersion as number | undefined) ?? t.clientOptions.protocolVersion ?? 5
  const base = String(t.clientOptions.clientId ?? 'mqttkit-doctor')
  const out = await mqtt__connect(
    {
      ...t.clientOptions,
      protocolVersion: v as 3 | 4 | 5,
      clientId: `${base.slice(0, 12)}-${suffix}-${randomBytes(3).toString('hex')}`,
      clean: true,
      properties: v === 5 ? {sessionExpiryInterval: 0} : undefined,
      will: undefined,
    },
    ctx.timeoutMs,
  )
  if (out.client) return {client: out.client, version: v}
  return {error: out.reasonCode !== undefined ? `refused with code ${out.reasonCode}` : String(out.error?.message ?? out.error?.code), version: v}
}

/** A topic no other client uses, under the user's `--test-topic` prefix. */
export function session__topic(ctx: DoctorContext, leaf: string): string {
  return `${ctx.testTopic.replace(/\/+$/, '')}/${randomBytes(4).toString('hex')}/${leaf}`
}
