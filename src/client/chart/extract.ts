/**
 * `sub --chart`: the number a message carries, if any. A plain number (`21.5`, ` -3e2 `), or with `--field` a
 * JSON field (`temp`, dotted `data.temp`, array index `values.0`) holding a number or a numeric string. Anything
 * else is "non-numeric" and counted, never an error: a chart must survive whatever arrives on `#`.
 */

const numberText = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/
/** Past this a payload is not parsed as JSON at all (a chart of telemetry does not need megabyte documents). */
const maxJsonBytes = 64 * 1024

export function chart__parseField(field: string): string[] {
  return field.split('.').filter((part) => part !== '')
}

function fromText(text: string): number | undefined {
  const trimmed = text.trim()
  if (!numberText.test(trimmed)) return undefined
  const value = Number(trimmed)
  return Number.isFinite(value) ? value : undefined
}

export function chart__value(payload: Buffer, field: string[] | undefined): number | undefined {
  if (field === undefined || field.length === 0) return payload.length > 64 ? undefined : fromText(payload.toString('utf8'))
  if (payload.length > maxJsonBytes) return undefined
  let node: unknown
  try {
    node = JSON.parse(payload.toString('utf8'))
  } catch {
    return undefined
  }
  for (const key of field) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[key]
  }
  if (typeof node === 'number') return Number.isFinite(node) ? node : undefined
  if (typeof node === 'string') return fromText(node)
  return undefined
}
