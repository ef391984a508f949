/**
 * Exit codes and one-line explanations of every failure a client command meets. Scripts rely on the codes, so
 * this is the only table of them (documented in docs/cli.md).
 */

export const ExitCode = {
  /** Everything done (for pub: every QoS 1/2 message acknowledged). */
  ok: 0,
  /** Bad flags or input: missing topic, wildcard in a publish topic, unreadable file, bad URL, bad payload. */
  usage: 1,
  /** The network failed: connection refused, DNS, TLS, connection lost before the work was done. */
  network: 2,
  /** The broker said no: CONNACK refusal (bad credentials, not authorised…), PUBACK/SUBACK failure codes. */
  refused: 3,
  /** Nothing answered in time: connect timeout, or `sub -W` ended before `-C` messages arrived. */
  timeout: 4,
  /** `pub` stopped by Ctrl-C before everything was sent and acknowledged (128 + SIGINT). */
  interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** An error meant for the user: its message is one line, its exit code comes from `ExitCode`. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    options?: {cause?: unknown},
  ) {
    super(message, options)
    this.name = 'ClientError'
  }
}

/** CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3). */
const connackV3: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorised',
}

/** MQTT 5 reason codes a client can meet in CONNACK, PUBACK, PUBREC, SUBACK or DISCONNECT (section 2.4). */
const reasonV5: Record<number, string> = {
  0x80: 'unspecified error',
  0x81: 'malformed packet',
  0x82: 'protocol error',
  0x83: 'implementation specific error',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x8b: 'server shutting down',
  0x8c: 'bad authentication method',
  0x8d: 'keep alive timeout',
  0x8e: 'session taken over',
  0x8f: 'topic filter invalid',
  0x90: 'topic name invalid',
  0x91: 'packet identifier in use',
  0x92: 'packet identifier not found',
  0x93: 'receive maximum exceeded',
  0x94: 'topic alias invalid',
  0x95: 'packet too large',
  0x96: 'message rate too high',
  0x97: 'quota exceeded',
  0x98: 'administrative action',
  0x99: 'payload format invalid',
  0x9a: 'retain not supported',
  0x9b: 'QoS not supported',
  0x9c: 'use another server',
  0x9d: 'server moved',
  0x9e: 'shared subscriptions not supported',
  0x9f: 'connection rate exceeded',
  0xa0: 'maximum connect time',
  0xa1: 'subscription identifiers not supported',
  0xa2: 'wildcard subscriptions not supported',
}

/** "not authorized (0x87)" for a v5 reason code, "not authorised (5)" for a 3.1.1 return code. */
export function client__reasonText(code: number, protocolVersion: number): string {
  // 1-5 are no MQTT 5 failure codes: a 3.1.1-only broker answering an MQTT 5 CONNECT sends its own codes.
  if (protocolVersion === 5 && connackV3[code] === undefined) {
    const hex = `0x${code.toString(16).padStart(2, '0')}`
    return `${reasonV5[code] ?? 'unknown reason'} (${hex})`
  }
  return `${connackV3[code] ?? 'unknown return code'} (${code})`
}

/** True when a refused CONNACK means "this broker does not speak MQTT 5" (so 3.1.1 is worth a try). */
export function client__isProtocolVersionRefusal(code: number): boolean {
  return code === 1 || code === 0x84
}

/** TLS error codes from OpenSSL/Node that mean "the broker certificate could not be trusted". */
const tlsCodes = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|EPROTO)/

/** The certificate chain is fine but nothing we trust signed it. */
const untrusted = /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/

interface SystemError extends Error {
  code?: string | number
  syscall?: string
  hostname?: string
  address?: string
  port?: number
}

/**
 * Turns what mqtt.js or Node reported into a `ClientError` with one line a person can act on.
 * `where` is the broker address as the user gave it (e.g. "mqtt://localhost:1883").
 */
export function client__explainError(err: unknown, where: string, protocolVersion: number): ClientError {
  if (err instanceof ClientError) return err
  const e = err as SystemError
  const code = e?.code
  const message = String(e?.message ?? err).split('\n')[0]
  if (typeof code === 'number') {
    // mqtt.js's ErrorWithReasonCode from a refused CONNACK.
    return new ClientError(
      `${where} refused the connection: ${client__reasonText(code, protocolVersion)}`,
      ExitCode.refused,
      {cause: err},
    )
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new ClientError(`connection refused by ${where} (is a broker listening there?)`, ExitCode.network, {cause: err})
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return new ClientError(`cannot resolve host name "${e.hostname ?? where}" (${code})`, ExitCode.network, {cause: err})
    case 'ECONNRESET':
    case 'EPIPE':
      return new ClientError(`connection to ${where} was reset by the peer`, ExitCode.network, {cause: err})
    case 'ETIMEDOUT':
      return new ClientError(`timed out connecting to ${where}`, ExitCode.timeout, {cause: err})
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new ClientError(`cannot reach ${where} (${code})`, ExitCode.network, {cause: err})
    default:
      break
  }
  if (typeof code === 'string' && tlsCodes.test(code)) {
    const hint = untrusted.test(code) ? ': give the CA that signed it with --cafile' : ''
    return new ClientError(`TLS handshake with ${where} failed: ${message} (${code})${hint}`, ExitCode.network, {cause: err})
  }
  return new ClientError(`${where}: ${message}`, ExitCode.network, {cause: err})
}
