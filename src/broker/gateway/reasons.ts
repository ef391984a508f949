/** Readable names for the MQTT 5 reason codes a JSON client can meet (refusals from CONNACK, SUBACK, PUBACK…). */
const NAMES: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8b: 'server shutting down',
  0x8d: 'keep alive timeout',
  0x8e: 'session taken over',
  0x8f: 'topic filter invalid',
  0x90: 'topic name invalid',
  0x93: 'receive maximum exceeded',
  0x95: 'packet too large',
  0x96: 'message rate too high',
  0x97: 'quota exceeded',
  0x98: 'administrative action',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9e: 'shared subscriptions not supported',
  0x9f: 'connection rate exceeded',
  0xa1: 'subscription identifiers not supported',
  0xa2: 'wildcard subscriptions not supported',
}

export function reasons__describe(code: number, reasonString?: string): string {
  const name = NAMES[code] ?? 'refused'
  const hex = `0x${code.toString(16).padStart(2, '0')}`
  // Brokers often repeat the code's name as the reason string: say it once.
  const extra = reasonString === undefined || reasonString === '' || reasonString.toLowerCase() === name ? '' : `: ${reasonString}`
  return `${name} (${hex})${extra}`
}
