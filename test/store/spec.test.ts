import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_DB_FILE, store__defaultDataDir, store__fromSpec} from '../../src/broker/store/index.js'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {RedisStore} from '../../src/broker/store/redis.js'
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

  it('redis://, rediss:// and redis+sentinel:// are a RedisStore; --cluster-name is its key prefix', () => {
    const plain = store__fromSpec('redis://127.0.0.1:6390/3', '/d', {}, 'plant-a') as RedisStore
    expect(plain).toBeInstanceOf(RedisStore)
    expect(plain.name).toBe('redis://127.0.0.1:6390/3 (cluster plant-a)')
    expect(plain.keys.sessions).toBe('{plant-a}:sessions')
    expect((store__fromSpec('rediss://u:pw@r.example:6380', '/d') as RedisStore).name).toBe('rediss://r.example:6380/0 (cluster mqttkit)')
    const sentinel = store__fromSpec('redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2/mymaster/2', '/d') as RedisStore
    expect(sentinel.name).toBe('redis+sentinel://10.0.0.1:26379,10.0.0.2/mymaster/2 (cluster mqttkit)')
    expect(() => store__fromSpec('redis+sentinel://10.0.0.1:26379', '/d')).toThrow(/master-name/)
  })

  it('anything else is a StoreError naming the accepted values', () => {
    expect(() => store__fromSpec('mongodb', '/d')).toThrowError(expect.objectContaining({code: 'spec'}))
    expect(() => store__fromSpec('mongodb', '/d')).toThrow('use memory, sqlite, sqlite:PATH or redis://host:port/db')
    expect(() => store__fromSpec('sqlite:', '/d')).toThrow(/needs a file path/)
  })

  it('the default data directory follows the platform convention', () => {
    expect(store__defaultDataDir({XDG_DATA_HOME: '/x/share'}, 'linux', '/home/u')).toBe('/x/share/mqttkit')
    expect(store__defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/mqttkit')
    expect(store__defaultDataDir({XDG_DATA_HOME: 'relative'}, 'linux', '/home/u')).toBe('/home/u/.local/share/mqttkit')
    expect(store__defaultDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/mqttkit')
  })
})
