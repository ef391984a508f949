import {copyFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe} from 'vitest'
import {SqliteStore, type SqliteStoreOptions} from '../../src/broker/store/sqlite.js'
import type {Store} from '../../src/broker/store/store.js'
import {storeSuite} from './store-suite.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

afterAll(tmp__cleanup)

let n = 0

function factory(options: SqliteStoreOptions) {
  return {
    create: () => new SqliteStore(join(tmp__dir(), 'mqttkit.db'), options),
    reopen: (store: Store) => new SqliteStore((store as SqliteStore).path, options),
    // What a killed process leaves: the database file and its write-ahead log, copied while the store is open.
    crash(store: Store) {
      const path = (store as SqliteStore).path
      const copy = join(tmp__dir(), `crashed-${++n}.db`)
      copyFileSync(path, copy)
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`)
      return new SqliteStore(copy, options)
    },
  }
}

describe('SqliteStore (worker thread, the default)', () => {
  storeSuite(factory({}))
})

// The other commit paths: on the caller's thread, a timer instead of once per turn, commits forced by a small batch
// limit, fsync per commit.
describe('SqliteStore (main thread, commitInterval 5 ms, maxBatch 7, synchronous full)', () => {
  storeSuite(factory({thread: 'main', commitInterval: 5, maxBatch: 7, synchronous: 'full'}))
})
