/** Protocol levels as carried in CONNECT: 3 = MQTT 3.1 (`MQIsdp`), 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 3 | 4 | 5

export const PROTOCOL_NAMES: Record<ProtocolVersion, string> = {3: 'MQIsdp', 4: 'MQTT', 5: 'MQTT'}

export function protocol__label(version: ProtocolVersion): string {
  return version === 5 ? 'MQTT 5.0' : version === 4 ? 'MQTT 3.1.1' : 'MQTT 3.1'
}

/** The protocol's largest packet: 1 byte of fixed header, 4 of remaining length, 268 435 455 of body. */
export const PROTOCOL_MAX_PACKET_SIZE = 268_435_460
