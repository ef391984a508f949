import {Args, Command, Flags} from '@oclif/core'
import chalk, {chalkStderr} from 'chalk'
import {access} from 'node:fs/promises'
import {PasswordFile, PasswordFileError, passwordFile__validateUsername} from '../broker/auth/password-file.js'
import {PasswordPromptError, passwordPrompt__read} from '../broker/auth/password-prompt.js'

export interface PasswdResult {
  file: string
  user: string
  action: 'added' | 'updated' | 'deleted'
  /** Users in the file afterwards. */
  users: number
}

export default class Passwd extends Command {
  static override summary = 'Add, change or delete a user in a broker password file'
  static override description = `Passwords are stored as scrypt hashes, one "user:hash" line per user, in a file only its owner can read (mode 0600); the file is rewritten atomically. Password files made by mosquitto_passwd ($7$ and $6$ hashes) are read and kept as they are; users you set get scrypt hashes. Without --password, the password is asked twice without echo on a terminal, or read from the first line of stdin.

Exit codes: 0 done, 1 bad input (unreadable or malformed file, unknown user for --delete, empty or mismatched password).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -c /etc/mqttkit/passwd alice',
    '<%= config.bin %> <%= command.id %> /etc/mqttkit/passwd bob --password "$BOB_PASSWORD"',
    "printf 'secret\\n' | <%= config.bin %> <%= command.id %> /etc/mqttkit/passwd carol",
    '<%= config.bin %> <%= command.id %> --delete /etc/mqttkit/passwd bob',
  ]

  static override enableJsonFlag = true

  static override args = {
    file: Args.string({description: 'password file (broker flag --password-file)', required: true}),
    user: Args.string({description: 'user name', required: true}),
  }

  static override flags = {
    create: Flags.boolean({char: 'c', description: 'start a new file, replacing any existing one'}),
    delete: Flags.boolean({char: 'D', description: 'remove the user', exclusive: ['create', 'password']}),
    password: Flags.string({description: 'the password (visible to other local users in `ps`: prefer the prompt or stdin)'}),
  }

  async run(): Promise<PasswdResult> {
    const {args, flags} = await this.parse(Passwd)
    return this.apply(args.file, args.user, flags)
  }

  /** Every failure is one line and exit 1 (flag mistakes included), or `{error}` with --json. */
  protected override async catch(error: Error & {code?: string}): Promise<unknown> {
    if (error.code === 'EEXIT') throw error
    const known = error instanceof PasswordFileError || error instanceof PasswordPromptError
    const message = known ? error.message : String(error.message).split('\n').map((line) => line.trim()).filter(Boolean).join(' ')
    if (this.jsonEnabled()) this.logJson({error: {message, exitCode: 1}})
    else process.stderr.write(`${chalkStderr.red('Error:')} ${message}\n`)
    return this.exit(1)
  }

  private async apply(path: string, user: string, flags: {create: boolean; delete: boolean; password?: string}): Promise<PasswdResult> {
    const problem = passwordFile__validateUsername(user)
    if (problem) throw new PasswordFileError(problem)
    let file: PasswordFile
    if (flags.create) {
      file = new PasswordFile(path)
    } else {
      const exists = await access(path).then(
        () => true,
        () => false,
      )
      if (!exists) throw new PasswordFileError(`${path} does not exist (use -c to create it)`)
      file = await PasswordFile.load(path)
    }

    let action: PasswdResult['action']
    if (flags.delete) {
      if (!file.delete(user)) throw new PasswordFileError(`no user "${user}" in ${path}`)
      action = 'deleted'
    } else {
      const password = flags.password ?? (await passwordPrompt__read())
      if (password.length === 0) throw new PasswordFileError('the password is empty')
      action = file.has(user) ? 'updated' : 'added'
      await file.set(user, password)
    }
    await file.save(path)

    const result: PasswdResult = {file: path, user, action, users: file.size}
    if (!this.jsonEnabled()) this.log(`${chalk.green('✔')} ${action} user ${chalk.bold(user)} in ${path} (${file.size} user${file.size === 1 ? '' : 's'})`)
    return result
  }
}
