import {createWriteStream, openSync, type WriteStream} from 'node:fs'
import {Flags} from '@oclif/core'
import chalk, {chalkStderr} from 'chalk'
import {topic__validateFilter} from '../broker/topics/validate.js'
import {ClientCommand} from '../client/command.js'
import {client__close, client__connect, client__keepReconnecting} from '../client/connect.js'
import {ClientError, ExitCode} from '../client/errors.js'
import {connectionFlags} from '../client/flags.js'
import {client__protocolVersionName, client__settingsFromFlags} from '../client/options.js'
import {output__formatter} from '../client/output.js'
import {payloadFormats, type PayloadFormat} from '../client/payload.js'
import {propertyFlag, properties__any, properties__fromFlags, userPropertyFlag} from '../client/properties.js'
import {record__jsonl} from '../client/record.js'
import {chartFlags} from '../client/chart/flags.js'
import type {ChartScreen} from '../client/chart/screen.js'
import {duration__parseMs} from '../client/duration.js'
import {subscriber__run, type StopReason} from '../client/subscriber.js'
import {template__compile} from '../client/template.js'

export interface SubResult {
  subscriptions: {topic: string; qos: number}[]
  /** Messages printed (or collected with --json). */
  count: number
  received: number
  cleared: number
  stoppedBy: StopReason
  protocolVersion: string
  messages?: Record<string, unknown>[]
}

const OUT = 'OUTPUT'
const SUB = 'SUBSCRIPTION'

export default class Sub extends ClientCommand {
  static override summary = 'Subscribe to topics and print the messages'

  static override description = `Prints each message as it arrives: readable and coloured on a terminal, exactly like
mosquitto_sub in a pipe (payload, or "topic payload" with -v), as -F templates or as JSON lines (--jsonl); or, with
--chart, as a live full-screen chart of numeric payloads.
Reconnects with back-off when the connection drops (notes on stderr). Ctrl-C exits 0.
Exit codes: 0 done, 1 bad flags, 2 network failure, 3 refused by the broker, 4 -W ended before -C messages.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -t "sensors/#" -v',
    '<%= config.bin %> <%= command.id %> -t a -t b -C 10 -W 30 --jsonl > messages.jsonl',
    '<%= config.bin %> <%= command.id %> -t "#" -F "%I %t %l bytes: %p"',
    '<%= config.bin %> <%= command.id %> -t "config/#" --retained-only --remove-retained',
    '<%= config.bin %> <%= command.id %> -L mqtts://broker.example.com:8883/alerts --cafile ca.pem -q 1',
    '<%= config.bin %> <%= command.id %> -t "telemetry/+" --format hex -v --no-local --retain-handling 2',
    '<%= config.bin %> <%= command.id %> -t "sensors/#" --chart --field data.temp --window 5m',
  ]

  static override flags = {
    ...connectionFlags,
    topic: Flags.string({char: 't', description: 'topic filter to subscribe to (+ and # allowed); repeat for more', multiple: true, multipleNonGreedy: true, helpGroup: SUB}),
    qos: Flags.integer({char: 'q', description: 'maximum QoS to receive', min: 0, max: 2, default: 0, helpGroup: SUB}),
    'no-local': Flags.boolean({aliases: ['nl'], description: 'MQTT 5: do not receive my own publications', helpGroup: SUB}),
    'retain-as-published': Flags.boolean({aliases: ['rap'], description: 'MQTT 5: keep the retain flag as the publisher set it', helpGroup: SUB}),
    'retain-handling': Flags.integer({aliases: ['rh'], description: 'MQTT 5: 0 send retained messages, 1 only for new subscriptions, 2 never', min: 0, max: 2, default: 0, helpGroup: SUB}),
    'subscription-identifier': Flags.integer({description: 'MQTT 5 subscription identifier (shown by %S and --jsonl)', min: 1, max: 268_435_455, helpGroup: SUB}),
    'user-property': userPropertyFlag,
    property: propertyFlag,
    count: Flags.integer({char: 'C', description: 'exit after this many messages', min: 1, helpGroup: SUB}),
    timeout: Flags.integer({char: 'W', description: 'exit after this many seconds (exit code 4 if -C was not reached)', min: 1, helpGroup: SUB}),
    'no-retained': Flags.boolean({char: 'R', description: 'skip messages that carry the retain flag (stale retained ones)', helpGroup: SUB, exclusive: ['retained-only']}),
    'retained-only': Flags.boolean({description: 'print retained messages only, exit at the first live one', helpGroup: SUB}),
    'remove-retained': Flags.boolean({description: 'clear every retained message received (publish an empty retained message)', helpGroup: SUB}),
    reconnect: Flags.boolean({allowNo: true, default: true, description: 'reconnect with back-off when the connection drops; --no-reconnect exits 2', helpGroup: SUB}),
    verbose: Flags.boolean({char: 'v', description: 'print the topic before the payload', helpGroup: OUT}),
    template: Flags.string({char: 'F', description: 'output template: %t topic, %p payload, %q, %r, %l, %j, %I… (docs/cli.md)', helpGroup: OUT, exclusive: ['jsonl']}),
    format: Flags.string({description: 'how payloads are shown: text (raw bytes), json, hex, base64', options: [...payloadFormats], default: 'text', helpGroup: OUT}),
    jsonl: Flags.boolean({description: 'one JSON object per message: time, topic, qos, retain, payload, encoding, properties', helpGroup: OUT}),
    'no-newline': Flags.boolean({char: 'N', description: 'no newline after each message', helpGroup: OUT}),
    output: Flags.string({char: 'o', description: 'append messages to this file instead of stdout (plain, no colours)', helpGroup: OUT}),
    ...chartFlags,
    debug: Flags.boolean({char: 'd', description: 'print every MQTT packet sent and received on stderr'}),
    quiet: Flags.boolean({description: 'no notes on stderr (errors still print)'}),
  }

  async run(): Promise<SubResult> {
    const {flags} = await this.parse(Sub)
    this.quiet = flags.quiet
    const settings = client__settingsFromFlags(flags, 'sub')
    const filters = flags.topic ?? (settings.target.urlTopic === undefined ? [] : [settings.target.urlTopic])
    if (filters.length === 0) throw new ClientError('missing topic: give -t FILTER (repeat for more)', ExitCode.usage)
    for (const filter of filters) {
      const problem = topic__validateFilter(filter)
      if (problem !== null) throw new ClientError(`bad topic filter "${filter}": ${problem}`, ExitCode.usage)
    }
    const props = properties__fromFlags(flags, ['connect', 'subscribe', 'will'], 'subscribe')
    const v5Options = flags['no-local'] || flags['retain-as-published'] || flags['retain-handling'] !== 0
    if ((properties__any(props) || v5Options) && settings.protocolVersion !== 5) {
      throw new ClientError('MQTT 5 properties and subscription options need MQTT 5 (drop -V or use -V 5)', ExitCode.usage)
    }
    const format = flags.format as PayloadFormat
    const template = flags.template === undefined ? undefined : template__compile(flags.template)
    const file = flags.output === undefined ? undefined : openOutput(flags.output)
    const json = this.jsonEnabled()
    const forced = process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0'
    const render = output__formatter({
      verbose: flags.verbose,
      format,
      template,
      jsonl: flags.jsonl,
      noNewline: flags['no-newline'],
      pretty: file === undefined && (process.stdout.isTTY === true || forced),
      colorLevel: file === undefined ? chalk.level : 0,
    })
    const collected: Record<string, unknown>[] = []
    const sink = file ?? process.stdout
    const chartWindowMs = flags.chart ? chartChecks(json, flags.window) : 0
    // Notes go to stderr, or into the chart's side panel once it owns the screen.
    let notify = this.notice
    const notice = (line: string): void => notify(line)

    const connection = await client__connect(settings, {
      spinner: this.wantsSpinner(),
      notice: this.notice,
      connectProperties: props.connect,
      willProperties: props.will,
      debug: flags.debug ? (line) => process.stderr.write(`${chalkStderr.dim(line)}\n`) : undefined,
    })
    const {client, version} = connection
    const where = settings.target.display
    if (flags.reconnect) client__keepReconnecting(client, version, notice, where)
    else client.on('error', () => {})
    if (version !== 5 && (properties__any(props) || v5Options)) {
      this.notice('the broker speaks MQTT 3.1.1: MQTT 5 properties and subscription options are not sent')
    }
    const controller = new AbortController()
    const interrupt = (): void => controller.abort()
    process.once('SIGINT', interrupt)
    process.once('SIGTERM', interrupt)
    // `sub | head -1`: the reader went away, which is a normal way to stop.
    const onPipeError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EPIPE') controller.abort()
    }
    process.stdout.on('error', onPipeError)
    let chart: ChartScreen | undefined
    try {
      if (flags.chart) {
        chart = await openChart(filters, flags.field, chartWindowMs, flags['series-max'] ?? 8, chalk.level > 0)
        void chart.quit.then(() => controller.abort())
        notify = chart.note
      }
      const screen = chart
      const result = await subscriber__run(
        connection,
        {
          filters,
          qos: flags.qos as 0 | 1 | 2,
          noLocal: flags['no-local'],
          retainAsPublished: flags['retain-as-published'],
          retainHandling: flags['retain-handling'] as 0 | 1 | 2,
          properties: props.subscribe,
          count: flags.count,
          timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
          skipRetained: flags['no-retained'],
          retainedOnly: flags['retained-only'],
          removeRetained: flags['remove-retained'],
          reconnect: flags.reconnect,
          signal: controller.signal,
          deliver: screen
            ? (m) => screen.add(m.topic, m.payload, m.timeMs)
            : json
              ? (m) => collected.push(record__jsonl(m, format))
              : (m) => {
                  sink.write(render(m))
                },
        },
        version,
        notice,
      )
      chart?.close()
      notify = this.notice
      if (process.stderr.isTTY && result.stoppedBy === 'timeout') this.notice(`-W ${flags.timeout}s elapsed`)
      await client__close(client)
      if (file) await new Promise<void>((resolve) => file.end(resolve))
      if (result.stoppedBy === 'lost') throw new ClientError(`connection to ${where} lost (--no-reconnect)`, ExitCode.network)
      const summary: SubResult = {
        subscriptions: result.granted,
        count: result.delivered,
        received: result.received,
        cleared: result.cleared,
        stoppedBy: result.stoppedBy,
        protocolVersion: client__protocolVersionName(version),
      }
      if (json) summary.messages = collected
      if (result.stoppedBy === 'timeout' && flags.count !== undefined) {
        const message = `timed out after ${flags.timeout}s with ${result.delivered} of ${flags.count} message(s)`
        if (json) this.logJson({...summary, error: {message, exitCode: ExitCode.timeout}})
        else process.stderr.write(`${chalkStderr.red('Error:')} ${message}\n`)
        return this.exit(ExitCode.timeout)
      }
      return summary
    } finally {
      chart?.close()
      process.removeListener('SIGINT', interrupt)
      process.removeListener('SIGTERM', interrupt)
      process.stdout.removeListener('error', onPipeError)
      if (!client.disconnected) client.end(true)
    }
  }
}

/** --chart's refusals, before anything connects; returns the window in ms. */
function chartChecks(json: boolean, window: string | undefined): number {
  if (json) throw new ClientError('--chart draws on the terminal: drop --json (or record with --jsonl)', ExitCode.usage)
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    const which = process.stdout.isTTY === true ? 'stdin' : 'stdout'
    throw new ClientError(`--chart needs a terminal (${which} is not one); to record messages use --jsonl instead`, ExitCode.usage)
  }
  return window === undefined ? 60_000 : duration__parseMs(window, '--window')
}

/** The chart and its drawing library are loaded here only, so sub without --chart never pays for them. */
async function openChart(filters: string[], field: string | undefined, windowMs: number, seriesMax: number, color: boolean): Promise<ChartScreen> {
  const [{chart__open}, {chart__parseField}] = await Promise.all([import('../client/chart/screen.js'), import('../client/chart/extract.js')])
  return chart__open({
    input: process.stdin,
    output: process.stdout,
    windowMs,
    seriesMax,
    field: field === undefined ? undefined : chart__parseField(field),
    title: field === undefined ? filters.join(' ') : `${filters.join(' ')} · field ${field}`,
    color,
  })
}

function openOutput(path: string): WriteStream {
  try {
    return createWriteStream(path, {fd: openSync(path, 'a')})
  } catch (error) {
    const e = error as NodeJS.ErrnoException
    throw new ClientError(`cannot write --output ${path}: ${e.code ?? e.message}`, ExitCode.usage)
  }
}
