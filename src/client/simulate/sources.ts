/**
 * What one simulated device sends and when: a waveform at a fixed rate, or a replayed recording. The runner only
 * asks "when is message n due" and "what is it", so both kinds (and their tests) share one scheduler.
 */
import type {ReplayRecord} from './replay.js'
import type {Generator} from './shapes.js'
import {simTemplate__render, type SimulateTemplate} from './template.js'

export interface OutgoingMessage {
  topic: string
  payload: Buffer
}

export interface DeviceSource {
  /** Milliseconds after the run's start at which message `n` (0-based) is due; undefined when there is none. */
  dueMs(n: number): number | undefined
  message(n: number, timeMs: number): OutgoingMessage
}

export interface WaveSourceOptions {
  generator: Generator
  /** 1-based device number (%i). */
  device: number
  /** Messages per second. */
  rate: number
  /** Shift of this device's schedule, so N devices do not all send in the same millisecond. */
  staggerMs: number
  topic: SimulateTemplate
  /** Undefined: the bare value. */
  payload?: SimulateTemplate
}

export function source__wave(o: WaveSourceOptions): DeviceSource {
  const intervalMs = 1000 / o.rate
  // The topic cannot change between messages of a device (--topic accepts %i only), so it is rendered once.
  const topic = simTemplate__render(o.topic, {value: 0, device: o.device, n: 0, topic: '', timeMs: 0})
  return {
    dueMs: (n) => o.staggerMs + n * intervalMs,
    message(n, timeMs) {
      // The value follows the schedule, not the clock: message n is always the shape at n / rate seconds.
      const value = o.generator(n, n / o.rate)
      const text = o.payload === undefined
        ? String(value)
        : simTemplate__render(o.payload, {value, device: o.device, n: n + 1, topic, timeMs})
      return {topic, payload: Buffer.from(text, 'utf8')}
    },
  }
}

/** The recording at its own pace (`speed` 2 = twice as fast); `topic` replaces the recorded topics when given. */
export function source__replay(records: ReplayRecord[], speed: number, topic?: string): DeviceSource {
  return {
    dueMs: (n) => (n < records.length ? records[n]!.offsetMs / speed : undefined),
    message: (n) => ({topic: topic ?? records[n]!.topic, payload: records[n]!.payload}),
  }
}
