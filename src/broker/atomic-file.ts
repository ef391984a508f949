/**
 * Writing a file atomically: a temporary file in the same directory, synced, then renamed over the old one, so a
 * crash never leaves a half-written file and readers see the old content or the new, never a mix. The temporary
 * file is created with `mode` (and chmod-ed to it, past the umask), so secrets are never readable by others, not
 * even for a moment. Used for the password file, the web admin's token hash and the --config file.
 */
import {randomBytes} from 'node:crypto'
import {chmod, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export async function atomicFile__write(path: string, content: string, mode: number): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temporary, 'wx', mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await chmod(temporary, mode)
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
}
