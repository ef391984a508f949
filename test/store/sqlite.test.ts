import {copyFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe} from 'vitest'
import {SqliteStore} from '../../src/broker/store/sqlite.js'
import {storeSuite} from './store-suite.js'
import {tmp__cleanup, tmp__dir} from './tmp.js'

afterAll(tmp__cleanup)

describe('SqliteStore', () => {
  let n = 0
  storeSuite({
    create: () => new SqliteStore(join(tmp__dir(), 'mqttkit.db')),
    reopen: (store) => new SqliteStore((store as SqliteStore).path),
    // What a killed process leaves: the database file and its write-ahead log, copied while the store is open.
    crash(store) {
      const path = (store as SqliteStore).path
      const copy = join(tmp__dir(), `crashed-${++n}.db`)
      copyFileSync(path, copy)
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`)
      return new SqliteStore(copy)
    },
  })
})
