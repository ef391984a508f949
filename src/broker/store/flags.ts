/**
 * The `mqttkit broker` flags choosing the store (`--store`, `--data-dir`) and their translation into a Store.
 * Kept beside the stores so that `commands/broker.ts` only spreads `storeFlags` and calls `store__fromFlags`.
 * The CLI's default is the SQLite file in the data directory (the library's default stays memory). Both flags may
 * also come from the broker's config file under the same names.
 */
import {Flags} from '@oclif/core'
import {store__defaultDataDir, store__fromSpec} from './index.js'
import type {Store} from './store.js'

const GROUP = 'PERSISTENCE'

export const storeFlags = {
  // No oclif defaults (as for every broker flag): a flag left out must not hide the config file's value.
  store: Flags.string({
    description:
      'where sessions, queued and retained messages are kept: memory, sqlite (<data-dir>/mqttkit.db), sqlite:PATH or ' +
      'redis://[user:password@]host:port/db (also rediss://, redis+sentinel://; docs/cluster.md) [default: sqlite]',
    env: 'MQTTKIT_STORE',
    helpGroup: GROUP,
  }),
  'cluster-name': Flags.string({
    description: 'with a Redis store: the key prefix, so several mqttkit deployments can share one Redis [default: mqttkit]',
    env: 'MQTTKIT_CLUSTER_NAME',
    helpGroup: GROUP,
  }),
  'data-dir': Flags.string({
    // Not computed here: the help text (and oclif's manifest) must not carry the home directory of whoever built it.
    description:
      "directory for the broker's files [default: $XDG_DATA_HOME/mqttkit or ~/.local/share/mqttkit; macOS: " +
      '~/Library/Application Support/mqttkit; Windows: %LOCALAPPDATA%\\mqttkit]',
    env: 'MQTTKIT_DATA_DIR',
    helpGroup: GROUP,
  }),
}

export interface StoreFlagValues {
  store?: string
  'data-dir'?: string
  'cluster-name'?: string
}

/** The store the flags ask for (not opened yet: Broker.listen() opens it) and the banner's description of it. */
export function store__fromFlags(flags: StoreFlagValues): {store: Store; banner: string} {
  const dataDir = flags['data-dir'] ?? store__defaultDataDir()
  const store = store__fromSpec(flags.store ?? 'sqlite', dataDir, {}, flags['cluster-name'])
  const banner = store.name === 'memory' ? 'memory (nothing is kept after the broker stops)' : store.name
  return {store, banner}
}
