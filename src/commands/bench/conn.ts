import {ClientCommand} from '../../client/command.js'
import {type BenchFlags, bench__execute, commonFlags, connFlags} from '../../bench/cli.js'
import type {BenchResult} from '../../bench/types.js'
import type {CompareResult} from '../../bench/compare.js'

export default class BenchConn extends ClientCommand {
  static override summary = 'Connection load: how fast a broker accepts C clients, and why any failed'
  static override description =
    'Opens --clients connections at --connect-rate per second (or as fast as the broker accepts, with at most ' +
    '--connect-concurrency handshakes pending), reports connections per second, connect latency percentiles (TCP ' +
    'connect to CONNACK) and failures by reason, holds them --hold seconds, then disconnects.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> -h 127.0.0.1 --clients 5000 --connect-rate 1000',
    '<%= config.bin %> <%= command.id %> --clients 1000 --hold 30 --json',
  ]
  static override flags = {...commonFlags, ...connFlags}

  async run(): Promise<BenchResult | {compare: CompareResult}> {
    const {flags} = await this.parse(BenchConn)
    const outcome = await bench__execute('conn', flags as BenchFlags, this.jsonEnabled())
    if (!this.jsonEnabled()) this.log(outcome.text)
    else if (outcome.exitCode) this.logJson(outcome.data)
    if (outcome.exitCode) this.exit(outcome.exitCode)
    return outcome.data
  }
}
