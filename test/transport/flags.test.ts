import net from 'node:net'
import {describe, expect, it} from 'vitest'
import {
  transport__describe,
  transport__listenersFromFlags,
  transport__portFlag,
  transport__specsFromFlags,
  type TransportFlagValues,
  WS_DEFAULT_PORT,
} from '../../src/broker/transport/flags.js'

const specs = (flags: TransportFlagValues) => transport__specsFromFlags(flags, {host: '0.0.0.0'})

describe('broker transport flags', () => {
  it('opens the WebSocket listener on 8083 at /mqtt by default, and none with --no-ws', () => {
    expect(specs({})).toEqual([{type: 'ws', host: '0.0.0.0', port: 8083, path: '/mqtt'}])
    expect(specs({ws: false})).toEqual([])
    expect(specs({'ws-port': 0, 'ws-host': '127.0.0.1', 'ws-path': 'ws'})).toEqual([{type: 'ws', host: '127.0.0.1', port: 0, path: '/ws'}])
  })

  it('opens TLS on 8883 when only --cert/--key are given, and WSS only on request', () => {
    const tls = {cert: 'c.pem', key: 'k.pem'}
    expect(specs({ws: false, ...tls})).toEqual([
      {type: 'tls', host: '0.0.0.0', port: 8883, cert: 'c.pem', key: 'k.pem', requireCertificate: false, useCertificateCnAsUsername: false},
    ])
    expect(specs({ws: false, ...tls, 'wss-port': 8084}).map((s) => `${s.type}:${s.port}`)).toEqual(['wss:8084'])
    expect(specs({ws: false, ...tls, 'wss-port': 8084, 'tls-port': 8883, 'tls-host': '::1'}).map((s) => `${s.type}:${s.host}:${s.port}`)).toEqual([
      'tls:::1:8883',
      'wss:0.0.0.0:8084',
    ])
  })

  it('explains flags that do not fit together', () => {
    expect(() => specs({'tls-port': 8883})).toThrow('need both --cert and --key')
    expect(() => specs({key: 'k.pem'})).toThrow('--key needs --cert')
    expect(() => specs({cert: 'c', key: 'k', 'require-certificate': true})).toThrow('--require-certificate needs --ca')
    expect(() => specs({cert: 'c', key: 'k', 'cert-cn-as-username': true})).toThrow('needs --require-certificate')
    expect(() => specs({ca: 'ca.pem'})).toThrow('--ca needs --cert')
  })

  it('leaves the WebSocket listener out when its default port is taken, but not when the port was asked for', async () => {
    // Hold the default port (or find it already held by something else: the rule is the same).
    const holder = net.createServer()
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve())
      holder.listen(WS_DEFAULT_PORT, '127.0.0.1', resolve)
    })
    try {
      const implicit = await transport__listenersFromFlags({}, {host: '127.0.0.1'})
      expect(implicit.specs).toEqual([])
      expect(implicit.notes).toEqual([`port ${WS_DEFAULT_PORT} is in use: MQTT over WebSocket is off (choose a port with --ws-port, or --no-ws)`])
      const explicit = await transport__listenersFromFlags({'ws-port': WS_DEFAULT_PORT}, {host: '127.0.0.1'})
      expect(explicit).toEqual({specs: [{type: 'ws', host: '127.0.0.1', port: WS_DEFAULT_PORT, path: '/mqtt'}], notes: []})
    } finally {
      holder.close()
    }
  })

  it('names the flag of a port that failed to bind', () => {
    const all = [...specs({'ws-port': 9001, cert: 'c', key: 'k', 'wss-port': 9002}), {type: 'tcp' as const, port: 1883}]
    expect(transport__portFlag(all, 9001)).toBe('--ws-port')
    expect(transport__portFlag(all, 9002)).toBe('--wss-port')
    expect(transport__portFlag(all, 1883)).toBe('--mqtt-port')
  })

  it('describes each listener for the banner', () => {
    const address = {host: '0.0.0.0', port: 8083}
    expect(transport__describe({spec: {type: 'ws', port: 8083}, address})).toBe('ws://0.0.0.0:8083/mqtt (JSON gateway)')
    expect(
      transport__describe({
        spec: {type: 'tls', port: 8883, cert: 'c', key: 'k', ca: 'a', requireCertificate: true, useCertificateCnAsUsername: true},
        address: {host: '::', port: 8883},
      }),
    ).toBe('mqtts://[::]:8883 (client certificate required, CN is the username)')
    expect(transport__describe({spec: {type: 'tcp', port: 1883}, address: {host: '127.0.0.1', port: 1883}})).toBe('mqtt://127.0.0.1:1883')
  })
})
