import {ClientCommand} from '../../client/command.js'
import {type BenchFlags, bench__execute, commonFlags, drainFlag, publishFlags, subscribeFlags} from '../../bench/cli.js'
import type {BenchResult} from '../../bench/types.js'
import type {CompareResult} from '../../bench/compare.js'

export default class BenchPub extends ClientCommand {
  static override summary = 'Publishing load: messages per second a broker accepts, and publish-to-ack latency for QoS 1/2'
  static override description =
    'P publishers publish on a topic template (%i publisher index, %c counter) at --rate messages per second each ' +
    '(or as fast as the broker takes them), with up to --inflight unacknowledged QoS 1/2 messages each, for ' +
    '--duration seconds or --count messages. With no broker named (-h/-p/-L), an mqttkit broker is started on a ' +
    'free loopback port for the run.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> -h 127.0.0.1 --publishers 10 --qos 1 --inflight 64 --duration 10',
    "<%= config.bin %> <%= command.id %> -L mqtt://broker:1883 -t 'sensors/%i/%c' --rate 100 --publishers 1000",
    '<%= config.bin %> <%= command.id %> --workers 2 --publishers 20 --json',
  ]
  static override flags = {...commonFlags, ...publishFlags, ...drainFlag}

  async run(): Promise<BenchResult | {compare: CompareResult}> {
    const {flags} = await this.parse(BenchPub)
    const outcome = await bench__execute('pub', flags as BenchFlags, this.jsonEnabled())
    if (!this.jsonEnabled()) this.log(outcome.text)
    else if (outcome.exitCode) this.logJson(outcome.data)
    if (outcome.exitCode) this.exit(outcome.exitCode)
    return outcome.data
  }
}
