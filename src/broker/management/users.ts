/**
 * `broker.users`: the users of the broker's password file (the one `--password-file` names and `mqttkit passwd`
 * edits). Every change reads the file afresh (so edits made by `mqttkit passwd` meanwhile are kept), writes it
 * atomically with mode 0600 and reloads it into the running broker: the next CONNECT sees it. Never hands out
 * hashes or salts.
 */
import type {AuthFiles} from '../auth/hooks.js'
import {PasswordFile, passwordFile__validateUsername} from '../auth/password-file.js'

export type UsersErrorCode = 'no_password_file' | 'invalid_username' | 'invalid_password' | 'user_exists' | 'no_such_user'

export class UsersError extends Error {
  constructor(
    readonly code: UsersErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'UsersError'
  }
}

export class BrokerUsers {
  /** Changes one after another: two at once must not both read the file before either wrote it. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly auth: AuthFiles) {}

  /** Whether the broker has a password file to manage. */
  get available(): boolean {
    return this.auth.passwordFilePath !== undefined
  }

  /** User names in the file in force, sorted. */
  list(): string[] {
    return (this.auth.passwordFile?.users() ?? []).sort()
  }

  /** Adds a user; UsersError 'user_exists' when there is one. */
  add(username: string, password: string): Promise<void> {
    return this.change(username, password, (file) => {
      if (file.has(username)) throw new UsersError('user_exists', `user ${username} exists already`)
    })
  }

  /** Changes an existing user's password; UsersError 'no_such_user' otherwise. */
  setPassword(username: string, password: string): Promise<void> {
    return this.change(username, password, (file) => {
      if (!file.has(username)) throw new UsersError('no_such_user', `no user ${username}`)
    })
  }

  /** Removes a user; UsersError 'no_such_user' when there is none. Connected clients of that user stay connected. */
  delete(username: string): Promise<void> {
    return this.serial(async () => {
      const file = await this.read()
      if (!file.delete(username)) throw new UsersError('no_such_user', `no user ${username}`)
      await this.write(file)
    })
  }

  private change(username: string, password: string, check: (file: PasswordFile) => void): Promise<void> {
    return this.serial(async () => {
      const problem = typeof username === 'string' ? passwordFile__validateUsername(username) : 'username must be a string'
      if (problem !== null) throw new UsersError('invalid_username', problem)
      if (typeof password !== 'string' || password.length === 0) throw new UsersError('invalid_password', 'password must be a non-empty string')
      const file = await this.read()
      check(file)
      await file.set(username, password)
      await this.write(file)
    })
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  private async read(): Promise<PasswordFile> {
    const path = this.auth.passwordFilePath
    if (path === undefined) throw new UsersError('no_password_file', 'the broker has no password file (start it with --password-file FILE)')
    return PasswordFile.load(path)
  }

  private async write(file: PasswordFile): Promise<void> {
    await file.save()
    await this.auth.reload()
  }
}
