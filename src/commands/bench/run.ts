import {ClientCommand} from '../../client/command.js'
import {type BenchFlags, backlogFlag, bench__execute, commonFlags, drainFlag, publishFlags, subscribeFlags} from '../../bench/cli.js'
import type {BenchResult} from '../../bench/types.js'
import type {CompareResult} from '../../bench/compare.js'

export default class BenchRun extends ClientCommand {
  static override summary = 'Publish and subscribe at once: throughput, end-to-end latency, loss, duplicates, order'
  static override description =
    'Connects the subscribers, then the publishers, publishes for --duration seconds or --count messages per ' +
    'publisher, waits for the last deliveries, and reports delivered messages per second, latency percentiles from ' +
    'the timestamp in every payload, and per-publisher loss, duplicates and out-of-order deliveries. With no broker ' +
    'named (-h/-p/-L), an mqttkit broker is started on a free loopback port for the run.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -h 127.0.0.1 -p 1883 --publishers 10 --subscribers 1 --qos 0 --duration 10 --json',
    '<%= config.bin %> <%= command.id %> --publishers 1 --subscribers 100 --rate 100 -o report.html',
    '<%= config.bin %> <%= command.id %> --qos 1 --compare mqttkit mqtt://127.0.0.1:1883 --rounds 3',
  ]
  static override flags = {...commonFlags, ...publishFlags, ...subscribeFlags, ...backlogFlag, ...drainFlag}

  async run(): Promise<BenchResult | {compare: CompareResult}> {
    const {flags} = await this.parse(BenchRun)
    const outcome = await bench__execute('run', flags as BenchFlags, this.jsonEnabled())
    if (!this.jsonEnabled()) this.log(outcome.text)
    else if (outcome.exitCode) this.logJson(outcome.data)
    if (outcome.exitCode) this.exit(outcome.exitCode)
    return outcome.data
  }
}
