import {Flags} from '@oclif/core'
import {ClientCommand} from '../../client/command.js'
import {type BenchFlags, bench__execute, commonFlags, subscribeFlags} from '../../bench/cli.js'
import type {BenchResult} from '../../bench/types.js'
import type {CompareResult} from '../../bench/compare.js'

export default class BenchSub extends ClientCommand {
  static override summary = 'Subscribing load: deliveries per second, and latency/loss of bench traffic'
  static override description =
    'S subscribers subscribe to a filter and count what arrives for --duration seconds (or until --count ' +
    'messages). Messages published by `bench pub` elsewhere carry a timestamp, publisher and sequence, so their ' +
    'latency, gaps (lost), duplicates and reordering are reported too; other messages are counted as other traffic.'
  static override examples = [
    "<%= config.bin %> <%= command.id %> -h 127.0.0.1 -t 'mqttkit/bench/#' --subscribers 10 --duration 30",
    "<%= config.bin %> <%= command.id %> -h 127.0.0.1 -t '$share/g/mqttkit/bench/#' --subscribers 4 --sub-qos 1",
  ]
  static override flags = {
    ...commonFlags,
    ...subscribeFlags,
    topic: Flags.string({char: 't', description: 'subscription filter (same as --filter)', exclusive: ['filter'], helpGroup: 'BENCH'}),
    count: Flags.integer({char: 'n', description: 'stop after this many bench messages were delivered', min: 1, helpGroup: 'BENCH'}),
  }

  async run(): Promise<BenchResult | {compare: CompareResult}> {
    const {flags} = await this.parse(BenchSub)
    const filter = flags.topic ?? flags.filter
    const outcome = await bench__execute('sub', {...flags, filter, topic: undefined} as BenchFlags, this.jsonEnabled())
    if (!this.jsonEnabled()) this.log(outcome.text)
    else if (outcome.exitCode) this.logJson(outcome.data)
    if (outcome.exitCode) this.exit(outcome.exitCode)
    return outcome.data
  }
}
