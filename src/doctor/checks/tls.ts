// Step 3 (mqtts://, wss://): the TLS handshake and the broker certificate, checked the way the client will
// check it, but reported piece by piece (expiry, host name, chain, self-signed) with the real cause from OpenSSL.
import {X509Certificate} from 'node:crypto'
import {connect, checkServerIdentity, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket} from 'node:tls'

import {probe__port} from '../probe.js'
import type {Check, CheckResult} from '../types.js'

const SOON_MS = 14 * 24 * 3600 * 1000

interface Handshake {
  socket?: TLSSocket
  code?: string
  message?: string
}

function handshake(opts: ConnectionOptions, timeoutMs: number): Promise<Handshake> {
  return new Promise((resolve) => {
    // rejectUnauthorized false: we want the certificate even when it is bad, to say exactly what is wrong with it.
    const socket = connect({...opts, rejectUnauthorized: false})
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs} ms`})
    }, timeoutMs)
    let settled = false
    const settle = (h: Handshake) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(h)
    }
    socket.once('secureConnect', () => {
      // With TLS 1.3 the server checks the client certificate after the client's handshake is done: a refusal
      // ("certificate required") arrives as an alert just after secureConnect, so listen a moment longer.
      setTimeout(() => settle({socket}), Math.min(400, timeoutMs))
    })
    socket.once('error', (e: NodeJS.ErrnoException) => {
      socket.destroy()
      settle({code: e.code ?? 'error', message: e.message})
    })
  })
}

/** Handshake failures in words: what the other side most likely is or wants. */
export function tls__explainFailure(code: string, message: string, display: string): {detail: string; fix: string[]} {
  if (/WRONG_VERSION_NUMBER|UNKNOWN_PROTOCOL|PACKET_LENGTH_TOO_LONG|RECORD_LAYER/i.test(`${code} ${message}`)) {
    return {
      detail: `the server on this port does not speak TLS (${code}): it is probably plain MQTT`,
      fix: [`connect without TLS (mqtt:// instead of mqtts://), or use the broker's TLS port (usually 8883)`],
    }
  }
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/i.test(`${code} ${message}`)) {
    return {
      detail: `the broker ended the handshake (${code}): it wants a client certificate it trusts`,
      fix: ['pass a client certificate signed by a CA the broker trusts: --cert client.crt --key client.key'],
    }
  }
  if (code === 'ECONNRESET') {
    return {detail: `the broker closed the connection during the TLS handshake (${code})`, fix: ['check the broker log: TLS version/cipher mismatch or a missing client certificate']}
  }
  return {detail: `TLS handshake with ${display} failed: ${message} (${code})`, fix: ['check the broker\'s TLS configuration and log']}
}

/** OpenSSL verification codes in words, each with its usual remedy. */
const VERIFY: Record<string, {why: string; fix: string[]}> = {
  CERT_HAS_EXPIRED: {why: 'the certificate has expired', fix: ['renew the broker certificate (certbot renew, or re-issue it from your CA) and restart the broker']},
  CERT_NOT_YET_VALID: {why: 'the certificate is not valid yet (or this machine\'s clock is wrong)', fix: ['check the clock on both machines (timedatectl / w32tm /resync)', 'or re-issue the certificate with a start date in the past']},
  DEPTH_ZERO_SELF_SIGNED_CERT: {why: 'the certificate is self-signed', fix: ['trust it explicitly: --cafile broker.crt', 'or --insecure while testing (no verification at all)']},
  SELF_SIGNED_CERT_IN_CHAIN: {why: 'the chain ends in a self-signed CA this machine does not trust', fix: ['pass your CA certificate: --cafile ca.crt']},
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {why: 'the certificate is signed by a CA this machine does not know', fix: ['pass the CA certificate: --cafile ca.crt']},
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {why: 'the broker does not send its intermediate certificates, or the CA is unknown', fix: ['configure the broker with the full chain (mosquitto: `certfile` = fullchain.pem)', 'or pass the CA: --cafile ca.crt']},
  UNABLE_TO_GET_ISSUER_CERT: {why: 'an issuer certificate in the chain is missing', fix: ['configure the broker with the full chain (fullchain.pem)']},
  CERT_SIGNATURE_FAILURE: {why: 'a signature in the chain does not verify', fix: ['re-issue the certificate; check that --cafile is the right CA']},
  CERT_REVOKED: {why: 'the certificate was revoked', fix: ['issue a new certificate']},
}

function fmtDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
}

export const tlsCheck: Check = {
  id: 'target.tls',
  title: 'TLS handshake and certificate',
  needs: ['target.tcp'],
  applies: (o) => o.target?.protocol === 'mqtts' || o.target?.protocol === 'wss',
  async run(ctx): Promise<CheckResult> {
    const t = ctx.target!
    const base = {id: 'target.tls', title: 'TLS handshake and certificate'}
    const name = t.tls?.servername ?? t.host
    const h = await handshake({host: t.host, port: t.port, servername: t.tls?.servername, ca: t.tls?.ca, cert: t.tls?.cert, key: t.tls?.key}, ctx.timeoutMs)
    if (!h.socket) {
      // An MQTT broker hangs up on a ClientHello it cannot parse: ask it in plain MQTT to be sure that is why.
      if (h.code === 'ECONNRESET' || h.code === 'ECONNABORTED') {
        const plain = await probe__port(t.host, t.port, t.protocol === 'wss' ? 'ws' : 'mqtt', ctx.timeoutMs)
        if (plain.mqtt) {
          return {
            ...base,
            status: 'fail',
            detail: `port ${t.port} speaks plain MQTT${t.protocol === 'wss' ? ' over WebSocket' : ''}, not TLS: the broker hung up on the TLS handshake`,
            fix: [`connect without TLS (${t.protocol === 'wss' ? 'ws://' : 'mqtt://'}${t.host}:${t.port}), or use the broker's TLS port (usually ${t.protocol === 'wss' ? 8084 : 8883})`],
            data: {code: h.code, plain: true},
          }
        }
      }
      return {...base, status: 'fail', ...tls__explainFailure(h.code ?? 'error', h.message ?? '', t.display), data: {code: h.code}}
    }

    const socket = h.socket
    const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate
    const protocol = socket.getProtocol()
    const verifyError = socket.authorizationError ? String((socket.authorizationError as unknown as {code?: string}).code ?? socket.authorizationError) : undefined
    socket.destroy()
    if (!peer?.raw) return {...base, status: 'fail', detail: 'the broker sent no certificate', fix: ['configure a certificate on the broker\'s TLS listener']}

    const x509 = new X509Certificate(peer.raw)
    const validFrom = new Date(x509.validFrom)
    const validTo = new Date(x509.validTo)
    const now = Date.now()
    const selfSigned = x509.checkIssued(x509)
    const chain: string[] = []
    for (let c: DetailedPeerCertificate | undefined = peer; c && chain.length < 8; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) {
      chain.push(String(c.subject?.CN ?? x509.subject))
    }
    const hostError = checkServerIdentity(name, peer)
    const data = {
      protocol,
      subject: x509.subject.replace(/\n/g, ', '),
      issuer: x509.issuer.replace(/\n/g, ', '),
      subjectAltName: x509.subjectAltName,
      validFrom: validFrom.toISOString(),
      validTo: validTo.toISOString(),
      selfSigned,
      chain,
      verifyError,
      hostMismatch: hostError?.message,
    }
    const problems: string[] = []
    const fix: string[] = []
    if (now > validTo.getTime()) {
      problems.push(`the certificate expired on ${fmtDate(validTo)}`)
      fix.push(...VERIFY.CERT_HAS_EXPIRED.fix)
    } else if (now < validFrom.getTime()) {
      problems.push(`the certificate is valid only from ${fmtDate(validFrom)}`)
      fix.push(...VERIFY.CERT_NOT_YET_VALID.fix)
    }
    if (hostError) {
      problems.push(`it does not name "${name}" (${x509.subjectAltName ? `it names ${x509.subjectAltName}` : `subject ${x509.subject.replace(/\n/g, ', ')}`})`)
      fix.push(`connect with a name the certificate lists, or re-issue it with subjectAltName=DNS:${name}${/^[\d.]+$/.test(name) ? ` (IP:${name} for an address)` : ''}`)
    }
    // Expiry is reported above in plainer words; other verification failures (chain, self-signed) here.
    if (verifyError && verifyError !== 'CERT_HAS_EXPIRED' && verifyError !== 'CERT_NOT_YET_VALID') {
      const v = VERIFY[verifyError]
      problems.push(v ? `${v.why} (${verifyError})` : `verification failed: ${verifyError}`)
      fix.push(...(v?.fix ?? ['pass the CA that signed the broker certificate: --cafile ca.crt']))
    }
    const summary = `${protocol}, certificate "${data.subject}" issued by "${data.issuer}"${selfSigned ? ' (self-signed)' : ''}, valid until ${fmtDate(validTo)}`
    if (problems.length > 0) {
      const insecure = t.tls?.rejectUnauthorized === false
      return {
        ...base,
        // With --insecure the client will not check any of this: the connection works, but is not protected.
        status: insecure ? 'warn' : 'fail',
        detail: `${problems.join('; ')}${insecure ? ' (ignored because of --insecure)' : ''}. ${summary}`,
        fix: [...new Set(fix)],
        data,
      }
    }
    if (validTo.getTime() - now < SOON_MS) {
      return {...base, status: 'warn', detail: `the certificate expires soon (${fmtDate(validTo)}). ${summary}`, fix: VERIFY.CERT_HAS_EXPIRED.fix, data}
    }
    return {...base, status: 'ok', detail: summary, data}
  },
}
