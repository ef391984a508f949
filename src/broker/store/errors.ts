/**
 * Store failures a user can cause (a bad file, a full disk, a read-only directory) as one coded error, so the CLI
 * prints one clear sentence with the fix and exits instead of starting a broker that would lose messages.
 */
export type StoreErrorCode =
  | 'closed' // a mutation after close(): the caller's bug, the write would be lost
  | 'corrupt' // not an SQLite file, or a damaged one
  | 'foreign' // an SQLite file that some other program created
  | 'full' // no space left (disk full or the configured size cap)
  | 'io' // any other read/write failure reported by the OS
  | 'locked' // another process (a second broker) holds the database
  | 'newer-schema' // written by a newer mqttkit that this version cannot read
  | 'not-a-file' // the path is a directory or something else that is not a regular file
  | 'not-writable' // permissions: the file or its directory is read-only
  | 'spec' // a --store value this version does not understand
  | 'unavailable' // the store's server (Redis) cannot be reached

export class StoreError extends Error {
  override readonly name = 'StoreError'

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** The file (or directory) concerned, when there is one. */
    readonly path?: string,
    options?: {cause?: unknown},
  ) {
    super(message, options)
  }
}

/** The fields better-sqlite3 puts on its SqliteError (`code` is the extended result code name). */
interface SqliteLikeError {
  code?: string
  message: string
}

/**
 * Turns an SQLite or OS error met while opening or writing `path` into a StoreError with a sentence a user can act
 * on. `doing` says what the store was doing ("open", "write").
 */
export function storeError__fromSqlite(error: unknown, path: string, doing: string): StoreError {
  if (error instanceof StoreError) return error
  const e = (error ?? {}) as SqliteLikeError
  const code = typeof e.code === 'string' ? e.code : ''
  const detail = e.message ?? String(error)
  const fail = (kind: StoreErrorCode, text: string) =>
    new StoreError(kind, `${text} (${doing} ${path}: ${code ? code + ': ' : ''}${detail})`, path, {cause: error})

  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return fail(
      'corrupt',
      `The store file ${path} is not a valid mqttkit database (corrupt, truncated or not SQLite). mqttkit refuses to ` +
        `start rather than lose its contents: restore a backup, or move the file away to start with an empty store`,
    )
  }

  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'SQLITE_IOERR_WRITE' && /space|full/i.test(detail)) {
    return fail('full', `No space left to write the store ${path}: free disk space (or raise the size cap)`)
  }

  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return fail(
      'not-writable',
      `The store ${path} is read-only: the broker needs write access to the file and to its directory ` +
        `(SQLite creates ${path}-wal next to it)`,
    )
  }

  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return fail(
      'locked',
      `The store ${path} is in use by another process (is another mqttkit broker running with the same store?)`,
    )
  }

  if (code.startsWith('SQLITE_CANTOPEN')) {
    return fail('not-writable', `Cannot open or create the store ${path}: check that its directory exists and is writable`)
  }

  return fail('io', `The store ${path} failed`)
}
