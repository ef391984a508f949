// Step 2: does anything accept a TCP connection on the broker's port? Refused, timed out and unreachable have
// different causes (no broker / firewall / routing), so each gets its own explanation.
import {connect} from 'node:net'

import {fix__openFirewall} from '../fixes.js'
import {platform__isLoopback} from '../platform/listeners.js'
import type {Check, CheckResult, DoctorContext} from '../types.js'

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<{ms: number; address?: string; code?: string}> {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = connect({host, port})
    const done = (out: {address?: string; code?: string}) => {
      socket.destroy()
      clearTimeout(timer)
      resolve({...out, ms: performance.now() - started})
    }
    const timer = setTimeout(() => done({code: 'ETIMEDOUT'}), timeoutMs)
    socket.once('connect', () => done({address: socket.remoteAddress}))
    socket.once('error', (e: NodeJS.ErrnoException) => done({code: e.code ?? 'error'}))
  })
}

function isLocal(host: string): boolean {
  return host === 'localhost' || platform__isLoopback(host)
}

function refusedFix(ctx: DoctorContext): string[] {
  const {host, port} = ctx.target!
  if (isLocal(host)) {
    return [`no broker listens on port ${port} here: start one with \`mqttkit broker --mqtt-port ${port}\``, 'or check the port: mosquitto and mqttkit default to 1883 (8883 for TLS)']
  }
  return [
    `check that the broker runs on ${host} and listens on port ${port}`,
    'mosquitto 2 without a `listener` line accepts only local connections: add `listener ' + port + ' 0.0.0.0` (plus `allow_anonymous true` or a password file) and restart it',
    'mqttkit broker listens on all interfaces unless --mqtt-host says otherwise: check its --mqtt-host',
  ]
}

export const tcpCheck: Check = {
  id: 'target.tcp',
  title: 'TCP connection',
  needs: ['target.dns'],
  applies: (o) => o.target !== undefined,
  async run(ctx): Promise<CheckResult> {
    const {host, port} = ctx.target!
    const base = {id: 'target.tcp', title: `TCP connection (${host.includes(':') ? `[${host}]` : host}:${port})`}
    const r = await tcpConnect(host, port, ctx.timeoutMs)
    const data = {ms: Math.round(r.ms * 10) / 10, code: r.code, address: r.address}
    if (!r.code) return {...base, status: 'ok', detail: `connected to ${r.address} in ${data.ms} ms`, data}
    switch (r.code) {
      case 'ECONNREFUSED':
        return {...base, status: 'fail', detail: `connection refused: nothing listens on ${host}:${port}`, fix: refusedFix(ctx), data}
      case 'ETIMEDOUT':
        return {
          ...base,
          status: 'fail',
          detail: `no answer within ${ctx.timeoutMs} ms: a firewall drops the packets, or the host is down`,
          fix: [...(isLocal(host) ? [] : fix__openFirewall(ctx.platform, port).map((f) => `on the broker machine: ${f}`)), 'cloud servers: allow the port in the security group / network firewall'],
          data,
        }
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return {...base, status: 'fail', detail: `no route to ${host} (${r.code})`, fix: ['check that this machine and the broker are on a connected network (VPN, Wi-Fi, cable)'], data}
      default:
        return {...base, status: 'fail', detail: `connecting failed (${r.code})`, data}
    }
  },
}
