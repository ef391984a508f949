/**
 * `sub --chart`'s flags (the chart itself, and its drawing library, load only when --chart is given).
 */
import {Flags} from '@oclif/core'

const GROUP = 'CHART'

export const chartFlags = {
  chart: Flags.boolean({
    description: 'full-screen live chart of numeric payloads, one series per topic (a terminal only; q quits)',
    helpGroup: GROUP,
    exclusive: ['jsonl', 'template', 'output', 'no-newline', 'verbose'],
  }),
  field: Flags.string({description: 'chart this JSON field of each payload (temp, data.temp, values.0)', helpGroup: GROUP, dependsOn: ['chart']}),
  window: Flags.string({description: 'time shown, scrolling (60, 60s, 5m) [default: 60s]', helpGroup: GROUP, dependsOn: ['chart']}),
  'series-max': Flags.integer({description: 'at most this many series; later topics are listed as hidden [default: 8]', min: 1, max: 8, helpGroup: GROUP, dependsOn: ['chart']}),
}
