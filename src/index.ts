// The library entry point: `import {Broker} from 'mqttkit'`.
export {Broker} from './broker/broker.js'
export type {BrokerEvent, BrokerStats, BrokerStatsView} from './broker/broker.js'
export type {BrokerOptions} from './broker/options.js'
export {logger__create} from './broker/logger.js'
export type {LogLevel, Logger} from './broker/logger.js'
export {ReasonCode} from './protocol/index.js'
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
export type {ConnectionMeta, ListenerSpec, RunningListener, TlsOptions, WebSocketOptions} from './broker/transport/index.js'
