/** Temporary directories for store tests, removed after the file's tests. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const made: string[] = []

export function tmp__dir(prefix = 'mqttkit-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function tmp__cleanup(): void {
  for (const dir of made.splice(0)) rmSync(dir, {recursive: true, force: true})
}
