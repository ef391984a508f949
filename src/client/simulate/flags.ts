/**
 * `pub --simulate`'s flags (their meaning is in setup.ts, loaded only when --simulate is given).
 */
import {Flags} from '@oclif/core'

const GROUP = 'SIMULATE'

const numberFlag = Flags.custom<number>({
  helpGroup: GROUP,
  dependsOn: ['simulate'],
  async parse(input: string): Promise<number> {
    const value = Number(input)
    if (input.trim() === '' || !Number.isFinite(value)) throw new Error(`expected a number, not "${input}"`)
    return value
  },
})

export const simulateFlags = {
  simulate: Flags.string({
    description: 'publish generated values: sine, square, triangle, sawtooth, random-walk, counter or replay:FILE (a sub --jsonl recording)',
    helpValue: 'SHAPE|replay:FILE',
    helpGroup: GROUP,
    exclusive: ['message', 'file', 'stdin', 'stdin-line', 'null', 'interval', 'repeat-delay'],
  }),
  clients: Flags.integer({description: 'simulated devices, each on its own connection [default: 1]', min: 1, max: 10_000, helpGroup: GROUP, dependsOn: ['simulate']}),
  'shared-connection': Flags.boolean({description: 'all devices publish over one connection', helpGroup: GROUP, dependsOn: ['simulate']}),
  rate: numberFlag({description: 'messages per second per device [default: 1]'}),
  count: Flags.integer({description: 'stop after this many messages per device', min: 1, helpGroup: GROUP, dependsOn: ['simulate']}),
  duration: Flags.string({description: 'stop after this long (90, 90s, 2m, 500ms)', helpGroup: GROUP, dependsOn: ['simulate']}),
  amplitude: numberFlag({description: 'half the swing of the wave [default: 1]'}),
  period: Flags.string({description: 'length of one wave (10, 10s, 500ms) [default: 10s]', helpGroup: GROUP, dependsOn: ['simulate']}),
  offset: numberFlag({description: 'centre of the wave, start of counter and random-walk [default: 0]'}),
  noise: numberFlag({description: 'add uniform noise within ±this [default: 0]'}),
  'phase-spread': numberFlag({description: 'devices spread over this fraction of a period (0 = all in phase) [default: 1]'}),
  step: numberFlag({description: 'counter increment; largest random-walk move [default: 1 / amplitude÷10]'}),
  min: numberFlag({description: 'random-walk lower bound [default: offset - amplitude]'}),
  max: numberFlag({description: 'random-walk upper bound [default: offset + amplitude]'}),
  decimals: Flags.integer({description: 'round values to this many decimals [default: 3]', min: 0, max: 12, helpGroup: GROUP, dependsOn: ['simulate']}),
  seed: Flags.integer({description: 'seed for noise and random-walk (repeatable runs)', helpGroup: GROUP, dependsOn: ['simulate']}),
  speed: numberFlag({description: 'replay this many times faster than recorded [default: 1]'}),
  template: Flags.string({description: 'payload template: %v value, %i device, %n message number, %t topic, %ts ms, %iso time, %%', helpGroup: GROUP, dependsOn: ['simulate']}),
}

export interface SimulateFlagValues {
  topic?: string
  simulate?: string
  clients?: number
  'shared-connection'?: boolean
  rate?: number
  count?: number
  duration?: string
  amplitude?: number
  period?: string
  offset?: number
  noise?: number
  'phase-spread'?: number
  step?: number
  min?: number
  max?: number
  decimals?: number
  seed?: number
  speed?: number
  template?: string
}

