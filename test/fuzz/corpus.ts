/**
 * The seed corpus of the fuzz test: valid packets of every type, encoded by mqtt-packet, for MQTT 3.1.1 (4) and
 * 5.0 (5), including server-to-client types a broker must refuse from a client. Mutations start from these.
 * Topics sit under a prefix per driver worker, retained ones under `<prefix>-ret/` where subscriptions do not
 * reach, and few sessions persist, so the run spends its time on parsing and state checks rather than on
 * delivering every worker's messages and an ever-growing retained set to every other connection.
 */
import mqttPacket, {type Packet} from 'mqtt-packet'

export type FuzzVersion = 3 | 4 | 5

export interface CorpusPacket {
  cmd: Packet['cmd']
  bytes: Buffer
}

const userProperties = {k: 'v', list: ['a', 'b']}

/** A valid CONNECT opening a fuzz connection (client id unique per connection). */
export function corpus__connect(version: FuzzVersion, clientId: string, variant: number, prefix = 'fuzz'): Buffer {
  const packet: Packet = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clientId,
    clean: variant % 8 !== 0,
    keepalive: [0, 1, 60, 65_535][variant % 4]!,
  }
  // One connection in six has a will (QoS 0, 1 or 2), one in ten logs in: both cost the broker extra work when the
  // connection ends or starts, which every closing case pays again.
  if (variant % 6 === 0) {
    packet.will = {topic: `${prefix}/will`, payload: Buffer.from('gone'), qos: (Math.floor(variant / 6) % 3) as 0 | 1 | 2, retain: variant % 12 === 0}
  }
  if (variant % 10 === 0) {
    packet.username = 'fuzz'
    packet.password = Buffer.from('pw')
  }
  if (version === 5) {
    packet.properties = {sessionExpiryInterval: variant % 8 ? 0 : 30, receiveMaximum: 10, topicAliasMaximum: 5, requestProblemInformation: true}
    if (packet.will) packet.will.properties = {willDelayInterval: 0, messageExpiryInterval: 10, contentType: 'text/plain'}
  }
  return mqttPacket.generate(packet, {protocolVersion: version})
}

function v5Packets(p: string): Packet[] {
  const ack = {reasonCode: 0x10, properties: {reasonString: 'why', userProperties}}
  return [
    {cmd: 'publish', topic: `${p}/a`, payload: Buffer.from('hello'), qos: 0, dup: false, retain: false},
    {
      cmd: 'publish',
      topic: `${p}-ret/b/c`,
      payload: Buffer.from([0, 1, 2, 255]),
      qos: 1,
      messageId: 7,
      dup: false,
      retain: true,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        responseTopic: `${p}/reply`,
        correlationData: Buffer.from('cd'),
        userProperties,
        contentType: 'application/octet-stream',
      },
    },
    {cmd: 'publish', topic: `${p}/alias`, payload: Buffer.from('x'), qos: 2, messageId: 9, dup: true, retain: false, properties: {topicAlias: 1}},
    {cmd: 'publish', topic: '', payload: Buffer.from('via alias'), qos: 1, messageId: 10, dup: false, retain: false, properties: {topicAlias: 1}},
    {cmd: 'publish', topic: `${p}-ret/empty`, payload: Buffer.alloc(0), qos: 0, dup: false, retain: true},
    {cmd: 'puback', messageId: 1, ...ack},
    {cmd: 'pubrec', messageId: 2, ...ack},
    {cmd: 'pubrel', messageId: 9, reasonCode: 0, properties: {reasonString: 'r'}},
    {cmd: 'pubcomp', messageId: 3, ...ack},
    {
      cmd: 'subscribe',
      messageId: 11,
      subscriptions: [
        {topic: `${p}/#`, qos: 2, nl: true, rap: true, rh: 1},
        {topic: `$share/g/${p}/+`, qos: 1, nl: false, rap: false, rh: 0},
        {topic: '+/+/x', qos: 0, rh: 2},
      ],
      properties: {subscriptionIdentifier: 42, userProperties},
    },
    {cmd: 'subscribe', messageId: 12, subscriptions: [{topic: `${p}/one`, qos: 1}]},
    {cmd: 'unsubscribe', messageId: 13, unsubscriptions: [`${p}/#`, 'nothing'], properties: {userProperties}},
    {cmd: 'pingreq'},
    {cmd: 'disconnect', reasonCode: 0x04, properties: {sessionExpiryInterval: 0, reasonString: 'bye', userProperties}},
    {cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('data'), reasonString: 'r'}},
    // Packets only a server may send: a broker must treat them as protocol errors.
    {cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: {assignedClientIdentifier: 'x', serverKeepAlive: 5}},
    {cmd: 'suback', messageId: 11, granted: [0, 1, 0x80], properties: {reasonString: 'r'}},
    {cmd: 'unsuback', messageId: 13, granted: [0, 0x11]},
    {cmd: 'pingresp'},
  ]
}

function v4Packets(p: string): Packet[] {
  return [
    {cmd: 'publish', topic: `${p}/a`, payload: Buffer.from('hello'), qos: 0, dup: false, retain: false},
    {cmd: 'publish', topic: `${p}-ret/b/c`, payload: Buffer.from([0, 255]), qos: 1, messageId: 7, dup: false, retain: true},
    {cmd: 'publish', topic: `${p}/q2`, payload: Buffer.from('x'), qos: 2, messageId: 9, dup: true, retain: false},
    {cmd: 'publish', topic: `${p}-ret/empty`, payload: Buffer.alloc(0), qos: 1, messageId: 8, dup: false, retain: true},
    {cmd: 'puback', messageId: 1},
    {cmd: 'pubrec', messageId: 2},
    {cmd: 'pubrel', messageId: 9},
    {cmd: 'pubcomp', messageId: 3},
    {cmd: 'subscribe', messageId: 11, subscriptions: [{topic: `${p}/#`, qos: 2}, {topic: '+/x', qos: 0}]},
    {cmd: 'subscribe', messageId: 12, subscriptions: [{topic: `$share/g/${p}/#`, qos: 1}]},
    {cmd: 'unsubscribe', messageId: 13, unsubscriptions: [`${p}/#`]},
    {cmd: 'pingreq'},
    {cmd: 'disconnect'},
    {cmd: 'connack', sessionPresent: false, returnCode: 0},
    {cmd: 'suback', messageId: 11, granted: [0, 128]},
    {cmd: 'unsuback', messageId: 13, granted: []},
    {cmd: 'pingresp'},
  ]
}

/** Every seed packet of one protocol version (3 uses the 3.1.1 set: the packets after CONNECT are the same). */
export function corpus__packets(version: FuzzVersion, prefix = 'fuzz'): CorpusPacket[] {
  const packets = version === 5 ? v5Packets(prefix) : v4Packets(prefix)
  const encoded = packets.map((packet) => ({cmd: packet.cmd, bytes: mqttPacket.generate(packet, {protocolVersion: version})}))
  // A CONNECT after CONNECT is a protocol error worth sending too [MQTT-3.1.0-2].
  encoded.push({cmd: 'connect', bytes: corpus__connect(version, 'second-connect', 1, prefix)})
  // Packets that end a connection even when valid (server-only types, CONNECT, DISCONNECT) are picked a third as
  // often as the others: each costs a new connection, and time is better spent deeper in the session.
  return encoded.flatMap((packet) => (ENDS_CONNECTION.has(packet.cmd) ? [packet] : [packet, packet, packet]))
}

const ENDS_CONNECTION = new Set<Packet['cmd']>(['connect', 'disconnect', 'connack', 'suback', 'unsuback', 'pingresp'])
