// The library entry point: `import {Broker} from 'mqttkit'`.
export {HookError, defaultHooks} from './broker/hooks.js'
export type {AuthExchange, AuthStep, ClientInfo, Hooks, Transport} from './broker/hooks.js'
export type {
  InflightRecord,
  MessageProperties,
  QueuedRecord,
  SessionRecord,
  Store,
  StoreSnapshot,
  StoredMessage,
  SubscriptionRecord,
  WillRecord,
} from './broker/store/store.js'
export {MemoryStore} from './broker/store/memory.js'
export {SqliteStore, type SqliteStoreOptions} from './broker/store/sqlite.js'
export {StoreError, type StoreErrorCode} from './broker/store/errors.js'
export {store__defaultDataDir, store__fromSpec} from './broker/store/index.js'
export type {ConnectionMeta, ListenerSpec, RunningListener, TlsOptions} from './broker/transport/index.js'
