import {createInterface} from 'node:readline/promises'
import {Flags} from '@oclif/core'
import chalk from 'chalk'
import {ClientCommand} from '../../client/command.js'
import {client__close, client__connect} from '../../client/connect.js'
import {ClientError, ExitCode} from '../../client/errors.js'
import {connectionFlags} from '../../client/flags.js'
import {client__settingsFromFlags} from '../../client/options.js'
import {retained__clear, retained__collect} from '../../client/retained.js'
import {retainedFlags, retained__filters} from '../../client/retained-output.js'

/** Past this many matching topics, clear asks first (or wants --yes). */
const CONFIRM_OVER = 10

export interface RetainedClearResult {
  filters: string[]
  matched: number
  cleared: string[]
  refused: Array<{topic: string; reason: string}>
  /** Topics still retained when looked at again after clearing (an ACL that drops the empty PUBLISH, for one). */
  remaining: string[]
}

export default class RetainedClear extends ClientCommand {
  static override summary = 'Delete the retained messages matching a topic filter, on any broker (over MQTT)'

  static override description = `Lists the retained messages as "retained list" does, publishes an empty retained
message to each topic (QoS 1, which deletes it), then looks again and reports what is left. With more than
${CONFIRM_OVER} matching topics it asks first; --yes skips the question (needed when stdin is not a terminal).
Current subscribers of those topics receive the empty message, as with any retained delete.
Exit codes: 0 done, 1 bad flags or not confirmed, 2 network failure, 3 refused by the broker (or some remain).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -t "sensors/old/#"',
    '<%= config.bin %> <%= command.id %> -t "#" --yes --json',
  ]

  static override flags = {
    ...connectionFlags,
    ...retainedFlags,
    yes: Flags.boolean({char: 'y', description: `do not ask, even when more than ${CONFIRM_OVER} topics match`}),
    'dry-run': Flags.boolean({description: 'only list what would be cleared'}),
  }

  async run(): Promise<RetainedClearResult> {
    const {flags} = await this.parse(RetainedClear)
    this.quiet = flags.quiet
    const settings = client__settingsFromFlags(flags, 'retained')
    const filters = retained__filters(flags.topic, settings.target.urlTopic)
    const connection = await client__connect(settings, {spinner: this.wantsSpinner(), notice: this.notice})
    const {client} = connection
    const collect = {quietMs: flags.settle, timeoutMs: flags.timeout * 1000}
    try {
      const entries = await retained__collect(client, filters, collect)
      const topics = entries.map((e) => e.topic)
      const result: RetainedClearResult = {filters, matched: topics.length, cleared: [], refused: [], remaining: []}
      if (topics.length === 0 || flags['dry-run']) {
        if (!this.jsonEnabled()) {
          for (const topic of topics) this.log(`would clear ${chalk.cyan(topic)}`)
          this.log(chalk.dim(`${topics.length} retained message(s) match ${filters.join(' ')}${flags['dry-run'] ? ' (dry run: nothing cleared)' : ''}`))
        }
        return result
      }
      if (topics.length > CONFIRM_OVER && !flags.yes) await this.confirm(topics.length, filters)
      const outcome = await retained__clear(client, topics)
      result.cleared = outcome.cleared
      result.refused = outcome.refused
      // Look again: a 3.1.1 broker acknowledges a PUBLISH its ACL drops, and another client may have re-published.
      const after = await retained__collect(client, filters, collect)
      const wanted = new Set(topics)
      result.remaining = after.map((e) => e.topic).filter((t) => wanted.has(t))
      if (!this.jsonEnabled()) {
        for (const topic of result.cleared) if (!result.remaining.includes(topic)) this.log(`cleared ${chalk.cyan(topic)}`)
        for (const r of result.refused) this.log(chalk.red(`refused ${r.topic}: ${r.reason}`))
        for (const topic of result.remaining) this.log(chalk.yellow(`still retained ${topic}`))
        this.log(chalk.dim(`${result.cleared.length - result.remaining.filter((t) => result.cleared.includes(t)).length} of ${topics.length} retained message(s) cleared`))
      }
      if (result.refused.length > 0 || result.remaining.length > 0) {
        if (this.jsonEnabled()) this.logJson(result)
        this.exit(ExitCode.refused)
      }
      return result
    } finally {
      await client__close(client)
    }
  }

  private async confirm(count: number, filters: string[]): Promise<void> {
    const question = `${count} retained messages match ${filters.join(' ')}: clear them all?`
    if (process.stdin.isTTY !== true || this.jsonEnabled()) {
      throw new ClientError(`${question} Not confirmed: pass --yes (stdin is not a terminal)`, ExitCode.usage)
    }
    const rl = createInterface({input: process.stdin, output: process.stderr})
    try {
      const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase()
      if (answer !== 'y' && answer !== 'yes') throw new ClientError('not confirmed: nothing cleared', ExitCode.usage)
    } finally {
      rl.close()
    }
  }
}
