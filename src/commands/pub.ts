import {Flags, type Interfaces} from '@oclif/core'
import {chalkStderr} from 'chalk'
import {topic__validateName} from '../broker/topics/validate.js'
import {ClientCommand} from '../client/command.js'
import {client__close, client__connect} from '../client/connect.js'
import {ClientError, ExitCode} from '../client/errors.js'
import {connectionFlags} from '../client/flags.js'
import {input__lines, input__readPayload, type PayloadSource} from '../client/input.js'
import {client__protocolVersionName, client__settingsFromFlags} from '../client/options.js'
import {payloadFormats} from '../client/payload.js'
import {properties__any, properties__fromFlags, publishPropertyFlags} from '../client/properties.js'
import {publisher__checkLimits, publisher__run, type PublishPlan} from '../client/publisher.js'
import type {ClientSettings} from '../client/options.js'
import {simulateFlags} from '../client/simulate/flags.js'
import type {SimulateSummary} from '../client/simulate/session.js'

export interface PubResult {
  topic: string
  qos: number
  retain: boolean
  messages: number
  bytes: number
  /** Acknowledged by the broker (QoS 1/2) or written to the socket (QoS 0). */
  completed: number
  protocolVersion: string
  interrupted: boolean
}

const INPUT = 'MESSAGE'

export default class Pub extends ClientCommand {
  static override summary = 'Publish messages to an MQTT broker'

  static override description = `Sends one message (-m, -f, -s, -n), a message per line of stdin (-l, streamed), or
the same message --repeat times; with --simulate, N fake devices publishing waveforms, counters, random walks or a
replayed recording. At QoS 1 and 2 it exits only once the broker acknowledged every message.
Exit codes: 0 done, 1 bad flags or input, 2 network failure, 3 refused by the broker, 4 timeout, 130 Ctrl-C.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -t sensors/temp -m 21.5',
    '<%= config.bin %> <%= command.id %> -h broker.local -t cmd/reboot -n -q 1',
    '<%= config.bin %> <%= command.id %> -L mqtts://user:secret@broker.example.com/alerts -m "disk full"',
    'tail -f app.log | <%= config.bin %> <%= command.id %> -t logs/app -l -q 1',
    '<%= config.bin %> <%= command.id %> -t firmware/blob -f image.bin -q 2',
    '<%= config.bin %> <%= command.id %> -t data -m 48656c6c6f --format hex',
    '<%= config.bin %> <%= command.id %> -t req -m "{}" --content-type application/json --response-topic res --user-property app=demo',
    '<%= config.bin %> <%= command.id %> -t ping -m hi --repeat 10 --interval 500',
    "<%= config.bin %> <%= command.id %> --simulate sine -t 'sensors/%i' --clients 10 --rate 5 --amplitude 5 --offset 20",
    `<%= config.bin %> <%= command.id %> --simulate random-walk -t 'plant/%i/temp' --template '{"ts": %ts, "temp": %v, "id": "%i"}'`,
    '<%= config.bin %> <%= command.id %> --simulate replay:recording.jsonl --speed 2',
  ]

  static override flags = {
    ...connectionFlags,
    topic: Flags.string({char: 't', description: 'topic to publish to (no + or #)', helpGroup: INPUT}),
    message: Flags.string({char: 'm', description: 'message payload', helpGroup: INPUT, exclusive: ['file', 'stdin', 'stdin-line', 'null']}),
    file: Flags.string({char: 'f', description: 'send the contents of a file (byte for byte) as one message', helpGroup: INPUT, exclusive: ['stdin', 'stdin-line', 'null']}),
    stdin: Flags.boolean({char: 's', aliases: ['stdin-file'], description: 'send all of stdin as one message', helpGroup: INPUT, exclusive: ['stdin-line', 'null']}),
    'stdin-line': Flags.boolean({char: 'l', description: 'send each line of stdin as a message, as lines arrive (empty lines skipped)', helpGroup: INPUT, exclusive: ['null']}),
    null: Flags.boolean({char: 'n', aliases: ['null-message'], description: 'send an empty (zero-length) message', helpGroup: INPUT}),
    format: Flags.string({description: 'how the payload is written: text (bytes as given), json (checked), hex, base64', options: [...payloadFormats], default: 'text', helpGroup: INPUT}),
    qos: Flags.integer({char: 'q', description: 'quality of service', min: 0, max: 2, default: 0, helpGroup: INPUT}),
    retain: Flags.boolean({char: 'r', description: 'ask the broker to retain the message', helpGroup: INPUT}),
    repeat: Flags.integer({description: 'send the message this many times', min: 1, default: 1, helpGroup: INPUT}),
    interval: Flags.integer({description: 'milliseconds between messages (with --repeat or -l)', min: 0, helpGroup: INPUT, exclusive: ['repeat-delay']}),
    'repeat-delay': Flags.string({description: 'seconds between repeated messages (mosquitto spelling; fractions allowed)', helpGroup: INPUT}),
    ...publishPropertyFlags,
    ...simulateFlags,
    debug: Flags.boolean({char: 'd', description: 'print every MQTT packet sent and received on stderr'}),
    quiet: Flags.boolean({description: 'no notes or summary on stderr (errors still print)'}),
  }

  async run(): Promise<PubResult | SimulateSummary> {
    const {flags} = await this.parse(Pub)
    this.quiet = flags.quiet
    const settings = client__settingsFromFlags(flags, 'pub')
    if (flags.simulate !== undefined) return this.simulate(flags, settings)
    const topic = flags.topic ?? settings.target.urlTopic
    if (topic === undefined) throw new ClientError('missing topic: give -t TOPIC (or a topic in the -L URL path)', ExitCode.usage)
    const topicProblem = topic__validateName(topic)
    if (topicProblem !== null) throw new ClientError(`bad topic "${topic}": ${topicProblem}`, ExitCode.usage)
    const source = payloadSource(flags)
    if (source.kind === 'lines' && flags.repeat > 1) throw new ClientError('--repeat cannot be combined with -l', ExitCode.usage)
    const intervalMs = flags.interval ?? repeatDelayMs(flags['repeat-delay'])
    const format = flags.format as (typeof payloadFormats)[number]

    const props = properties__fromFlags(flags, ['connect', 'publish', 'will'], 'publish')
    if (properties__any(props) && settings.protocolVersion !== 5) {
      throw new ClientError('MQTT 5 properties need MQTT 5 (drop -V or use -V 5)', ExitCode.usage)
    }
    // Read a single payload before connecting: bad input fails without touching the network.
    const single = source.kind === 'lines' ? undefined : await input__readPayload(source, format, process.stdin)

    const {client, connack, version} = await client__connect(settings, {
      spinner: this.wantsSpinner(),
      notice: this.notice,
      connectProperties: props.connect,
      willProperties: props.will,
      debug: flags.debug ? (line) => process.stderr.write(`${chalkStderr.dim(line)}\n`) : undefined,
    })
    const controller = new AbortController()
    const stopOnSignal = (): void => {
      controller.abort()
      if (source.kind !== 'message') process.stdin.destroy()
    }
    process.once('SIGINT', stopOnSignal)
    process.once('SIGTERM', stopOnSignal)
    try {
      if (version !== 5 && properties__any(props)) this.notice('the broker speaks MQTT 3.1.1: MQTT 5 properties are not sent')
      const plan: PublishPlan = {
        topic,
        qos: flags.qos as 0 | 1 | 2,
        retain: flags.retain === true,
        properties: version === 5 ? props.publish : {},
        payloads: single === undefined ? input__lines(process.stdin, format) : repeat(single, flags.repeat),
        intervalMs,
        signal: controller.signal,
      }
      publisher__checkLimits(plan, connack)

      const result = await publisher__run(client, plan, settings.target.display, connack.properties?.receiveMaximum, version)
      await client__close(client)
      const summary: PubResult = {
        topic,
        qos: flags.qos,
        retain: flags.retain === true,
        messages: result.messages,
        bytes: result.bytes,
        completed: result.completed,
        protocolVersion: client__protocolVersionName(version),
        interrupted: result.interrupted,
      }
      if (result.interrupted) {
        this.notice(`interrupted after ${result.completed} of ${result.messages} message(s) completed`)
        if (this.jsonEnabled()) this.logJson(summary)
        return this.exit(ExitCode.interrupted)
      }
      if (process.stderr.isTTY) {
        const acked = flags.qos > 0 ? ', all acknowledged' : ''
        this.notice(`published ${result.messages} message(s), ${result.bytes} bytes, to ${topic} (QoS ${flags.qos}${acked})`)
      }
      return summary
    } finally {
      process.removeListener('SIGINT', stopOnSignal)
      process.removeListener('SIGTERM', stopOnSignal)
      if (!client.disconnected) client.end(true)
    }
  }

  /** `--simulate`: simulated devices instead of given messages (src/client/simulate/, loaded only here). */
  private async simulate(flags: PubFlags, settings: ClientSettings): Promise<SimulateSummary> {
    if (flags.repeat > 1) throw new ClientError('--repeat cannot be combined with --simulate (use --count)', ExitCode.usage)
    const props = properties__fromFlags(flags, ['connect', 'publish', 'will'], 'publish')
    if (Object.keys(props.publish).length > 0) {
      throw new ClientError('--simulate sends no MQTT 5 publish properties: drop them', ExitCode.usage)
    }
    const [{simulate__setupFromFlags}, {simulate__start}] = await Promise.all([
      import('../client/simulate/setup.js'),
      import('../client/simulate/session.js'),
    ])
    const setup = simulate__setupFromFlags(flags)
    if (setup.devices > 1 && flags.topic !== undefined && !flags.topic.includes('%i')) {
      this.notice(`all ${setup.devices} devices publish to "${flags.topic}" (put %i in -t for one topic per device)`)
    }
    const controller = new AbortController()
    const stop = (): void => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const summary = await simulate__start(
        settings,
        setup,
        {topic: flags.topic, qos: flags.qos as 0 | 1 | 2, retain: flags.retain === true},
        {
          status: this.wantsSpinner(),
          signal: controller.signal,
          connect: {
            spinner: false,
            notice: this.notice,
            connectProperties: props.connect,
            willProperties: props.will,
            debug: flags.debug ? (line) => process.stderr.write(`${chalkStderr.dim(line)}\n`) : undefined,
          },
        },
      )
      if (process.stderr.isTTY) {
        this.notice(`${summary.messages} message(s) from ${summary.devices} device(s) in ${(summary.elapsedMs / 1000).toFixed(1)}s (${summary.rate} msg/s)`)
      }
      // Ctrl-C is how an endless simulation ends (exit 0); one cut short of its --count or --duration exits 130.
      if (summary.stoppedBy === 'interrupted' && (setup.count !== undefined || setup.durationMs !== undefined)) {
        if (this.jsonEnabled()) this.logJson(summary)
        return this.exit(ExitCode.interrupted)
      }
      return summary
    } finally {
      process.removeListener('SIGINT', stop)
      process.removeListener('SIGTERM', stop)
    }
  }
}

type PubFlags = Interfaces.InferredFlags<(typeof Pub)['flags']>

function payloadSource(flags: {message?: string; file?: string; stdin: boolean; 'stdin-line': boolean; null: boolean}): PayloadSource {
  if (flags.message !== undefined) return {kind: 'message', text: flags.message}
  if (flags.file !== undefined) return {kind: 'file', path: flags.file}
  if (flags.stdin) return {kind: 'stdin'}
  if (flags['stdin-line']) return {kind: 'lines'}
  if (flags.null) return {kind: 'null'}
  throw new ClientError('nothing to send: give -m MESSAGE, -f FILE, -s, -l or -n', ExitCode.usage)
}

function repeatDelayMs(seconds: string | undefined): number {
  if (seconds === undefined) return 0
  const value = Number(seconds)
  if (!Number.isFinite(value) || value < 0) throw new ClientError(`--repeat-delay needs seconds, not "${seconds}"`, ExitCode.usage)
  return Math.round(value * 1000)
}

async function* repeat(payload: Buffer, times: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < times; i++) yield payload
}
