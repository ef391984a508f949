/**
 * [MQTT-3.1.2-24] the server must not send a packet larger than the client's Maximum Packet Size. For packets
 * other than PUBLISH (whose deliveries are dropped for that subscriber instead, session/delivery.ts) mqttkit first
 * leaves out what the specification lets it leave out — the Reason String and User Properties
 * [MQTT-3.2.2-19] [MQTT-3.2.2-20] — then the properties whose absence means the same (the three "available: true"
 * of CONNACK). A packet that still does not fit is not sent: the caller closes the connection.
 */
import type {Packet} from 'mqtt-packet'
import {protocol__encode} from './codec.js'
import type {ProtocolVersion} from './versions.js'

const SAME_WHEN_ABSENT = ['wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable'] as const

/** The packet encoded within `max` bytes (0: no limit), dropping optional properties as needed; null: it cannot fit. */
export function protocol__encodeWithin(packet: Packet, version: ProtocolVersion, max: number): Buffer | null {
  const encoded = protocol__encode(packet, version)
  if (max <= 0 || encoded.length <= max) return encoded
  const properties = (packet as {properties?: Record<string, unknown>}).properties
  if (version !== 5 || properties === undefined) return null
  const {reasonString: _reason, userProperties: _user, ...rest} = properties
  const lean = protocol__encode({...packet, properties: rest} as Packet, version)
  if (lean.length <= max) return lean
  for (const name of SAME_WHEN_ABSENT) if (rest[name] === true) delete rest[name]
  const leaner = protocol__encode({...packet, properties: rest} as Packet, version)
  return leaner.length <= max ? leaner : null
}
