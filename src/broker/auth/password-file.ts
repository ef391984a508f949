/**
 * Password files: one `user:hash` per line, `#` comments and blank lines ignored.
 *
 * Hashes mqttkit writes:   `$scrypt$N=16384,r=8,p=1$<salt base64>$<hash base64>`   (node:crypto scrypt)
 * Hashes it also reads (so mosquitto users can bring their file unchanged):
 *   `$7$<iterations>$<salt base64>$<hash base64>`   PBKDF2-HMAC-SHA512, 64-byte hash (mosquitto_passwd default)
 *   `$6$<salt base64>$<hash base64>`                  SHA-512 over password then salt (mosquitto 1.6 and earlier)
 *
 * Verification always does the same work whether or not the user exists (an unknown user is checked against a
 * dummy hash of the same kind and cost as the file's first entry) and compares with `timingSafeEqual`, so neither
 * the answer nor its timing says which users exist. Entries keep their original text, so rewriting a file never changes a line it did not mean to.
 */
import {createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {atomicFile__write} from '../atomic-file.js'

export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** scrypt cost used for new hashes: 16 MiB of memory and roughly 50 ms of one core per check. */
export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = {N: 16_384, r: 8, p: 1}
const SCRYPT_KEYLEN = 32
const SALT_BYTES = 16
/** Upper bounds on parameters read from a file, so a hand-edited line cannot make each login eat the machine. */
const SCRYPT_MAX_N = 1 << 20
const PBKDF2_MAX_ITERATIONS = 10_000_000

export type PasswordHash =
  | {kind: 'scrypt'; N: number; r: number; p: number; salt: Buffer; hash: Buffer}
  | {kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer}
  | {kind: 'sha512'; salt: Buffer; hash: Buffer}

interface Entry {
  hash: PasswordHash
  /** The hash exactly as it was read or written, so a rewrite preserves it byte for byte. */
  text: string
}

export class PasswordFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PasswordFileError'
  }
}

/** Why a user name cannot be stored in a password file, or null when it can. */
export function passwordFile__validateUsername(username: string): string | null {
  if (username.length === 0) return 'the user name is empty'
  if (username.includes(':')) return 'a user name cannot contain ":" (it separates the name from the hash)'
  if (/[\r\n\0]/.test(username)) return 'a user name cannot contain line breaks or NUL characters'
  if (username.startsWith('#')) return 'a user name cannot start with "#" (the line would be a comment)'
  if (Buffer.byteLength(username) > 65_535) return 'a user name is at most 65535 bytes in MQTT'
  return null
}

function scryptAsync(password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

function pbkdf2Async(password: Buffer, salt: Buffer, iterations: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, keylen, 'sha512', (error, key) => (error ? reject(error) : resolve(key)))
  })
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node refuses scrypt above 32 MiB unless maxmem is raised; allow exactly what these parameters need.
  return {N, r, p, maxmem: 128 * N * r + 1024 * r * p + 1024 * 1024}
}

/** Derives what `hash.hash` must equal for `password`. */
async function passwordHash__derive(hash: PasswordHash, password: Buffer): Promise<Buffer> {
  switch (hash.kind) {
    case 'scrypt':
      return scryptAsync(password, hash.salt, hash.hash.length, scryptOptions(hash.N, hash.r, hash.p))
    case 'pbkdf2-sha512':
      return pbkdf2Async(password, hash.salt, hash.iterations, hash.hash.length)
    case 'sha512':
      return createHash('sha512').update(password).update(hash.salt).digest()
  }
}

/** A new scrypt hash of `password`, in file form (`$scrypt$...`). */
export async function passwordHash__create(password: string | Buffer, params: Readonly<ScryptParams> = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await scryptAsync(Buffer.from(password), salt, SCRYPT_KEYLEN, scryptOptions(params.N, params.r, params.p))
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

function base64Field(text: string | undefined, what: string): Buffer {
  if (text === undefined || text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new PasswordFileError(`${what} is not base64`)
  }
  return Buffer.from(text, 'base64')
}

/** Parses one hash field; throws PasswordFileError saying what is wrong. */
export function passwordHash__parse(text: string): PasswordHash {
  const parts = text.split('$')
  if (parts[0] !== '' || parts.length < 3) {
    throw new PasswordFileError('the password is not hashed (plain-text passwords are refused; set it again with "mqttkit passwd")')
  }
  const kind = parts[1]
  if (kind === 'scrypt') {
    if (parts.length !== 5) throw new PasswordFileError('a $scrypt$ hash has the form $scrypt$N=..,r=..,p=..$salt$hash')
    const params = new Map(parts[2]!.split(',').map((kv) => kv.split('=') as [string, string]))
    const N = Number(params.get('N'))
    const r = Number(params.get('r'))
    const p = Number(params.get('p'))
    if (!Number.isInteger(N) || N < 2 || N > SCRYPT_MAX_N || (N & (N - 1)) !== 0) {
      throw new PasswordFileError(`scrypt N must be a power of two between 2 and ${SCRYPT_MAX_N}`)
    }
    if (!Number.isInteger(r) || r < 1 || r > 32) throw new PasswordFileError('scrypt r must be between 1 and 32')
    if (!Number.isInteger(p) || p < 1 || p > 16) throw new PasswordFileError('scrypt p must be between 1 and 16')
    const hash = base64Field(parts[4], 'the scrypt hash')
    if (hash.length < 16) throw new PasswordFileError('the scrypt hash is shorter than 16 bytes')
    return {kind: 'scrypt', N, r, p, salt: base64Field(parts[3], 'the scrypt salt'), hash}
  }
  if (kind === '7') {
    if (parts.length !== 5) throw new PasswordFileError('a $7$ hash has the form $7$iterations$salt$hash')
    const iterations = Number(parts[2])
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_MAX_ITERATIONS) {
      throw new PasswordFileError(`$7$ iterations must be between 1 and ${PBKDF2_MAX_ITERATIONS}`)
    }
    const hash = base64Field(parts[4], 'the $7$ hash')
    if (hash.length < 16 || hash.length > 64) throw new PasswordFileError('the $7$ hash must be 16 to 64 bytes')
    return {kind: 'pbkdf2-sha512', iterations, salt: base64Field(parts[3], 'the $7$ salt'), hash}
  }
  if (kind === '6') {
    if (parts.length !== 4) throw new PasswordFileError('a $6$ hash has the form $6$salt$hash')
    const hash = base64Field(parts[3], 'the $6$ hash')
    if (hash.length !== 64) throw new PasswordFileError('the $6$ hash must be 64 bytes (SHA-512)')
    return {kind: 'sha512', salt: base64Field(parts[2], 'the $6$ salt'), hash}
  }
  throw new PasswordFileError(`unknown hash type "$${kind}$" (mqttkit reads $scrypt$, $7$ and $6$)`)
}

export class PasswordFile {
  private readonly entries = new Map<string, Entry>()
  /** Checked for unknown users so that they cost as much as known ones: same kind and cost as the file's first entry. */
  private dummy: PasswordHash | undefined

  constructor(readonly path?: string) {}

  /** Reads a file; a missing or malformed file rejects with a PasswordFileError naming the file and line. */
  static async load(path: string): Promise<PasswordFile> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new PasswordFileError(`cannot read password file ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
    }
    return PasswordFile.parse(text, path)
  }

  static parse(text: string, path?: string): PasswordFile {
    const file = new PasswordFile(path)
    const lines = text.split(/\r?\n/)
    for (const [index, raw] of lines.entries()) {
      const line = raw.trim()
      if (line.length === 0 || line.startsWith('#')) continue
      const where = `${path ?? 'password file'} line ${index + 1}`
      const colon = line.indexOf(':')
      if (colon <= 0) throw new PasswordFileError(`${where}: expected "user:hash"`)
      const username = line.slice(0, colon)
      const hashText = line.slice(colon + 1)
      if (file.entries.has(username)) throw new PasswordFileError(`${where}: user "${username}" is listed twice`)
      try {
        file.entries.set(username, {hash: passwordHash__parse(hashText), text: hashText})
      } catch (error) {
        throw new PasswordFileError(`${where}: ${(error as Error).message}`)
      }
    }
    return file
  }

  get size(): number {
    return this.entries.size
  }

  has(username: string): boolean {
    return this.entries.has(username)
  }

  users(): string[] {
    return [...this.entries.keys()]
  }

  /** Adds or replaces a user with a new scrypt hash. */
  async set(username: string, password: string | Buffer, params: Readonly<ScryptParams> = SCRYPT_DEFAULTS): Promise<void> {
    const problem = passwordFile__validateUsername(username)
    if (problem) throw new PasswordFileError(problem)
    const text = await passwordHash__create(password, params)
    this.entries.set(username, {hash: passwordHash__parse(text), text})
    this.dummy = undefined
  }

  /** Removes a user; false when there was none. */
  delete(username: string): boolean {
    return this.entries.delete(username)
  }

  /**
   * True only when the user exists and the password matches. Costs the same for unknown users and for a missing
   * password, and never throws for bad input.
   */
  async verify(username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    const entry = username === undefined ? undefined : this.entries.get(username)
    const hash = entry?.hash ?? this.dummyHash()
    let derived: Buffer
    try {
      derived = await passwordHash__derive(hash, password ?? Buffer.alloc(0))
    } catch {
      return false
    }
    const equal = derived.length === hash.hash.length && timingSafeEqual(derived, hash.hash)
    return equal && entry !== undefined && password !== undefined
  }

  /** The file's text: one `user:hash` line per user. */
  serialize(): string {
    let out = ''
    for (const [username, entry] of this.entries) out += `${username}:${entry.text}\n`
    return out
  }

  /**
   * Writes the file atomically (temporary file in the same directory, then rename) with mode 0600, so a crash
   * never leaves a half-written file and other local users never see the hashes.
   */
  async save(path = this.path): Promise<void> {
    if (!path) throw new PasswordFileError('no path to save the password file to')
    await atomicFile__write(path, this.serialize(), 0o600)
  }

  private dummyHash(): PasswordHash {
    if (this.dummy) return this.dummy
    const model: PasswordHash = this.entries.values().next().value?.hash ?? {kind: 'scrypt', ...SCRYPT_DEFAULTS, salt: Buffer.alloc(0), hash: Buffer.alloc(SCRYPT_KEYLEN)}
    // Random salt and hash: the derivation costs what a real check costs, and the comparison can never succeed.
    this.dummy = {...model, salt: randomBytes(model.salt.length || SALT_BYTES), hash: randomBytes(model.hash.length)}
    return this.dummy
  }
}
