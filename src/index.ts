// The library entry point: `import {Broker} from 'mqttkit'`.
export {Broker} from './broker/broker.js'
export type {BrokerEvent, BrokerStats, BrokerStatsView} from './broker/broker.js'
export type {BrokerOptions} from './broker/options.js'
export {BrokerClients, BrokerSettings, BrokerSubscriptions, BrokerUsers, ConfigureError, LIVE_SETTINGS, UsersError} from './broker/management/index.js'
export type {ClientFilter, ClientSubscriptionView, ClientView, ConfigureErrorCode, FilterView, KickOptions, LiveSettingName, LiveSettings, SubscriberView, UsersErrorCode} from './broker/management/index.js'
export type {OpenFileLimit} from './broker/limits/open-files.js'
export {logger__create} from './broker/logger.js'
export type {LogLevel, Logger} from './broker/logger.js'
export {ReasonCode} from './protocol/index.js'
export {RetainedMessages, RetainedQuotaError} from './broker/retained/api.js'
export type {RetainedMessage, RetainedSetOptions} from './broker/retained/api.js'
export {HookError, defaultHooks} from './broker/hooks.js'
export type {AckInfo, AuthExchange, AuthStep, ClientInfo, DropReason, Hooks, Transport} from './broker/hooks.js'
export {AuthFiles, auth__hooks, auth__load, DEFAULT_FAILED_LOGIN_DELAY_MS} from './broker/auth/hooks.js'
export type {AuthFileOptions, AuthOptions} from './broker/auth/hooks.js'
export {PasswordFile, PasswordFileError} from './broker/auth/password-file.js'
export {Acl, AclFileError, ClientAcl} from './broker/auth/acl.js'
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
export {RedisStore, type RedisStoreOptions} from './broker/store/redis.js'
export {StoreError, type StoreErrorCode} from './broker/store/errors.js'
export {store__defaultDataDir, store__fromSpec} from './broker/store/index.js'
export type {ConnectionMeta, ListenerSpec, RunningListener, TlsOptions, WebSocketOptions} from './broker/transport/index.js'
export {BridgeConfigError, BridgeManager, PATH_PROPERTY, bridge__checkEntry, bridge__checkList, bridge__fromFlags, bridge__parseTopicLine} from './broker/bridge/index.js'
export type {BridgeConfig, BridgeCounters, BridgeDirection, BridgeHost, BridgeManagerOptions, BridgeRule, BridgeState, BridgeStatus} from './broker/bridge/index.js'
export {AdminServer, type AdminAddress, type AdminServerOptions} from './web/server.js'
export {webToken__reset} from './web/token.js'
