import {Command, Flags} from '@oclif/core'
import chalk from 'chalk'
import {store__defaultDataDir} from '../broker/store/index.js'
import {WEB_DEFAULT_PORT} from '../web/flags.js'
import {webToken__path, webToken__read, webToken__reset} from '../web/token.js'

export interface WebTokenResult {
  file: string
  /** Whether a token hash exists (after --reset: always). */
  exists: boolean
  /** The new token, only with --reset: it is not stored, only its hash. */
  token?: string
  loginUrl?: string
}

export default class WebToken extends Command {
  static override summary = "Show whether the web admin has a token, or make a new one (--reset)"
  static override description = `The broker keeps only a hash of the admin token, in <data-dir>/web-token (mode 0600), so the token itself cannot be shown again: --reset makes a new one, prints it once, and ends every session of the old one (a running broker picks it up within a second).

Exit codes: 0 done, 1 the file cannot be read or written.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --reset', '<%= config.bin %> <%= command.id %> --reset --data-dir /var/lib/mqttkit --json']
  static override enableJsonFlag = true

  static override flags = {
    reset: Flags.boolean({description: 'make a new token and print it'}),
    'data-dir': Flags.string({description: "the broker's data directory [default: as for `mqttkit broker`]", env: 'MQTTKIT_DATA_DIR'}),
    'web-port': Flags.integer({description: 'port in the printed login URL', default: WEB_DEFAULT_PORT, env: 'WEB_PORT'}),
    'web-host': Flags.string({description: 'host in the printed login URL', default: '127.0.0.1'}),
  }

  async run(): Promise<WebTokenResult> {
    const {flags} = await this.parse(WebToken)
    const dataDir = flags['data-dir'] ?? store__defaultDataDir()
    const file = webToken__path(dataDir)
    try {
      if (!flags.reset) {
        const exists = (await webToken__read(dataDir)) !== undefined
        this.log(exists ? `an admin token hash is in ${file}; \`mqttkit web-token --reset\` makes a new token` : `no admin token yet: \`mqttkit broker\` makes one at its first start, or run \`mqttkit web-token --reset\``)
        return {file, exists}
      }
      const token = await webToken__reset(dataDir)
      const loginUrl = `http://${flags['web-host']}:${flags['web-port']}/?token=${token}`
      this.log(`new admin token (shown once; its hash is in ${file}):\n  ${chalk.bold(token)}\nlog in: ${chalk.cyan(loginUrl)}`)
      return {file, exists: true, token, loginUrl}
    } catch (error) {
      return this.error((error as Error).message, {exit: 1})
    }
  }
}
