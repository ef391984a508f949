import {describe} from 'vitest'
import {MemoryStore} from '../../src/broker/store/memory.js'
import {storeSuite} from './store-suite.js'

describe('MemoryStore', () => {
  // One instance is the whole "disk": a restart or a crash is the same object opened again.
  storeSuite({
    create: () => new MemoryStore(),
    reopen: (store) => store,
    crash: (store) => store,
  })
})
