/**
 * One `pub --simulate` run as the command sees it: connect the devices, send, keep a live status line on a
 * terminal (ora: devices connected, messages sent, current rate), and return the summary `--json` prints.
 */
import ora, {type Ora} from 'ora'
import type {ConnectOptions} from '../connect.js'
import {client__protocolVersionName, type ClientSettings} from '../options.js'
import type {SimulateSetup} from './setup.js'
import {simulate__connect, simulate__run, type SimulateStats, type SimulateStop} from './runner.js'

export interface SimulateSummary {
  simulate: string
  topic?: string
  devices: number
  sharedConnection: boolean
  qos: number
  retain: boolean
  messages: number
  /** Acknowledged (QoS 1/2) or written (QoS 0). */
  completed: number
  bytes: number
  elapsedMs: number
  /** Messages per second over the run, all devices together. */
  rate: number
  /** The largest delay of a message behind its schedule, ms. */
  maxLagMs: number
  stoppedBy: SimulateStop
  protocolVersion: string
}

export interface SimulateIo {
  /** Show the live status line (a terminal on stderr, not --json nor --quiet). */
  status: boolean
  connect: ConnectOptions
  signal: AbortSignal
}

const statusEveryMs = 500

function statusText(setup: SimulateSetup, stats: SimulateStats, rate: number): string {
  const connected = `${stats.connected}/${stats.devices} device${stats.devices === 1 ? '' : 's'} connected`
  return `${setup.shape} · ${connected} · ${stats.messages.toLocaleString('en-US')} sent · ${rate.toFixed(1)} msg/s`
}

export async function simulate__start(
  settings: ClientSettings,
  setup: SimulateSetup,
  plan: {topic?: string; qos: 0 | 1 | 2; retain: boolean},
  io: SimulateIo,
): Promise<SimulateSummary> {
  const stats: SimulateStats = {devices: setup.devices, connected: 0, messages: 0, completed: 0, bytes: 0}
  let spinner: Ora | undefined
  let ticker: NodeJS.Timeout | undefined
  if (io.status) {
    spinner = ora({text: statusText(setup, stats, 0), stream: process.stderr, discardStdin: false}).start()
    let last = {at: performance.now(), messages: 0}
    ticker = setInterval(() => {
      const now = performance.now()
      const rate = ((stats.messages - last.messages) * 1000) / (now - last.at)
      last = {at: now, messages: stats.messages}
      spinner!.text = statusText(setup, stats, rate)
    }, statusEveryMs)
  }
  try {
    // The per-connection spinner would fight with the status line: this one speaks for all of them.
    const connections = await simulate__connect(settings, setup.devices, setup.shared, {...io.connect, spinner: false}, (n) => {
      stats.connected = n
      if (spinner) spinner.text = statusText(setup, stats, 0)
    })
    const result = await simulate__run(
      connections,
      {sources: setup.sources, qos: plan.qos, retain: plan.retain, count: setup.count, durationMs: setup.durationMs, signal: io.signal},
      settings.target.display,
      stats,
    )
    // --duration: the run lasted the time asked for, and the rate is over that time.
    const seconds = Math.max(result.elapsedMs, 1) / 1000
    return {
      simulate: setup.shape,
      topic: plan.topic,
      devices: setup.devices,
      sharedConnection: setup.shared,
      qos: plan.qos,
      retain: plan.retain,
      messages: result.messages,
      completed: result.completed,
      bytes: result.bytes,
      elapsedMs: Math.round(result.elapsedMs),
      rate: Math.round((result.messages / seconds) * 10) / 10,
      maxLagMs: Math.round(result.maxLagMs),
      stoppedBy: result.stoppedBy,
      protocolVersion: client__protocolVersionName(connections.version),
    }
  } finally {
    clearInterval(ticker)
    spinner?.stop()
  }
}
