/**
 * The one table of MQTT reason codes. The broker thinks in MQTT 5 codes everywhere; `reason__toV3Connack` and
 * `reason__toV3Suback` map them to the nearest MQTT 3.1/3.1.1 return code at the moment a packet is encoded.
 */
export const ReasonCode = {
  Success: 0x00,
  GrantedQos1: 0x01,
  GrantedQos2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QosNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode]

const names = new Map<number, string>()
for (const [key, value] of Object.entries(ReasonCode)) {
  if (!names.has(value)) names.set(value, key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase())
}

/** A readable name for logs and reason strings, e.g. `0x8e session taken over`. */
export function reason__name(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')} ${names.get(code) ?? 'unknown reason'}`
}

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const V3Connack = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const

/** The nearest 3.1.1 CONNACK return code for an MQTT 5 CONNACK reason code. */
export function reason__toV3Connack(code: number): number {
  switch (code) {
    case ReasonCode.Success:
      return V3Connack.Accepted
    case ReasonCode.UnsupportedProtocolVersion:
      return V3Connack.UnacceptableProtocolVersion
    case ReasonCode.ClientIdentifierNotValid:
      return V3Connack.IdentifierRejected
    case ReasonCode.BadUserNameOrPassword:
      return V3Connack.BadUserNameOrPassword
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
    case ReasonCode.BadAuthenticationMethod:
      return V3Connack.NotAuthorized
    default:
      return V3Connack.ServerUnavailable
  }
}

/** 3.1.1 SUBACK knows only granted QoS 0..2 and failure 0x80 [MQTT-3.9.3-2]. */
export function reason__toV3Suback(code: number): number {
  return code < 0x80 ? code : 0x80
}
