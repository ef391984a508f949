// Test certificates made with the openssl CLI: a CA, and server certificates that are good, expired (issued by
// `openssl ca` with explicit -startdate/-enddate in the past: OpenSSL 3.0 has no -not_after for `req`), for
// the wrong host, or self-signed.
import {execFileSync} from 'node:child_process'
import {chmodSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const OPENSSL = 'openssl'

function ssl(dir: string, args: string[]): void {
  execFileSync(OPENSSL, args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
}

export interface TestPki {
  dir: string
  caFile: string
  ca: Buffer
  /** name → {cert, key} file paths */
  files(name: string): {cert: string; key: string}
  pem(name: string): {cert: Buffer; key: Buffer}
}

const CA_CONFIG = `[ca]
default_ca = test_ca
[test_ca]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = .
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`

/** `openssl ca` dates: YYYYMMDDHHMMSSZ. */
function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')
}

export function pki__create(dir: string): TestPki {
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG)
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), '1000\n')
  ssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=mqttkit doctor test CA'])

  const issue = (name: string, cn: string, san: string, dates?: {start: string; end: string}) => {
    ssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`])
    const validity = dates ? ['-startdate', dates.start, '-enddate', dates.end] : ['-days', '30']
    ssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', ...validity, '-in', `${name}.csr`, '-out', `${name}.crt`])
  }
  issue('good', 'localhost', 'DNS:localhost,IP:127.0.0.1')
  issue('expired', 'localhost', 'DNS:localhost,IP:127.0.0.1', {start: '20200101000000Z', end: '20210101000000Z'})
  issue('wronghost', 'broker.example.com', 'DNS:broker.example.com')
  issue('future', 'localhost', 'DNS:localhost,IP:127.0.0.1', {start: '20990101000000Z', end: '21000101000000Z'})
  issue('soon', 'localhost', 'DNS:localhost,IP:127.0.0.1', {start: '20200101000000Z', end: utcStamp(Date.now() + 5 * 24 * 3600 * 1000)})
  ssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'selfsigned.key', '-out', 'selfsigned.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'])
  // mosquitto drops root privileges before reading its key files.
  for (const name of ['ca', 'good', 'expired', 'wronghost', 'future', 'soon', 'selfsigned']) chmodSync(join(dir, `${name}.key`), 0o644)

  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    ca: readFileSync(join(dir, 'ca.crt')),
    files: (name) => ({cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`)}),
    pem: (name) => ({cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`))}),
  }
}
