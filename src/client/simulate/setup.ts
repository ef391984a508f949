/**
 * From `pub --simulate`'s flags to the devices' sources, checked before anything connects: a bad shape, template
 * or replay file is exit 1 with one line, never a half-started simulation.
 */
import {topic__validateName} from '../../broker/topics/validate.js'
import {duration__parseMs} from '../duration.js'
import {ClientError, ExitCode} from '../errors.js'
import type {SimulateFlagValues} from './flags.js'
import {replay__read} from './replay.js'
import {shape__generator, shape__seededRandom, shapeNames, type ShapeName} from './shapes.js'
import {source__replay, source__wave, type DeviceSource} from './sources.js'
import {simTemplate__compile} from './template.js'

export interface SimulateSetup {
  /** The shape's name, or "replay". */
  shape: ShapeName | 'replay'
  sources: DeviceSource[]
  devices: number
  shared: boolean
  /** Messages per second per device (undefined for a replay). */
  rate?: number
  count?: number
  durationMs?: number
}

function positive(value: number | undefined, flag: string): number | undefined {
  if (value !== undefined && value <= 0) throw new ClientError(`${flag} must be above 0, not ${value}`, ExitCode.usage)
  return value
}

function replaySetup(flags: SimulateFlagValues, file: string, base: Omit<SimulateSetup, 'shape' | 'sources'>): SimulateSetup {
  if (file === '') throw new ClientError('--simulate replay: needs a file: replay:messages.jsonl', ExitCode.usage)
  if ((flags.clients ?? 1) > 1) throw new ClientError('--simulate replay: sends one recording once: drop --clients', ExitCode.usage)
  for (const flag of ['rate', 'amplitude', 'period', 'offset', 'noise', 'phase-spread', 'step', 'min', 'max', 'template'] as const) {
    if (flags[flag] !== undefined) throw new ClientError(`--${flag} has no meaning for a replay`, ExitCode.usage)
  }
  const speed = positive(flags.speed, '--speed') ?? 1
  if (flags.topic !== undefined && flags.topic.includes('%')) {
    throw new ClientError('a replay takes a plain -t (it replaces the recorded topics)', ExitCode.usage)
  }
  const records = replay__read(file)
  return {...base, shape: 'replay', devices: 1, sources: [source__replay(records, speed, flags.topic)]}
}

export function simulate__setupFromFlags(flags: SimulateFlagValues): SimulateSetup {
  const spec = flags.simulate!
  const durationMs = flags.duration === undefined ? undefined : duration__parseMs(flags.duration, '--duration')
  const base = {devices: flags.clients ?? 1, shared: flags['shared-connection'] === true, count: flags.count, durationMs}
  if (spec.startsWith('replay:')) return replaySetup(flags, spec.slice('replay:'.length), base)
  if (!(shapeNames as readonly string[]).includes(spec)) {
    throw new ClientError(`--simulate: unknown shape "${spec}" (use ${shapeNames.join(', ')} or replay:FILE)`, ExitCode.usage)
  }
  const shape = spec as ShapeName
  if (flags.speed !== undefined) throw new ClientError('--speed is for replay:FILE only', ExitCode.usage)
  const topicSource = flags.topic
  if (topicSource === undefined) throw new ClientError("missing topic: give -t TOPIC (%i = device number, e.g. 'sensors/%i')", ExitCode.usage)
  const topic = simTemplate__compile(topicSource, '-t')
  if ([...topic.uses].some((p) => p !== '%i')) throw new ClientError('-t takes %i (the device number) and no other placeholder', ExitCode.usage)
  const problem = topic__validateName(topicSource.replaceAll('%i', '1'))
  if (problem !== null) throw new ClientError(`bad topic "${topicSource}": ${problem}`, ExitCode.usage)
  const payload = flags.template === undefined ? undefined : simTemplate__compile(flags.template, '--template')

  const rate = positive(flags.rate, '--rate') ?? 1
  const amplitude = flags.amplitude ?? 1
  const offset = flags.offset ?? 0
  const noise = flags.noise ?? 0
  if (noise < 0) throw new ClientError(`--noise must not be negative, not ${noise}`, ExitCode.usage)
  const period = flags.period === undefined ? 10 : duration__parseMs(flags.period, '--period') / 1000
  const min = flags.min ?? offset - Math.abs(amplitude)
  const max = flags.max ?? offset + Math.abs(amplitude)
  if (min > max) throw new ClientError(`--min ${min} is above --max ${max}`, ExitCode.usage)
  const step = flags.step ?? (shape === 'random-walk' ? Math.abs(amplitude) / 10 : 1)
  const spread = flags['phase-spread'] ?? 1
  const sources = Array.from({length: base.devices}, (_, d) =>
    source__wave({
      generator: shape__generator(shape, {
        amplitude, period, offset, noise, step, min, max,
        // One seeded sequence per device: the order devices send in must not change their values.
        random: flags.seed === undefined ? Math.random : shape__seededRandom(flags.seed + d),
        phase: ((spread * d) / base.devices) % 1,
        decimals: flags.decimals ?? 3,
      }),
      device: d + 1,
      rate,
      staggerMs: (d * 1000) / rate / base.devices,
      topic,
      payload,
    }),
  )
  return {...base, shape, sources, rate}
}
