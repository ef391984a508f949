/** Topic templates (%i client index, %c message counter) and the filter match used to know who expects what. */

export function topic__expand(template: string, index: number, counter = 0): string {
  return template.replace(/%[ic]/g, (m) => (m === '%i' ? String(index) : String(counter)))
}

export function topic__hasCounter(template: string): boolean {
  return template.includes('%c')
}

/** `$share/group/filter` → {group, filter}; the plain filter otherwise. */
export function topic__splitShare(filter: string): {group: string | null; filter: string} {
  if (!filter.startsWith('$share/')) return {group: null, filter}
  const rest = filter.slice('$share/'.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) return {group: null, filter}
  return {group: rest.slice(0, slash), filter: rest.slice(slash + 1)}
}

/** MQTT filter matching ([MQTT-4.7.1-2] `#`, [MQTT-4.7.1-3] `+`, [MQTT-4.7.2-1] `$` topics). */
export function topic__matches(filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}
