/**
 * The SQLite store's worker thread (see sqlite-commit.ts): opens the file, sends the rows read at open, then
 * writes each batch it is sent, in order, and answers 'done' or 'error' for each.
 */
import {parentPort, workerData} from 'node:worker_threads'
import type BetterSqlite3 from 'better-sqlite3'
import {storeError__fromSqlite} from './errors.js'
import {commit__plain} from './sqlite-commit.js'
import {type OpenSettings, open__database, open__readRows} from './sqlite-open.js'
import {type Batch, BatchWriter, write__prepare} from './sqlite-write.js'

const {path, settings} = workerData as {path: string; settings: OpenSettings}
const port = parentPort!
let db: BetterSqlite3.Database | undefined
let writer: BatchWriter | undefined

try {
  db = open__database(path, settings)
  const rows = open__readRows(db, Date.now())
  const statements = write__prepare(db)
  statements.alive.run(Date.now())
  writer = new BatchWriter(statements, db)
  port.postMessage({type: 'opened', rows})
} catch (error) {
  db?.close()
  db = undefined
  port.postMessage({type: 'error', id: 0, error: commit__plain(storeError__fromSqlite(error, path, 'open'))})
}

port.on('message', (message: {type: 'write'; id: number; batch: Batch} | {type: 'close'; id: number}) => {
  try {
    if (message.type === 'write') {
      writer!.write(message.batch)
      port.postMessage({type: 'done', id: message.id})
      return
    }

    db?.close()
    db = undefined
    port.postMessage({type: 'done', id: message.id})
    port.close()
  } catch (error) {
    port.postMessage({type: 'error', id: message.id, error: commit__plain(storeError__fromSqlite(error, path, 'write'))})
  }
})
