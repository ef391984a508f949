/**
 * Access control lists in the acl_file format MQTT users already know:
 *
 *   # rules before any `user` line apply to anonymous clients (no user name)
 *   topic read public/#
 *   user alice
 *   topic readwrite alice/#          # access: read | write | readwrite (default) | deny
 *   topic deny alice/secret/#
 *   pattern readwrite devices/%c/#   # every client, wherever the line is; %u = user name, %c = client id
 *
 * Decision for one topic: a matching `deny` rule refuses; otherwise any matching rule that grants the access
 * allows; otherwise refused (an ACL file is an allow-list). `#` and `+` in a rule match as in subscriptions,
 * including [MQTT-4.7.2-1]: a rule starting with a wildcard does not cover `$` topics (grant `$SYS/#` explicitly).
 *
 * A subscription is allowed when every topic its filter can match is readable by some rule (the filter is a
 * subset of a read rule) and no deny rule covers the whole filter; messages that reach it anyway are filtered one
 * by one at delivery (`canRead`), which is also how retained messages are filtered.
 *
 * Patterns using `%u` do not apply to clients without a user name. `%u`/`%c` are not substituted when the user
 * name or client id contains `/`, `+` or `#` (a client could otherwise reach another client's subtree): such a
 * client gets nothing from those rules, and deny rules that use them refuse everything to it (fail closed).
 */
import {readFile} from 'node:fs/promises'

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny'

interface AclRule {
  access: AclAccess
  /** The filter text as written, `%u`/`%c` included. */
  filter: string
  /** Where the rule came from, for messages. */
  line: number
}

/** A rule ready to match: levels split once, placeholders substituted for one client. */
interface CompiledRule {
  access: AclAccess
  /** null: the placeholders could not be substituted safely for this client. */
  levels: string[] | null
}

export class AclFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AclFileError'
  }
}

const ACCESS_WORDS = new Set<string>(['read', 'write', 'readwrite', 'deny'])

/** Why `filter` cannot be an ACL rule, or null when it can (wildcards as in [MQTT-4.7.1-1], [MQTT-4.7.1-2]). */
function acl__validateFilter(filter: string): string | null {
  if (filter.length === 0) return 'the topic filter is empty'
  const levels = filter.split('/')
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      return '"#" must be a whole level and the last one [MQTT-4.7.1-2]'
    }
    if (level.includes('+') && level !== '+') return '"+" must occupy a whole level [MQTT-4.7.1-3]'
  }
  return null
}

/** Whether topic (split into levels) matches filter levels; wildcards at the first level skip `$` topics. */
export function acl__matches(filter: readonly string[], topic: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    if (i === filter.length) return i === topic.length
    const level = filter[i]!
    if (level === '#') return !(i === 0 && topic.length > 0 && topic[0]!.startsWith('$'))
    if (i === topic.length) return false
    if (level === '+') {
      if (i === 0 && topic[0]!.startsWith('$')) return false
      continue
    }
    if (level !== topic[i]) return false
  }
}

/** Whether every topic that `inner` matches is also matched by `outer` (both filters, split into levels). */
export function acl__covers(outer: readonly string[], inner: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    if (i === outer.length) return i === inner.length
    const level = outer[i]!
    if (level === '#') return !(i === 0 && inner.length > 0 && inner[0]!.startsWith('$'))
    if (i === inner.length) return false
    const other = inner[i]!
    if (other === '#') return false
    if (level === '+') {
      if (i === 0 && other.startsWith('$')) return false
      continue
    }
    if (other === '+' || other !== level) return false
  }
}

/** The filter part of a `$share/{group}/{filter}` subscription [MQTT-4.8.2-1], or the filter itself. */
function acl__unshare(filter: string): string {
  if (!filter.startsWith('$share/')) return filter
  const slash = filter.indexOf('/', 7)
  return slash === -1 ? filter : filter.slice(slash + 1)
}

const UNSAFE_SUBSTITUTION = /[/+#]/

/** A rule with its placeholders substituted for one client; undefined when it does not concern that client. */
function acl__compile(rule: AclRule, username: string | undefined, clientId: string): CompiledRule | undefined {
  const filter = rule.filter
  const usesUser = filter.includes('%u')
  const usesClient = filter.includes('%c')
  // A client without a user name has no %u: the rule is not about it.
  if (usesUser && username === undefined) return undefined
  if ((usesUser && UNSAFE_SUBSTITUTION.test(username!)) || (usesClient && UNSAFE_SUBSTITUTION.test(clientId))) {
    return {access: rule.access, levels: null}
  }
  // One pass, so a user name containing "%c" is not substituted again (it would become another client's id).
  const substituted = usesUser || usesClient ? filter.replace(/%[uc]/g, (token) => (token === '%u' ? username! : clientId)) : filter
  return {access: rule.access, levels: substituted.split('/')}
}

function grants(access: AclAccess, wanted: 'read' | 'write'): boolean {
  return access === 'readwrite' || access === wanted
}

/** The rules of one client, compiled once; checks allocate nothing beyond splitting the topic. */
export class ClientAcl {
  constructor(private readonly rules: readonly CompiledRule[]) {}

  /** May this client publish to `topic`? */
  canWrite(topic: string): boolean {
    return this.decide(topic.split('/'), 'write', acl__matches)
  }

  /** May a message on `topic` be delivered to this client (subscriptions and retained messages)? */
  canRead(topic: string): boolean {
    return this.decide(topic.split('/'), 'read', acl__matches)
  }

  /** May this client subscribe to `filter` (a `$share/group/` prefix is ignored)? */
  canSubscribe(filter: string): boolean {
    return this.decide(acl__unshare(filter).split('/'), 'read', acl__covers)
  }

  private decide(levels: string[], wanted: 'read' | 'write', test: (rule: readonly string[], levels: readonly string[]) => boolean): boolean {
    let allowed = false
    for (const rule of this.rules) {
      if (rule.access === 'deny') {
        // A deny rule that could not be substituted for this client refuses everything (fail closed).
        if (rule.levels === null || test(rule.levels, levels)) return false
      } else if (!allowed && rule.levels !== null && grants(rule.access, wanted) && test(rule.levels, levels)) {
        allowed = true
      }
    }
    return allowed
  }
}

export class Acl {
  private readonly anonymous: AclRule[] = []
  private readonly users = new Map<string, AclRule[]>()
  private readonly patterns: AclRule[] = []

  constructor(readonly path?: string) {}

  static async load(path: string): Promise<Acl> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new AclFileError(`cannot read ACL file ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`)
    }
    return Acl.parse(text, path)
  }

  /** Parses acl_file text; an unknown keyword or a bad filter rejects with the file and line. */
  static parse(text: string, path?: string): Acl {
    const acl = new Acl(path)
    let current: AclRule[] = acl.anonymous
    for (const [index, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.trim()
      if (line.length === 0 || line.startsWith('#')) continue
      const where = `${path ?? 'ACL file'} line ${index + 1}`
      const space = line.search(/\s/)
      const keyword = space === -1 ? line : line.slice(0, space)
      const rest = space === -1 ? '' : line.slice(space).trim()
      if (keyword === 'user') {
        // The rest of the line is the name: user names may contain spaces.
        if (rest.length === 0) throw new AclFileError(`${where}: "user" needs a user name`)
        current = acl.users.get(rest) ?? []
        acl.users.set(rest, current)
      } else if (keyword === 'topic' || keyword === 'pattern') {
        const rule = acl__parseRule(rest, index + 1, where)
        ;(keyword === 'pattern' ? acl.patterns : current).push(rule)
      } else {
        throw new AclFileError(`${where}: unknown keyword "${keyword}" (expected user, topic or pattern)`)
      }
    }
    return acl
  }

  /** Number of rules, for start-up banners. */
  get ruleCount(): number {
    let count = this.anonymous.length + this.patterns.length
    for (const rules of this.users.values()) count += rules.length
    return count
  }

  /** The rules that apply to one connection: its user's (or the anonymous) rules, then every pattern. */
  forClient(username: string | undefined, clientId: string): ClientAcl {
    const own = username === undefined ? this.anonymous : (this.users.get(username) ?? [])
    const rules: CompiledRule[] = []
    for (const rule of [...own, ...this.patterns]) {
      const compiled = acl__compile(rule, username, clientId)
      if (compiled) rules.push(compiled)
    }
    return new ClientAcl(rules)
  }
}

function acl__parseRule(rest: string, line: number, where: string): AclRule {
  const space = rest.search(/\s/)
  const first = space === -1 ? rest : rest.slice(0, space)
  let access: AclAccess = 'readwrite'
  let filter = rest
  if (ACCESS_WORDS.has(first)) {
    access = first as AclAccess
    // Like the user name, the filter is the rest of the line (topic names may contain spaces).
    filter = space === -1 ? '' : rest.slice(space).trim()
  }
  const problem = acl__validateFilter(filter)
  if (problem) throw new AclFileError(`${where}: ${problem}`)
  return {access, filter, line}
}
