import {describe, expect, it} from 'vitest'
import {transport__reloadAll} from '../../src/broker/transport/reload.js'
import type {RunningListener} from '../../src/broker/transport/types.js'

const listener = (type: 'tcp' | 'tls', port: number, reload?: () => Promise<void>): RunningListener => ({
  spec: type === 'tcp' ? {type, port} : {type, port, cert: 'c', key: 'k'},
  address: {host: '0.0.0.0', port},
  close: async () => {},
  ...(reload === undefined ? {} : {reload}),
})

describe('transport__reloadAll', () => {
  it('reloads every listener that can, and one failure neither stops the others nor throws', async () => {
    const lines: string[] = []
    const log = {info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`)}
    let reloads = 0
    const result = await transport__reloadAll(
      [
        listener('tcp', 1883),
        listener('tls', 8883, async () => {
          throw new Error('cannot read the TLS private key (--key) /x: ENOENT')
        }),
        listener('tls', 8884, async () => {
          reloads++
        }),
      ],
      log,
    )
    expect(result).toEqual({reloaded: 1, failed: 1})
    expect(reloads).toBe(1)
    expect(lines).toEqual([
      'warn certificate reload failed for mqtts://0.0.0.0:8883, keeping the current one: cannot read the TLS private key (--key) /x: ENOENT',
      'info certificate reloaded for mqtts://0.0.0.0:8884',
    ])
  })
})
