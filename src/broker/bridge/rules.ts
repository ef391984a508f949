/**
 * A bridge's topic rules as used per message: which rule a topic falls under in each direction, and the topic on
 * the other side (mosquitto's mapping: `localPrefix + pattern` here is `remotePrefix + pattern` there).
 */
import type {BridgeRule} from './config.js'

/** Whether `topic` matches `filter` (§4.7): `+` one level, `#` the rest; wildcards first never match `$` topics [MQTT-4.7.2-1]. */
export function rule__matches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

export interface CompiledRule extends BridgeRule {
  /** `localPrefix + pattern`: the filter subscribed on this broker (out) and the topics published here (in). */
  readonly localFilter: string
  readonly remoteFilter: string
}

export class BridgeRules {
  readonly out: CompiledRule[]
  readonly in: CompiledRule[]

  constructor(rules: BridgeRule[]) {
    const compiled = rules.map((r) => ({...r, localFilter: r.localPrefix + r.pattern, remoteFilter: r.remotePrefix + r.pattern}))
    this.out = compiled.filter((r) => r.direction !== 'in')
    this.in = compiled.filter((r) => r.direction !== 'out')
  }

  /** The first `out`/`both` rule a local topic falls under, or undefined. */
  outgoing(topic: string): CompiledRule | undefined {
    return this.out.find((r) => rule__matches(r.localFilter, topic))
  }

  incoming(topic: string): CompiledRule | undefined {
    return this.in.find((r) => rule__matches(r.remoteFilter, topic))
  }

  static toRemote(rule: CompiledRule, topic: string): string {
    return rule.remotePrefix + topic.slice(rule.localPrefix.length)
  }

  static toLocal(rule: CompiledRule, topic: string): string {
    return rule.localPrefix + topic.slice(rule.remotePrefix.length)
  }
}
