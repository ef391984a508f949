/**
 * Certificate handling shared by the TLS and WSS listeners: reading the PEM files named in a listener spec,
 * and turning a verified peer certificate into connection metadata.
 */
import {readFile} from 'node:fs/promises'
import type {SecureContextOptions, TLSSocket} from 'node:tls'
import type {ConnectionMeta, TlsOptions} from './types.js'

/** Reads the files again on every call, so that a reload picks up renewed certificates. */
export async function certs__read(options: TlsOptions): Promise<SecureContextOptions> {
  const [cert, key, ca] = await Promise.all([
    certs__readOne(options.cert, 'certificate (--cert)'),
    certs__readOne(options.key, 'private key (--key)'),
    options.ca === undefined ? undefined : certs__readOne(options.ca, 'CA certificate (--ca)'),
  ])
  return ca === undefined ? {cert, key} : {cert, key, ca}
}

async function certs__readOne(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new Error(`cannot read the TLS ${what} ${path}: ${code}`)
  }
}

/** Server options that make the handshake ask for, and insist on, a client certificate when required. */
export function certs__serverOptions(options: TlsOptions, context: SecureContextOptions) {
  const mutual = options.requireCertificate === true
  if (mutual && context.ca === undefined) {
    throw new Error('requiring a client certificate needs the CA that signs them (--ca)')
  }
  // Without mutual TLS no certificate is requested at all: browsers would otherwise prompt the user for one.
  return {...context, requestCert: mutual, rejectUnauthorized: mutual}
}

/**
 * What the broker may learn from the peer's certificate: empty unless one was required and verified. Null when
 * the CN is to be the username but the certificate has no single CN: such a client must not pick a username
 * itself, so the listener drops the connection.
 */
export function certs__peerMeta(
  socket: TLSSocket,
  options: TlsOptions,
): Pick<ConnectionMeta, 'certificate' | 'certificateUsername'> | null {
  if (options.requireCertificate !== true || !socket.authorized) return {}
  const certificate = socket.getPeerCertificate()
  if (certificate === null || Object.keys(certificate).length === 0) return {}
  if (options.useCertificateCnAsUsername !== true) return {certificate}
  // Node gives an array when the subject carries several CN attributes: which one is meant is ambiguous.
  const cn: unknown = certificate.subject?.CN
  return typeof cn === 'string' && cn.length > 0 ? {certificate, certificateUsername: cn} : null
}
