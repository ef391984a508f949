import {Flags} from '@oclif/core'
import chalk from 'chalk'
import {ClientCommand} from '../../client/command.js'
import {client__close, client__connect} from '../../client/connect.js'
import {connectionFlags} from '../../client/flags.js'
import {retained__collect} from '../../client/retained.js'
import {type RetainedListResult, retainedFlags, retained__filters, retained__table, retained__toJson} from '../../client/retained-output.js'
import {client__settingsFromFlags} from '../../client/options.js'

export default class RetainedList extends ClientCommand {
  static override summary = 'List the retained messages matching a topic filter, on any broker (over MQTT)'

  static override description = `Subscribes to the filters and shows each retained message: topic, size, QoS and,
for MQTT 5 messages with an expiry, the seconds left (MQTT does not say how old a retained message is). The broker
sends retained messages right after the SUBACK; the list ends once --settle milliseconds pass without another.
Exit codes: 0 done, 1 bad flags, 2 network failure, 3 refused by the broker.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -t "sensors/#"',
    '<%= config.bin %> <%= command.id %> -t "#" -t "$SYS/#" --json',
    '<%= config.bin %> <%= command.id %> -L mqtts://broker.example.com -t "config/+"',
  ]

  static override flags = {...connectionFlags, ...retainedFlags}

  async run(): Promise<RetainedListResult> {
    const {flags} = await this.parse(RetainedList)
    this.quiet = flags.quiet
    const settings = client__settingsFromFlags(flags, 'retained')
    const filters = retained__filters(flags.topic, settings.target.urlTopic)
    const connection = await client__connect(settings, {spinner: this.wantsSpinner(), notice: this.notice})
    try {
      const entries = await retained__collect(connection.client, filters, {quietMs: flags.settle, timeoutMs: flags.timeout * 1000})
      const result: RetainedListResult = {filters, count: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0), messages: entries.map(retained__toJson)}
      if (!this.jsonEnabled()) {
        for (const line of retained__table(entries)) this.log(line)
        this.log(chalk.dim(`${result.count} retained message(s), ${result.bytes} byte(s), matching ${filters.join(' ')}`))
      }
      return result
    } finally {
      await client__close(connection.client)
    }
  }
}
