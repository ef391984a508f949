// Bridges to other brokers (docs/bridges.md).
export {BridgeManager} from './manager.js'
export type {BridgeHost, BridgeManagerOptions, BridgeStatus} from './manager.js'
export {BRIDGE_DEFAULTS, BridgeConfigError, bridge__checkEntry, bridge__displayUrl, bridge__checkList, bridge__fromFlags, bridge__parseTopicLine} from './config.js'
export type {BridgeConfig, BridgeDirection, BridgeRule} from './config.js'
export type {BridgeCounters, BridgeState} from './bridge.js'
export {PATH_PROPERTY} from './path.js'
