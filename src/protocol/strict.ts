/**
 * Checks mqtt-packet's parser leaves out, added to its prototype so every parser (the broker's, bench's, the
 * mqtt.js clients' in the same process) refuses these packets as malformed. A parse error closes the connection:
 * MQTT 5 DISCONNECT 0x81 once connected, a plain close for 3.1.1 and for any CONNECT (no CONNACK [MQTT-3.1.4-1]).
 *
 * - UTF-8 strings (client id, user name, will topic, topic names and filters, string properties) must be well
 *   formed and free of U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2] (5.0: [MQTT-1.5.4-1] [MQTT-1.5.4-2]); mqtt-packet
 *   decodes them with replacement characters and keeps U+0000.
 * - CONNECT: no bytes after the last field its flags announce (a user name with User Name Flag 0 is such bytes,
 *   [MQTT-3.1.2-18]); 3.1/3.1.1: no password without a user name [MQTT-3.1.2-22].
 * - MQTT 5 properties: only those the packet type allows [MQTT-2.2.2-2]; the property length must be there
 *   (CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE) and must not run past the packet; one-byte 0/1 properties (Payload
 *   Format Indicator, Request Problem Information, ...) with any other value are malformed (mqtt-packet reads any
 *   non-zero byte as 1, so Payload Format Indicator 2 was forwarded as 1).
 *
 * The checks allocate nothing on the usual path: a string is scanned with indexOf for U+0000 and U+FFFD, and only
 * one containing U+FFFD (a replacement, or a real U+FFFD) has its bytes decoded again with a fatal decoder.
 */
import mqttPacket from 'mqtt-packet'

interface StrictParser {
  _pos: number
  _list: {length: number; slice(start: number, end: number): Buffer}
  packet: {cmd: string | null; length: number; protocolVersion?: number; clientId?: string; username?: string; password?: Buffer}
  error: Error | null
  _parseString(): string | null
  _parseByType(type: string): unknown
  _parseByte(): number | undefined
  _parseProperties(): Record<string, unknown> | false
  _parseConnect(): unknown
  _emitError(error: Error): void
}

const FATAL = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

function wellFormed(bytes: Buffer): boolean {
  try {
    FATAL.decode(bytes)
    return true
  } catch {
    return false
  }
}

const CONNECT = ['sessionExpiryInterval', 'receiveMaximum', 'maximumPacketSize', 'topicAliasMaximum', 'requestResponseInformation', 'requestProblemInformation', 'userProperties', 'authenticationMethod', 'authenticationData']
const WILL = ['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties']
const PUBLISH = ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType']
const ACK = ['reasonString', 'userProperties']

/**
 * The properties each packet type may carry (MQTT 5 §3.x.2.2 of each packet). CONNACK, SUBACK and UNSUBACK, which
 * only a server sends, are left to the clients.
 */
const ALLOWED: Record<string, ReadonlySet<string>> = {
  connect: new Set(CONNECT),
  will: new Set(WILL),
  publish: new Set(PUBLISH),
  puback: new Set(ACK),
  pubrec: new Set(ACK),
  pubrel: new Set(ACK),
  pubcomp: new Set(ACK),
  subscribe: new Set(['subscriptionIdentifier', 'userProperties']),
  unsubscribe: new Set(['userProperties']),
  disconnect: new Set(['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference']),
  auth: new Set(['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties']),
}

/** Packets whose property length is not optional (acks, DISCONNECT and AUTH may end before it). */
const LENGTH_REQUIRED = new Set(['connect', 'publish', 'subscribe', 'unsubscribe'])

const proto = Object.getPrototypeOf(mqttPacket.parser()) as StrictParser
const parseString = proto._parseString
const parseByType = proto._parseByType
const parseProperties = proto._parseProperties
const parseConnect = proto._parseConnect

proto._parseString = function (this: StrictParser) {
  const start = this._pos + 2
  const result = parseString.call(this)
  if (result === null) return null
  if (result.indexOf('\u0000') !== -1) {
    this._emitError(new Error('Malformed UTF-8 string: contains U+0000 [MQTT-1.5.4-2]'))
    return null
  }
  if (result.indexOf('\uFFFD') !== -1 && !wellFormed(this._list.slice(start, this._pos))) {
    this._emitError(new Error('Malformed UTF-8 string: ill-formed UTF-8 [MQTT-1.5.4-1]'))
    return null
  }
  return result
}

proto._parseByType = function (this: StrictParser, type: string) {
  if (type !== 'byte') return parseByType.call(this, type)
  const value = this._parseByte()
  if (value === 0 || value === 1) return value === 1
  // Truncated (undefined) is reported by the properties check in codec.ts; any other value is malformed here.
  if (value !== undefined) this._emitError(new Error(`Malformed property: a 0/1 property with the value ${value}`))
  return null
}

proto._parseProperties = function (this: StrictParser) {
  const packet = this.packet
  const cmd = packet.cmd ?? ''
  if (this._pos >= packet.length && LENGTH_REQUIRED.has(cmd)) {
    this._emitError(new Error(`Malformed ${cmd.toUpperCase()}: no property length [MQTT-2.2.2-1]`))
    return false
  }
  const result = parseProperties.call(this)
  if (result === false || this.error !== null) return result
  if (this._pos > packet.length) {
    this._emitError(new Error('Malformed properties: they run past the end of the packet'))
    return false
  }
  // The CONNECT's own properties come before the client id, the will's after it.
  const allowed = ALLOWED[cmd === 'connect' && packet.clientId !== undefined ? 'will' : cmd]
  if (allowed !== undefined) {
    for (const name in result) {
      if (!allowed.has(name)) {
        this._emitError(new Error(`Malformed ${cmd.toUpperCase()}: property ${name} is not allowed in it [MQTT-2.2.2-2]`))
        return false
      }
    }
  }
  return result
}

proto._parseConnect = function (this: StrictParser) {
  const result = parseConnect.call(this)
  if (!result || this.error !== null) return result
  const packet = this.packet
  if (this._pos !== packet.length) {
    // Bytes past the last field the flags announce: e.g. a user name sent with User Name Flag 0 [MQTT-3.1.2-18].
    this._emitError(new Error(`Malformed CONNECT: ${packet.length - this._pos} bytes after the fields its flags announce [MQTT-3.1.2-18]`))
    return undefined
  }
  if (packet.protocolVersion !== 5 && packet.password !== undefined && packet.username === undefined) {
    this._emitError(new Error('Malformed CONNECT: Password Flag 1 with User Name Flag 0 [MQTT-3.1.2-22]'))
    return undefined
  }
  return result
}
