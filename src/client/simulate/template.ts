/**
 * `pub --simulate --template`: the payload of each generated message (the default is the bare value). Also used
 * for `--topic`, where `%i` tells the devices apart.
 *
 *   %v value   %i device number (1…N)   %n message number of this device (1, 2, …)   %t topic
 *   %ts Unix time in milliseconds   %iso ISO-8601 UTC time   %% a literal %
 * Longer names win (`%ts` is not `%t` followed by "s", `%iso` is not `%i` followed by "so").
 */
import {ClientError, ExitCode} from '../errors.js'

export interface SimulatedMessage {
  value: number
  device: number
  /** 1-based message number of this device. */
  n: number
  topic: string
  timeMs: number
}

type Part = string | ((m: SimulatedMessage) => string)

export interface SimulateTemplate {
  parts: Part[]
  /** Which placeholders it uses (a topic with %v would change on every message). */
  uses: Set<string>
}

const placeholders: Array<[string, (m: SimulatedMessage) => string]> = [
  ['%iso', (m) => new Date(m.timeMs).toISOString()],
  ['%ts', (m) => String(Math.floor(m.timeMs))],
  ['%v', (m) => String(m.value)],
  ['%i', (m) => String(m.device)],
  ['%n', (m) => String(m.n)],
  ['%t', (m) => m.topic],
]

export function simTemplate__compile(source: string, flag: string): SimulateTemplate {
  const parts: Part[] = []
  const uses = new Set<string>()
  let literal = ''
  let i = 0
  while (i < source.length) {
    if (source[i] !== '%') {
      literal += source[i]
      i += 1
      continue
    }
    if (source.startsWith('%%', i)) {
      literal += '%'
      i += 2
      continue
    }
    const found = placeholders.find(([name]) => source.startsWith(name, i))
    if (found === undefined) {
      const shown = /^%[A-Za-z]{0,3}/.exec(source.slice(i))![0]
      throw new ClientError(
        `${flag}: unknown placeholder "${shown}" (use %v %i %n %t %ts %iso, or %% for a literal %)`,
        ExitCode.usage,
      )
    }
    if (literal !== '') parts.push(literal)
    literal = ''
    parts.push(found[1])
    uses.add(found[0])
    i += found[0].length
  }
  if (literal !== '') parts.push(literal)
  return {parts, uses}
}

export function simTemplate__render(template: SimulateTemplate, m: SimulatedMessage): string {
  let out = ''
  for (const part of template.parts) out += typeof part === 'string' ? part : part(m)
  return out
}
