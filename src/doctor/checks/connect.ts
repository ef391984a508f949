// Step 4: an MQTT CONNECT with the user's own settings (credentials, client id, version), and the CONNACK
// explained: accepted (with what the broker granted) or refused (the reason code in words, and what to do).
import {connect as tlsConnect} from 'node:tls'

import {mqtt__connect, mqtt__end, type ConnectOutcome} from '../mqtt.js'
import {reason__connack, reason__isAuth} from '../reasons.js'
import {probe__port, type ProbeScheme} from '../probe.js'
import {tls__explainFailure} from './tls.js'
import type {Check, CheckResult, DoctorContext, DoctorTarget} from '../types.js'

/** Does the port complete a TLS handshake? Tells "you used mqtt:// on a TLS port" apart from "not MQTT at all". */
function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({host, port, rejectUnauthorized: false})
    const done = (v: boolean) => {
      clearTimeout(timer)
      s.destroy()
      resolve(v)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    s.once('secureConnect', () => done(true))
    s.once('error', () => done(false))
  })
}

const TRANSPORTS: Record<ProbeScheme, string> = {
  mqtt: 'plain MQTT over TCP',
  mqtts: 'MQTT over TLS',
  ws: 'MQTT over WebSocket',
  wss: 'MQTT over secure WebSocket',
}

async function otherTransport(t: DoctorTarget, timeoutMs: number): Promise<ProbeScheme | undefined> {
  for (const scheme of ['mqtt', 'ws', 'mqtts', 'wss'] as const) {
    if (scheme === t.protocol) continue
    if ((await probe__port(t.host, t.port, scheme, timeoutMs)).mqtt) return scheme
  }
  return undefined
}

export async function connect__withFallback(ctx: DoctorContext): Promise<{out: ConnectOutcome; version: number; fellBack: boolean}> {
  const t = ctx.target!
  const version = t.clientOptions.protocolVersion ?? 5
  const out = await mqtt__connect(t.clientOptions, ctx.timeoutMs)
  const refusedVersion = out.reasonCode === 0x84 || out.reasonCode === 1 || out.error?.code === 'CLOSED'
  if (version === 5 && !t.protocolVersionGiven && refusedVersion) {
    const v4 = await mqtt__connect({...t.clientOptions, protocolVersion: 4, properties: undefined}, ctx.timeoutMs)
    if (v4.client || v4.reasonCode !== undefined) return {out: v4, version: 4, fellBack: true}
  }
  return {out, version, fellBack: false}
}

export const connectCheck: Check = {
  id: 'target.connect',
  title: 'MQTT CONNECT',
  needs: ['target.tcp'],
  after: ['target.tls'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const t = ctx.target!
    const o = t.clientOptions
    const who = o.username ? `user "${o.username}"` : 'no user name (anonymous)'
    const base = {id: 'target.connect', title: `MQTT CONNECT as ${who}`}
    const tls = ctx.result('target.tls')?.[0]
    if (tls?.status === 'fail') return {...base, status: 'skip', detail: 'not run: the TLS check failed (use --insecure to look past the certificate)'}

    const {out, version, fellBack} = await connect__withFallback(ctx)
    const vName = version === 5 ? '5' : version === 4 ? '3.1.1' : '3.1'
    if (out.client) {
      await mqtt__end(out.client)
      const c = out.connack!
      const props = (c.properties ?? {}) as Record<string, unknown>
      const assigned = props.assignedClientIdentifier ? `, assigned client id "${props.assignedClientIdentifier}"` : ''
      const detail = `accepted (MQTT ${vName}) in ${Math.round(out.ms)} ms, session present: ${c.sessionPresent}${assigned}`
      const data = {protocolVersion: version, ms: Math.round(out.ms), sessionPresent: c.sessionPresent, properties: props}
      if (fellBack) {
        return {...base, status: 'warn', detail: `${detail}; the broker refused MQTT 5, so 3.1.1 was used`, fix: ['add -V 3.1.1 to pub/sub/bench for this broker, or upgrade the broker to one that speaks MQTT 5'], data}
      }
      return {...base, status: 'ok', detail, data}
    }
    if (out.reasonCode !== undefined) {
      const r = reason__connack(out.reasonCode, version)
      const code = version === 5 ? `0x${out.reasonCode.toString(16)}` : String(out.reasonCode)
      const data = {protocolVersion: version, reasonCode: out.reasonCode, reason: r.name, diagnosis: 'refused'}
      if (reason__isAuth(out.reasonCode, version)) {
        // Brokers answer a wrong password with either code (mosquitto says "not authorized" for both), so the
        // diagnosis comes from what we sent: credentials that were rejected, or no credentials at all.
        if (o.username) {
          return {
            ...base,
            status: 'fail',
            detail: `refused: ${r.name} (${code}): the broker did not accept user "${o.username}" with this password (wrong password, unknown user, or a user that may not connect)`,
            fix: reason__connack(version === 5 ? 0x86 : 4, version).fix,
            data: {...data, diagnosis: 'bad-credentials'},
          }
        }
        return {
          ...base,
          status: 'fail',
          detail: `refused: ${r.name} (${code}): the broker does not accept anonymous clients`,
          fix: ['pass a user name and password: -u USER -P PASSWORD', 'or allow anonymous clients on the broker (mosquitto: `allow_anonymous true` in the listener\'s configuration)'],
          data: {...data, diagnosis: 'anonymous-refused'},
        }
      }
      return {...base, status: 'fail', detail: `refused: ${r.name} (${code}): ${r.meaning}`, fix: r.fix, data}
    }
    const code = String(out.error?.code ?? 'error')
    if (code !== 'CONNACK_TIMEOUT') {
      // The usual cause of a hang-up before CONNACK: the right port, the wrong transport. Ask the port in the others.
      const other = await otherTransport(t, ctx.timeoutMs)
      if (other) {
        const host = t.host.includes(':') ? `[${t.host}]` : t.host
        return {
          ...base,
          status: 'fail',
          detail: `port ${t.port} speaks ${TRANSPORTS[other]}, but the client used ${TRANSPORTS[t.protocol]}`,
          fix: [`connect with --url ${other}://${host}:${t.port}${other === 'ws' || other === 'wss' ? '/mqtt' : ''}${other === 'mqtts' || other === 'wss' ? '   (add --cafile ca.crt for a private CA)' : ''}`],
          data: {code, speaks: other},
        }
      }
      if ((t.protocol === 'mqtt' || t.protocol === 'ws') && (await speaksTls(t.host, t.port, ctx.timeoutMs))) {
        return {
          ...base,
          status: 'fail',
          detail: `port ${t.port} expects TLS, but the client spoke plain ${t.protocol === 'ws' ? 'HTTP' : 'MQTT'}`,
          fix: [`connect with TLS: --url ${t.protocol === 'ws' ? 'wss' : 'mqtts'}://${t.host}:${t.port}${t.path} (add --cafile ca.crt for a private CA)`],
          data: {code},
        }
      }
    }
    if (/^(ERR_SSL_|ERR_TLS_|EPROTO)/.test(code)) {
      return {...base, status: 'fail', ...tls__explainFailure(code, String(out.error?.message ?? ''), t.display), data: {code}}
    }
    const notMqtt = code === 'CLOSED' || code === 'CONNACK_TIMEOUT'
    return {
      ...base,
      status: 'fail',
      detail: notMqtt
        ? `${t.display} accepted TCP but sent no CONNACK (${code === 'CLOSED' ? 'it closed the connection' : 'no answer'}): it is not an MQTT broker, or not on this protocol`
        : `the connection failed: ${out.error?.message ?? code} (${code})`,
      fix: notMqtt
        ? [
            'check the port: 1883 is MQTT, 8883 MQTT over TLS, 8083/8000 MQTT over WebSocket (ws://host:8083/mqtt)',
            t.protocol === 'ws' || t.protocol === 'wss' ? 'check the WebSocket path (usually /mqtt): --url ws://host:8083/mqtt' : 'if it is a WebSocket port, use --url ws://HOST:PORT/mqtt',
          ]
        : ['check the broker log'],
      data: {code},
    }
  },
}
