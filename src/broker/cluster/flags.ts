/**
 * `mqttkit broker --node-id`: with a Redis store the broker is a cluster node (docs/cluster.md). The node id
 * defaults to the host name and MQTT port, which is unique for nodes on one machine or one per machine.
 */
import {hostname} from 'node:os'
import {Flags} from '@oclif/core'
import type {ClusterOptions} from './node.js'

export const clusterFlags = {
  'node-id': Flags.string({
    description: 'with a Redis store: this node\'s name in the cluster [default: <host name>:<MQTT port>]',
    env: 'MQTTKIT_NODE_ID',
    helpGroup: 'PERSISTENCE',
  }),
}

export function cluster__fromFlags(nodeId: string | undefined, mqttPort: number): ClusterOptions {
  return {nodeId: nodeId ?? `${hostname()}:${mqttPort}`}
}
