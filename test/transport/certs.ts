/**
 * A throwaway PKI for the transport tests, made with the openssl CLI in a temp dir: a CA, a server certificate
 * for 127.0.0.1/localhost, client certificates (one per CN asked for), and a second server certificate to swap
 * in when testing reload.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'

export interface TestPki {
  dir: string
  ca: string
  caPem: Buffer
  serverCert: string
  serverKey: string
  /** A second server certificate with a different CN, for reload tests. */
  otherCert: string
  otherKey: string
  client(cn: string): {cert: string; key: string}
  /** A client certificate with any subject, e.g. `/O=No CN` or `/CN=a/CN=b`. */
  clientWithSubject(subject: string): {cert: string; key: string}
  cleanup(): void
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

export function pki__make(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'mqttkit-pki-'))
  const file = (name: string) => path.join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'})
  openssl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=mqttkit test CA', '-days', '2')
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  const issue = (name: string, cn: string, ext?: string, subject = `/CN=${cn}`) => {
    openssl('req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
    const extArgs = ext === undefined ? [] : ['-extfile', ext]
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...extArgs)
    return {cert: file(`${name}.crt`), key: file(`${name}.key`)}
  }
  const server = issue('server', 'localhost', 'server.ext')
  const other = issue('other', 'reloaded.localhost', 'server.ext')
  const clients = new Map<string, {cert: string; key: string}>()
  let extra = 1000
  return {
    dir,
    ca: file('ca.crt'),
    caPem: readFileSync(file('ca.crt')),
    serverCert: server.cert,
    serverKey: server.key,
    otherCert: other.cert,
    otherKey: other.key,
    client(cn) {
      let made = clients.get(cn)
      if (made === undefined) {
        made = issue(`client-${clients.size}`, cn)
        clients.set(cn, made)
      }
      return made
    },
    clientWithSubject: (subject) => issue(`subject-${clients.size + extra++}`, '', undefined, subject),
    cleanup: () => rmSync(dir, {recursive: true, force: true}),
  }
}
