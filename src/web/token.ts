/**
 * The admin token: 32 random bytes made at the first start, of which only a SHA-256 hash is kept, in
 * `<data-dir>/web-token` (mode 0600). A hash without salt or stretching is enough here because the token is random
 * and long, not a password a person chose: there is nothing to guess from a dictionary. `--web-token` (or
 * MQTTKIT_WEB_TOKEN) sets a token instead, kept in memory only.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {atomicFile__write} from '../broker/atomic-file.js'
import {mkdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'

export const TOKEN_FILE = 'web-token'
/** An explicit token shorter than this is refused: it could be guessed. */
export const TOKEN_MIN_LENGTH = 16

export function webToken__generate(): string {
  return randomBytes(32).toString('base64url')
}

export function webToken__hash(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`
}

/** Constant-time comparison of a candidate against a stored hash. */
export function webToken__matches(hash: string, candidate: string): boolean {
  const a = Buffer.from(webToken__hash(candidate))
  const b = Buffer.from(hash)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function webToken__path(dataDir: string): string {
  return join(dataDir, TOKEN_FILE)
}

/** The stored hash, or undefined when there is none yet. A malformed file is an error (never silently replaced). */
export async function webToken__read(dataDir: string): Promise<string | undefined> {
  const path = webToken__path(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`cannot read ${path}: ${(error as Error).message}`)
  }
  const hash = text.trim()
  if (!/^sha256:[0-9a-f]{64}$/.test(hash)) throw new Error(`${path} is not an admin token hash (run \`mqttkit web-token --reset\`)`)
  return hash
}

/** Makes a new token, stores its hash atomically with mode 0600, returns the token (to print once). */
export async function webToken__reset(dataDir: string): Promise<string> {
  await mkdir(dataDir, {recursive: true, mode: 0o700})
  const token = webToken__generate()
  await atomicFile__write(webToken__path(dataDir), `${webToken__hash(token)}\n`, 0o600)
  return token
}

/**
 * Where the admin server gets the hash to check against: an explicit token, or the file (re-read when it changes,
 * so `mqttkit web-token --reset` takes effect in a running broker and ends the sessions of the old token).
 */
export class TokenSource {
  private hash: string | undefined
  private mtime = 0
  private checkedAt = 0

  private constructor(
    private readonly dataDir: string | undefined,
    hash: string,
  ) {
    this.hash = hash
  }

  /** `token` given: that one. Else the data directory's file, made (and `created` returned to print) when absent. */
  static async open(options: {token?: string; dataDir?: string}): Promise<{source: TokenSource; created?: string}> {
    if (options.token !== undefined) {
      if (options.token.length < TOKEN_MIN_LENGTH) throw new Error(`the admin token must be at least ${TOKEN_MIN_LENGTH} characters`)
      return {source: new TokenSource(undefined, webToken__hash(options.token))}
    }
    if (options.dataDir === undefined) throw new Error('the admin server needs a token or a data directory to keep its hash in')
    let created: string | undefined
    let hash = await webToken__read(options.dataDir)
    if (hash === undefined) {
      created = await webToken__reset(options.dataDir)
      hash = webToken__hash(created)
    }
    const source = new TokenSource(options.dataDir, hash)
    await source.refresh(true)
    return {source, created}
  }

  /** The hash in force; re-reads the file at most once a second when its modification time changed. */
  async current(): Promise<string | undefined> {
    await this.refresh(false)
    return this.hash
  }

  private async refresh(force: boolean): Promise<void> {
    if (this.dataDir === undefined) return
    const now = Date.now()
    if (!force && now - this.checkedAt < 1000) return
    this.checkedAt = now
    try {
      const {mtimeMs} = await stat(webToken__path(this.dataDir))
      if (mtimeMs === this.mtime) return
      this.mtime = mtimeMs
      this.hash = await webToken__read(this.dataDir)
    } catch {
      // A removed or broken file locks the admin out rather than opening it.
      this.hash = undefined
    }
  }
}
