// Step 1 against the broker: does its host name resolve, and to what?
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'

import type {Check} from '../types.js'

export const dnsCheck: Check = {
  id: 'target.dns',
  title: 'DNS',
  applies: (o) => o.target !== undefined,
  async run(ctx) {
    const host = ctx.target!.host
    const base = {id: 'target.dns', title: `DNS (${host})`}
    if (isIP(host)) return {...base, status: 'ok', detail: `${host} is an IP address: nothing to resolve`, data: {addresses: [host]}}
    try {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(Object.assign(new Error('DNS timed out'), {code: 'ETIMEOUT'})), ctx.timeoutMs).unref(),
      )
      const found = await Promise.race([lookup(host, {all: true}), timeout])
      const addresses = found.map((a) => a.address)
      return {...base, status: 'ok', detail: `${host} → ${addresses.join(', ')}`, data: {addresses}}
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error'
      const notFound = code === 'ENOTFOUND' || code === 'EAI_NONAME'
      return {
        ...base,
        status: 'fail',
        detail: notFound ? `"${host}" does not exist in DNS (${code})` : `resolving "${host}" failed (${code}): the DNS server did not answer`,
        fix: notFound
          ? ['check the spelling of the host name (-h / --url)', 'for a machine on your LAN use its IP address, or add it to /etc/hosts (Windows: C:\\Windows\\System32\\drivers\\etc\\hosts)']
          : ['check the network connection and DNS servers (resolv.conf / network settings), then retry'],
        data: {code},
      }
    }
  },
}
