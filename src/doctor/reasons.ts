// CONNACK refusals in words, with what to do about each. MQTT 3.1.1 return codes (section 3.2.2.3) and
// MQTT 5 reason codes (section 3.2.2.2) are different tables, so the protocol version picks the table.

export interface Refusal {
  name: string
  meaning: string
  fix: string[]
}

const CREDENTIALS_FIX = [
  'check the user name and password: mqttkit doctor -h HOST -u USER -P PASSWORD',
  'mosquitto: add or reset the user with `mosquitto_passwd /etc/mosquitto/passwd USER`, then reload mosquitto',
]
const NOT_AUTHORIZED_FIX = [
  'pass credentials the broker accepts (-u/-P), or a client certificate (--cert/--key)',
  'mosquitto 2 refuses anonymous clients unless the listener has `allow_anonymous true`',
  'mqttkit broker: check its users and ACL configuration',
]

const V3: Record<number, Refusal> = {
  1: {name: 'unacceptable protocol version', meaning: 'the broker does not speak this MQTT version', fix: ['retry with -V 3.1.1 (or -V 3.1 for very old brokers)']},
  2: {name: 'identifier rejected', meaning: 'the broker refused the client id (too long, bad characters, or an empty id with a persistent session)', fix: ['use a short ASCII client id: -i my-client-1']},
  3: {name: 'server unavailable', meaning: 'the network connection works but the MQTT service is not available', fix: ['check the broker log; restart the broker']},
  4: {name: 'bad user name or password', meaning: 'the broker rejected the credentials', fix: CREDENTIALS_FIX},
  5: {name: 'not authorized', meaning: 'the broker refused this client (anonymous access disabled, wrong credentials, or no permission)', fix: NOT_AUTHORIZED_FIX},
}

const V5: Record<number, Refusal> = {
  0x80: {name: 'unspecified error', meaning: 'the broker refused without saying why', fix: ['check the broker log']},
  0x81: {name: 'malformed packet', meaning: 'the broker could not parse the CONNECT packet', fix: ['retry with -V 3.1.1; report the broker/client versions']},
  0x82: {name: 'protocol error', meaning: 'the CONNECT broke a protocol rule for this broker', fix: ['retry with -V 3.1.1']},
  0x83: {name: 'implementation specific error', meaning: 'a broker plugin or hook refused the connection', fix: ['check the broker log and its auth plugins']},
  0x84: {name: 'unsupported protocol version', meaning: 'the broker does not speak MQTT 5', fix: ['connect with -V 3.1.1']},
  0x85: {name: 'client identifier not valid', meaning: 'the broker refused the client id', fix: ['use a short ASCII client id: -i my-client-1']},
  0x86: {name: 'bad user name or password', meaning: 'the broker rejected the credentials', fix: CREDENTIALS_FIX},
  0x87: {name: 'not authorized', meaning: 'the broker refused this client (anonymous access disabled, wrong credentials, or no permission)', fix: NOT_AUTHORIZED_FIX},
  0x88: {name: 'server unavailable', meaning: 'the MQTT service is not available', fix: ['check the broker log; restart the broker']},
  0x89: {name: 'server busy', meaning: 'the broker is overloaded', fix: ['retry later; check the broker\'s connection limits']},
  0x8a: {name: 'banned', meaning: 'this client is banned by the broker', fix: ['ask the broker\'s administrator']},
  0x8c: {name: 'bad authentication method', meaning: 'the broker does not support the requested enhanced authentication', fix: ['connect without an authentication method, or with one the broker supports']},
  0x90: {name: 'topic name invalid', meaning: 'the will topic is not valid for this broker', fix: ['check the --will-topic value']},
  0x95: {name: 'packet too large', meaning: 'the CONNECT (often its will message) is larger than the broker allows', fix: ['use a smaller will payload']},
  0x97: {name: 'quota exceeded', meaning: 'a broker quota (connections per user, rate) is used up', fix: ['close other connections of this user; check broker limits']},
  0x99: {name: 'payload format invalid', meaning: 'the will payload does not match its format indicator', fix: ['send UTF-8 text or clear the payload format indicator']},
  0x9a: {name: 'retain not supported', meaning: 'the broker does not support retained messages (here: a retained will)', fix: ['connect without --will-retain']},
  0x9b: {name: 'QoS not supported', meaning: 'the will QoS is higher than the broker allows', fix: ['use a lower --will-qos']},
  0x9c: {name: 'use another server', meaning: 'the broker redirects clients to another server', fix: ['connect to the server named in the CONNACK Server Reference property']},
  0x9d: {name: 'server moved', meaning: 'the broker has moved permanently', fix: ['connect to the server named in the CONNACK Server Reference property']},
  0x9f: {name: 'connection rate exceeded', meaning: 'too many connection attempts in a short time', fix: ['wait a little and retry; slow down reconnect loops']},
}

export function reason__connack(code: number, protocolVersion: number): Refusal {
  const table = protocolVersion === 5 ? V5 : V3
  return (
    table[code] ?? {
      name: `code ${code}`,
      meaning: 'the broker refused the connection with a code outside the MQTT specification',
      fix: ['check the broker log'],
    }
  )
}

/** Whether a refusal is about who the client is (credentials or permission), not about the network. */
export function reason__isAuth(code: number, protocolVersion: number): boolean {
  return protocolVersion === 5 ? code === 0x86 || code === 0x87 || code === 0x8c : code === 4 || code === 5
}

/** SUBACK failure codes (MQTT 5 section 3.9.3) in words. */
export function reason__suback(code: number): string {
  const names: Record<number, string> = {
    0x80: 'unspecified error (3.1.1: failure)',
    0x83: 'implementation specific error',
    0x87: 'not authorized',
    0x8f: 'topic filter invalid',
    0x91: 'packet identifier in use',
    0x97: 'quota exceeded',
    0x9e: 'shared subscriptions not supported',
    0xa1: 'subscription identifiers not supported',
    0xa2: 'wildcard subscriptions not supported',
  }
  return names[code] ?? `code 0x${code.toString(16)}`
}
