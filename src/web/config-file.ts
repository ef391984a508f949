/**
 * Writing live settings changed through POST /config back to the broker's `--config` file, so a restart keeps
 * them. The file is edited with yaml's document API, which keeps the user's comments and key order; JSON files stay
 * JSON. Written atomically (temporary file, then rename) with the file's own mode.
 */
import {readFile, stat} from 'node:fs/promises'
import {atomicFile__write} from '../broker/atomic-file.js'

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** Sets each setting under its flag name (`maxConnections` -> `max-connections`), replacing a camelCase key of the same setting. */
export async function configFile__update(path: string, settings: Record<string, unknown>): Promise<void> {
  const text = await readFile(path, 'utf8')
  const {mode} = await stat(path)
  let out: string
  if (path.endsWith('.json')) {
    const data = (text.trim() === '' ? {} : JSON.parse(text)) as Record<string, unknown>
    for (const [key, value] of Object.entries(settings)) {
      delete data[key]
      data[kebab(key)] = value
    }
    out = `${JSON.stringify(data, null, 2)}\n`
  } else {
    // yaml only when a YAML config file is written back (the library entry re-exports the admin server).
    const {parseDocument} = await import('yaml')
    const doc = parseDocument(text)
    if (doc.contents === null) doc.contents = doc.createNode({}) as never
    for (const [key, value] of Object.entries(settings)) {
      if (key !== kebab(key)) doc.delete(key)
      doc.set(kebab(key), value)
    }
    out = doc.toString()
  }
  await atomicFile__write(path, out, mode & 0o777)
}
