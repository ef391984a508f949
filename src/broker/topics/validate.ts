/**
 * Topic name and topic filter rules (MQTT 3.1.1 §4.7, MQTT 5 §4.7 and §4.8.2). Statement ids are the 3.1.1
 * numbers; where MQTT 5 renumbered a statement its id follows in brackets.
 *
 * Written by hand rather than taken from a library: it runs on every PUBLISH and SUBSCRIBE, so it is a single
 * pass over char codes with no allocation, and its reasons are the strings the broker puts in reason strings
 * and logs. Every function returns null when the input is valid, else a short reason naming the statement.
 */

/** Broker-configurable limits on top of the protocol's own. */
export interface TopicLimits {
  /** Maximum length in UTF-8 bytes; the protocol maximum is 65535 [MQTT-4.7.3-3]. */
  maxLength?: number
  /** Maximum number of levels (`a/b/c` has 3); unlimited when absent. */
  maxLevels?: number
}

/** The protocol's own ceiling for a UTF-8 string field [MQTT-4.7.3-3]. */
export const TOPIC_MAX_BYTES = 65_535

const SLASH = 0x2f
const PLUS = 0x2b
const HASH = 0x23
const NUL = 0x00

const SHARE_PREFIX = '$share/'

/** Checks the byte length and level count against the limits (the common tail of both validators). */
function checkLimits(topic: string, levels: number, limits: TopicLimits | undefined): string | null {
  const maxLength = Math.min(limits?.maxLength ?? TOPIC_MAX_BYTES, TOPIC_MAX_BYTES)
  // A UTF-16 unit is at most 3 UTF-8 bytes: only count bytes when the string might be over.
  if (topic.length * 3 > maxLength && Buffer.byteLength(topic, 'utf8') > maxLength) {
    return `longer than ${maxLength} bytes [MQTT-4.7.3-3]`
  }
  if (limits?.maxLevels !== undefined && levels > limits.maxLevels) {
    return `more than ${limits.maxLevels} topic levels`
  }
  return null
}

/**
 * A topic name as sent in PUBLISH (or a will topic): at least one character [MQTT-4.7.3-1], no U+0000
 * [MQTT-4.7.3-2], no wildcard characters [MQTT-4.7.1-1] (v5 [MQTT-4.7.0-1]).
 */
export function topic__validateName(topic: string, limits?: TopicLimits): string | null {
  const n = topic.length
  if (n === 0) return 'topic name is empty [MQTT-4.7.3-1]'
  // `$share/` introduces a shared subscription's filter (§4.8.2): as a topic name nobody could subscribe to it.
  if (topic.charCodeAt(0) === 0x24 && (topic === '$share' || topic.startsWith(SHARE_PREFIX))) return 'a topic name cannot start with $share/ (§4.8.2)'
  let levels = 1
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i)
    if (c === SLASH) levels++
    else if (c === PLUS || c === HASH) return 'topic name contains a wildcard character [MQTT-4.7.1-1]'
    else if (c === NUL) return 'topic name contains U+0000 [MQTT-4.7.3-2]'
  }
  return checkLimits(topic, levels, limits)
}

/**
 * The filter part of a subscription (no `$share/` prefix): at least one character [MQTT-4.7.3-1], no U+0000
 * [MQTT-4.7.3-2], `#` alone in the last level [MQTT-4.7.1-2] (v5 [MQTT-4.7.1-1]), `+` alone in its level
 * [MQTT-4.7.1-3] (v5 [MQTT-4.7.1-2]).
 */
function validatePlainFilter(filter: string, limits: TopicLimits | undefined): string | null {
  const n = filter.length
  if (n === 0) return 'topic filter is empty [MQTT-4.7.3-1]'
  let levels = 1
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i)
    if (c === SLASH) {
      levels++
    } else if (c === HASH) {
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || i !== n - 1) {
        return "'#' must be the last character and occupy a whole level [MQTT-4.7.1-2]"
      }
    } else if (c === PLUS) {
      if ((i > 0 && filter.charCodeAt(i - 1) !== SLASH) || (i < n - 1 && filter.charCodeAt(i + 1) !== SLASH)) {
        return "'+' must occupy a whole level [MQTT-4.7.1-3]"
      }
    } else if (c === NUL) {
      return 'topic filter contains U+0000 [MQTT-4.7.3-2]'
    }
  }
  return checkLimits(filter, levels, limits)
}

/**
 * A topic filter as sent in SUBSCRIBE or UNSUBSCRIBE, shared subscriptions included: `$share/{ShareName}/{filter}`
 * needs a share name of at least one character [MQTT-4.8.2-1] without `/`, `+` or `#`, followed by `/` and a
 * valid filter [MQTT-4.8.2-2].
 */
export function topic__validateFilter(filter: string, limits?: TopicLimits): string | null {
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length)
    if (slash === SHARE_PREFIX.length) return 'shared subscription has an empty share name [MQTT-4.8.2-1]'
    if (slash < 0) return 'shared subscription has no topic filter after the share name [MQTT-4.8.2-2]'
    for (let i = SHARE_PREFIX.length; i < slash; i++) {
      const c = filter.charCodeAt(i)
      if (c === PLUS || c === HASH) return "share name contains '+' or '#' [MQTT-4.8.2-2]"
      if (c === NUL) return 'share name contains U+0000 [MQTT-4.7.3-2]'
    }
    const inner = validatePlainFilter(filter.slice(slash + 1), limits)
    if (inner !== null) return inner
    // The limits apply to the whole string too: that is what crosses the wire.
    return checkLimits(filter, 1, limits)
  }
  if (filter === '$share') return 'shared subscription has no share name [MQTT-4.8.2-1]'
  return validatePlainFilter(filter, limits)
}

/** A parsed `$share/{group}/{filter}`. */
export interface SharedFilter {
  group: string
  filter: string
}

/**
 * Splits a shared subscription filter [MQTT-4.8.2-1]; null when `filter` is not a shared subscription. Call it
 * on filters that passed topic__validateFilter: a malformed `$share/...` is rejected there, not here.
 */
export function topic__parseShared(filter: string): SharedFilter | null {
  if (!filter.startsWith(SHARE_PREFIX)) return null
  const slash = filter.indexOf('/', SHARE_PREFIX.length)
  if (slash <= SHARE_PREFIX.length) return null
  return {group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1)}
}

/** True when a filter contains `+` or `#` (a retained lookup for a plain topic can then be a single get). */
export function topic__hasWildcard(filter: string): boolean {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i)
    if (c === PLUS || c === HASH) return true
  }
  return false
}
