/**
 * GET /metrics in Prometheus text format, with prom-client (the maintained Prometheus client for Node, which also
 * gives the process and Node.js metrics: CPU, memory, event loop lag, GC). The broker's values are read from
 * `broker.stats` when scraped, not counted twice. One registry per admin server, so two brokers in a process do
 * not mix their numbers.
 */
import {Counter, Gauge, Registry, collectDefaultMetrics} from 'prom-client'
import type {Broker} from '../broker/broker.js'
import type {BrokerStatsView} from '../broker/broker.js'

type Pick = (s: BrokerStatsView) => number

const GAUGES: Array<[string, string, Pick]> = [
  ['mqttkit_connections', 'connected clients', (s) => s.clientsConnected],
  ['mqttkit_connections_maximum', 'most clients connected at once since start', (s) => s.clientsMaximum],
  ['mqttkit_sessions', 'sessions held (connected and persistent offline ones)', (s) => s.sessions],
  ['mqttkit_subscriptions', 'subscriptions of all sessions', (s) => s.subscriptions],
  ['mqttkit_retained_messages', 'retained messages', (s) => s.retained],
  ['mqttkit_queued_messages', 'messages queued for sessions', (s) => s.queued],
  ['mqttkit_inflight_messages', 'QoS 1/2 messages sent and not yet acknowledged', (s) => s.inflight],
  ['mqttkit_uptime_seconds', 'seconds since the broker started', (s) => Math.round((Date.now() - s.startedAt) / 1000)],
]

const COUNTERS: Array<[string, string, Pick]> = [
  ['mqttkit_connections_total', 'connections that completed CONNECT since start', (s) => s.clientsTotal],
  ['mqttkit_messages_received_total', 'PUBLISH packets received from clients', (s) => s.publishReceived],
  ['mqttkit_messages_sent_total', 'PUBLISH packets sent to clients', (s) => s.publishSent],
  ['mqttkit_packets_received_total', 'MQTT packets received', (s) => s.messagesReceived],
  ['mqttkit_packets_sent_total', 'MQTT packets sent', (s) => s.messagesSent],
  ['mqttkit_bytes_received_total', 'bytes received from clients', (s) => s.bytesReceived],
  ['mqttkit_bytes_sent_total', 'bytes sent to clients', (s) => s.bytesSent],
  ['mqttkit_messages_dropped_total', 'messages dropped (queue full, slow reader)', (s) => s.messagesDropped],
  ['mqttkit_messages_expired_total', 'messages expired before delivery (MQTT 5 message expiry)', (s) => s.messagesExpired],
]

export function metrics__registry(broker: Broker): Registry {
  const register = new Registry()
  collectDefaultMetrics({register})
  // One stats snapshot per scrape, shared by every metric's collect().
  let snapshot: {at: number; stats: BrokerStatsView} | undefined
  const stats = () => {
    const now = Date.now()
    if (snapshot === undefined || now - snapshot.at > 100) snapshot = {at: now, stats: broker.stats}
    return snapshot.stats
  }
  for (const [name, help, pick] of GAUGES) {
    new Gauge({name, help, registers: [register], collect() {
      this.set(pick(stats()))
    }})
  }
  for (const [name, help, pick] of COUNTERS) {
    new Counter({name, help, registers: [register], collect() {
      this.reset()
      this.inc(pick(stats()))
    }})
  }
  return register
}
