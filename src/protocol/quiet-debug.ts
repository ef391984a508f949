/**
 * mqtt-packet calls its `debug` loggers about ten times per packet (`debug('parse: current state: %s', …)`). Even
 * switched off, each call gathers its arguments into an array and runs the `enabled` getter: ~9% of the broker's
 * CPU when routing small QoS 0 messages (measured with `node --cpu-prof`, see docs/benchmarks.md). This module must
 * be imported before mqtt-packet is first loaded: it hands mqtt-packet a no-op logger for each of its namespaces
 * that `DEBUG` does not enable when the process starts; every other user of `debug` is left untouched, and
 * `DEBUG=mqtt-packet:*` still gets the real loggers.
 */
import {createRequire} from 'node:module'
import {dirname} from 'node:path'

type CreateDebug = ((namespace: string) => unknown) & {enabled(namespace: string): boolean}

const noop = (): void => {}

try {
  const require = createRequire(import.meta.url)
  // The `debug` that mqtt-packet itself resolves (it may be a nested copy).
  const packetDir = dirname(require.resolve('mqtt-packet/package.json'))
  const path = require.resolve('debug', {paths: [packetDir]})
  const real = require(path) as CreateDebug
  const cached = require.cache[path]
  if (cached !== undefined && typeof real === 'function' && !(real as {mqttkitQuiet?: boolean}).mqttkitQuiet) {
    const quiet = Object.assign(
      (namespace: string): unknown => (namespace.startsWith('mqtt-packet:') && !real.enabled(namespace) ? noop : real(namespace)),
      real,
      {mqttkitQuiet: true},
    )
    cached.exports = quiet
  }
} catch {
  // Only a speed-up: without it mqtt-packet keeps its own loggers.
}
