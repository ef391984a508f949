import {Flags} from '@oclif/core'
import chalk from 'chalk'

import {ClientCommand} from '../client/command.js'
import {connectionFlags, type ConnectionFlagValues} from '../client/flags.js'
import {client__mqttOptions, client__settingsFromFlags} from '../client/options.js'
import {spinner__create} from '../client/spinner.js'
import {checks__select} from '../doctor/checks/index.js'
import {DEFAULT_PORTS} from '../doctor/checks/ports.js'
import {platform__isLoopback} from '../doctor/platform/listeners.js'
import {report__render} from '../doctor/report.js'
import {doctor__exitCode, doctor__run} from '../doctor/runner.js'
import type {DoctorOptions, DoctorPlatform, DoctorReport, DoctorTarget} from '../doctor/types.js'

// Giving any of these means "test this broker"; without them doctor looks at the machine only.
const TARGET_FLAGS = ['url', 'host', 'username', 'password', 'tls', 'cafile', 'cert'] as const

export default class Doctor extends ClientCommand {
  static override summary = 'Find out why MQTT does not work on this machine, and how to fix it'
  static override description = `Checks the MQTT ports (who holds them, what answers there), background mosquitto services, Docker containers, Node.js and the open-file limit; given --url or --host it also tests that broker step by step: DNS, TCP, TLS certificate, CONNECT with your credentials, publish/subscribe round trips at QoS 0/1/2, retained messages and MQTT 5 capabilities.

Exit codes: 0 all fine, 1 warnings (only with --strict), 2 failures.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 1884',
    '<%= config.bin %> <%= command.id %> -h broker.local -u alice -P secret',
    '<%= config.bin %> <%= command.id %> --url mqtts://broker.example.com:8883 --cafile ca.crt',
    '<%= config.bin %> <%= command.id %> --json --strict',
    '<%= config.bin %> <%= command.id %> --store redis://127.0.0.1:6379/0 --check cluster',
  ]

  static override flags = {
    ...doctorConnectionFlags(),
    // Doctor's -p is repeatable: every port named is inspected locally; the first is also the broker's port.
    port: Flags.integer({
      char: 'p',
      description: 'a port to inspect besides 1883/8883/8083/8084/8000 (repeatable); the first is also the port of the broker under test',
      min: 1,
      max: 65_535,
      multiple: true,
      helpGroup: 'CONNECTION',
    }),
    'default-ports': Flags.boolean({
      allowNo: true,
      default: true,
      description: 'inspect the well-known MQTT ports; --no-default-ports inspects only --port ones',
    }),
    local: Flags.boolean({allowNo: true, default: true, description: 'check this machine (ports, services, Docker, limits); --no-local tests only the broker'}),
    check: Flags.string({description: 'run only checks whose id starts with this (repeatable): node, ports, mosquitto, docker, file-limit, websocket, target…', multiple: true}),
    connections: Flags.integer({description: 'connections you expect a broker here to serve (compared with the open-file limit)', default: 1000, min: 1}),
    timeout: Flags.integer({description: 'seconds to wait for each network step', default: 5, min: 1}),
    'test-topic': Flags.string({description: 'topic prefix for the round-trip tests (for brokers whose ACLs allow only some topics)', default: 'mqttkit/doctor'}),
    store: Flags.string({description: 'a cluster\'s Redis (redis://host:port/db): check it answers and list the broker nodes alive there', env: 'MQTTKIT_STORE'}),
    'cluster-name': Flags.string({description: 'with --store: the cluster name (key prefix) [default: mqttkit]', env: 'MQTTKIT_CLUSTER_NAME'}),
    strict: Flags.boolean({description: 'exit 1 when there are warnings (and no failures)'}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const ports = flags.port ?? []
    const conn: ConnectionFlagValues = {...flags, port: ports[0]}
    const wantsTarget = TARGET_FLAGS.some((f) => flags[f] !== undefined && flags[f] !== false)
    let target: DoctorTarget | undefined
    if (wantsTarget) {
      const settings = client__settingsFromFlags(conn, 'doctor')
      target = {...settings.target, clientOptions: client__mqttOptions(settings), protocolVersionGiven: settings.protocolVersionGiven}
    }
    // The broker's port is worth inspecting on this machine only when the broker is on this machine.
    const local = target === undefined || target.host === 'localhost' || platform__isLoopback(target.host)
    const inspected = local ? ports : ports.slice(1)
    const options: DoctorOptions = {
      platform: platformOf(process.platform),
      ports: [...new Set([...(flags['default-ports'] ? DEFAULT_PORTS : []), ...inspected])],
      extraPorts: inspected.filter((p) => !DEFAULT_PORTS.includes(p)),
      target,
      expectedConnections: flags.connections,
      timeoutMs: flags.timeout * 1000,
      local: flags.local,
      testTopic: flags['test-topic'],
      store: flags.store,
      clusterName: flags['cluster-name'],
    }

    const json = this.jsonEnabled()
    // The spinner goes to stderr and only on a terminal: piped output and --json stay clean. A pseudo-terminal
    // of width 0 (script(1), some CI runners) would make ora clear an unbounded number of lines, so it needs a width.
    const onTerminal = Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0
    const spinner = await spinner__create({text: 'checking…', stream: process.stderr, discardStdin: false}, !json && onTerminal)
    spinner.start()
    const running = new Set<string>()
    const report = await doctor__run(checks__select(flags.check), options, {
      onStart(check) {
        running.add(check.title)
        spinner.text = `checking ${[...running].join(', ')}…`
      },
      onResult(check) {
        running.delete(check.title)
        if (running.size > 0) spinner.text = `checking ${[...running].join(', ')}…`
      },
    })
    spinner.stop()

    if (!json) this.log(report__render(report))
    const code = doctor__exitCode(report, flags.strict)
    report.exitCode = code
    // process.exitCode (not this.exit) so oclif still prints the --json document and flushes output first.
    process.exitCode = code
    if (!json && code === 0 && report.summary.warn > 0) this.log(chalk.dim('warnings do not change the exit code without --strict'))
    return report
  }
}

/**
 * The shared connection flags minus those doctor has no use for: --timeout bounds its CONNECT, and its test
 * connections carry no will message.
 */
function doctorConnectionFlags() {
  const {
    'connect-timeout': _timeout,
    'will-topic': _topic,
    'will-payload': _payload,
    'will-qos': _qos,
    'will-retain': _retain,
    'will-delay': _delay,
    ...kept
  } = connectionFlags
  return kept
}

function platformOf(p: NodeJS.Platform): DoctorPlatform {
  return p === 'linux' || p === 'darwin' || p === 'win32' ? p : 'other'
}
