// Browsers cannot open raw TCP sockets: a web page must use MQTT over WebSocket (ws://host:8083/mqtt), never
// port 1883. This check says which WebSocket endpoint a browser can use here, or that there is none.
import type {Check, CheckResult} from '../types.js'
import type {ProbeResult} from '../probe.js'

const WS_PORTS = [8083, 8000, 8084]

export const websocketCheck: Check = {
  id: 'websocket',
  title: 'browser access (MQTT over WebSocket)',
  after: ['ports'],
  // Without the machine checks there are no port findings to read: only a WebSocket URL on an MQTT port is judged.
  applies: (o) => o.local || ((o.target?.protocol === 'ws' || o.target?.protocol === 'wss') && (o.target.port === 1883 || o.target.port === 8883)),
  async run(ctx) {
    const base = {id: 'websocket', title: 'browser access (MQTT over WebSocket)'}
    const t = ctx.target
    if (t && (t.protocol === 'ws' || t.protocol === 'wss') && (t.port === 1883 || t.port === 8883)) {
      return {
        ...base,
        status: 'fail',
        detail: `${t.display} is a WebSocket URL on port ${t.port}, which brokers use for raw MQTT over TCP${t.port === 8883 ? '/TLS' : ''}: a browser's WebSocket handshake gets no answer there`,
        fix: [
          `use the broker's WebSocket port: ${t.protocol}://${t.host}:${t.protocol === 'ws' ? 8083 : 8084}/mqtt (mqttkit broker serves WebSocket on 8083 by default)`,
          'mosquitto: add `listener 8083` and `protocol websockets` to its configuration',
        ],
      }
    }
    const ports: CheckResult[] = ctx.result('ports') ?? []
    const open = ports.filter((r) => {
      const port = (r.data?.port as number | undefined) ?? 0
      const probe = r.data?.probe as ProbeResult | undefined
      return (WS_PORTS.includes(port) || probe?.scheme === 'ws' || probe?.scheme === 'wss') && probe?.mqtt === true
    })
    if (open.length > 0) {
      const urls = open.map((r) => `${(r.data?.probe as ProbeResult).scheme === 'wss' ? 'wss' : 'ws'}://localhost:${r.data?.port}/mqtt`)
      return {...base, status: 'ok', detail: `browsers can connect to ${urls.join(', ')} (never to 1883: browsers only speak WebSocket)`, data: {urls}}
    }
    if (!WS_PORTS.some((p) => ctx.ports.includes(p))) {
      return {...base, status: 'skip', detail: 'the WebSocket ports (8083, 8084, 8000) were not inspected'}
    }
    return {
      ...base,
      status: 'ok',
      detail:
        'no MQTT-over-WebSocket listener found on 8083/8084/8000; that only matters for web pages, which cannot use port 1883. ' +
        '`mqttkit broker` serves ws://localhost:8083/mqtt by default (--ws-port to move it)',
    }
  },
}
