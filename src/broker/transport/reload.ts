import {transport__describe} from './flags.js'
import type {RunningListener} from './types.js'

/**
 * What `mqttkit broker` does on SIGHUP: every TLS and WSS listener re-reads its certificate files. One listener
 * failing (a renewal half-written, a key that no longer matches) keeps its current certificate and the others
 * still reload; established connections are never touched.
 */
export async function transport__reloadAll(
  listeners: readonly RunningListener[],
  log: {info(message: string): void; warn(message: string): void},
): Promise<{reloaded: number; failed: number}> {
  let reloaded = 0
  let failed = 0
  for (const listener of listeners) {
    if (listener.reload === undefined) continue
    try {
      await listener.reload()
      reloaded++
      log.info(`certificate reloaded for ${transport__describe(listener)}`)
    } catch (error) {
      failed++
      log.warn(`certificate reload failed for ${transport__describe(listener)}, keeping the current one: ${(error as Error).message}`)
    }
  }
  return {reloaded, failed}
}
