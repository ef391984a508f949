import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_DB_FILE, store__defaultDataDir, store__fromSpec} from '../../src/broker/store/index.js'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {SqliteStore} from '../../src/broker/store/sqlite.js'

describe('--store and --data-dir', () => {
  it('memory is a MemoryStore', () => {
    expect(store__fromSpec('memory', '/data')).toBeInstanceOf(MemoryStore)
  })

  it('sqlite is <data-dir>/mqttkit.db, sqlite:PATH is PATH from the current directory', () => {
    const inDataDir = store__fromSpec('sqlite', '/var/lib/mqttkit') as SqliteStore
    expect(inDataDir).toBeInstanceOf(SqliteStore)
    expect(inDataDir.path).toBe(join('/var/lib/mqttkit', DEFAULT_DB_FILE))
    expect(inDataDir.name).toBe(`sqlite:/var/lib/mqttkit/${DEFAULT_DB_FILE}`)
    expect((store__fromSpec('sqlite:./here.db', '/ignored') as SqliteStore).path).toBe(resolve('here.db'))
    expect((store__fromSpec('sqlite:/abs/x.db', '/ignored') as SqliteStore).path).toBe('/abs/x.db')
  })

  it('anything else is a StoreError naming the accepted values', () => {
    expect(() => store__fromSpec('mongodb', '/d')).toThrowError(expect.objectContaining({code: 'spec'}))
    expect(() => store__fromSpec('mongodb', '/d')).toThrow('use memory, sqlite or sqlite:PATH')
    expect(() => store__fromSpec('sqlite:', '/d')).toThrow(/needs a file path/)
  })

  it('the default data directory follows the platform convention', () => {
    expect(store__defaultDataDir({XDG_DATA_HOME: '/x/share'}, 'linux', '/home/u')).toBe('/x/share/mqttkit')
    expect(store__defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/mqttkit')
    expect(store__defaultDataDir({XDG_DATA_HOME: 'relative'}, 'linux', '/home/u')).toBe('/home/u/.local/share/mqttkit')
    expect(store__defaultDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/mqttkit')
  })
})
