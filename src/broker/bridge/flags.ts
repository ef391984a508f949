/** The broker command's bridge flags and how they combine with the config file's `bridges` list (docs/bridges.md). */
import {Flags} from '@oclif/core'
import {type BridgeConfig, bridge__checkList, bridge__fromFlags} from './config.js'

const GROUP = 'BRIDGES'

export const bridgeFlags = {
  bridge: Flags.string({
    description: 'bridge to another broker: NAME=URL (mqtt://, mqtts://, ws://, wss://); repeatable, with --bridge-topic rules',
    multiple: true,
    helpGroup: GROUP,
  }),
  'bridge-topic': Flags.string({
    description: "a topic rule of bridge NAME: NAME='PATTERN [out|in|both [QOS [LOCAL-PREFIX REMOTE-PREFIX]]]' (mosquitto's topic line; repeatable)",
    multiple: true,
    helpGroup: GROUP,
  }),
}

/** Flag names that are not config file keys (they repeat; the file has its `bridges` list). */
export const BRIDGE_FLAG_NAMES = Object.keys(bridgeFlags)

/** The file's `bridges` list plus the flags; throws a BridgeConfigError (one line) on a bad entry. */
export function bridge__configFromFlags(fileBridges: unknown, flags: {bridge?: string[]; 'bridge-topic'?: string[]}): BridgeConfig[] {
  return bridge__fromFlags(bridge__checkList(fileBridges), flags.bridge ?? [], flags['bridge-topic'] ?? [])
}
