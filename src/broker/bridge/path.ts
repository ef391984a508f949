/**
 * Loop detection across bridges (MQTT 5 paths only): a user property lists the mqttkit brokers a message went
 * through, so a triangle of brokers bridged `both` cannot pass a message round forever. No Local stops the
 * two-broker echo; this stops the longer circles, which mosquitto's bridges do not.
 *
 * The property value is a comma-separated list of node ids: `id` when the message left that broker through one of
 * its bridges, `>id` when it entered it through one. A bridge of broker X
 * - bringing a message in drops it when X is already on the list (it has been here), else appends `>X`;
 * - sending a message out drops it when X is on the list except as the last entry `>X` (it entered X through
 *   X's own bridge just now, so forwarding it further is a hub's job), else appends `X`.
 * Brokers that are not mqttkit pass the property through unchanged (mosquitto does over MQTT 5 bridges).
 */
import type {UserProperties} from 'mqtt-packet'

export const PATH_PROPERTY = 'mqttkit-bridge-path'

function path__read(props: UserProperties | undefined): string[] {
  const value = props?.[PATH_PROPERTY]
  const text = Array.isArray(value) ? value.join(',') : value
  return text === undefined || text === '' ? [] : text.split(',')
}

function path__write(props: UserProperties | undefined, path: string[]): UserProperties {
  return {...props, [PATH_PROPERTY]: path.join(',')}
}

/** The user properties to send out with, or null when the message has already been through `nodeId`. */
export function path__out(props: UserProperties | undefined, nodeId: string): UserProperties | null {
  const path = path__read(props)
  if (path.length > 0 && path[path.length - 1] === `>${nodeId}`) return path__write(props, [...path.slice(0, -1), nodeId])
  if (path.includes(nodeId) || path.includes(`>${nodeId}`)) return null
  return path__write(props, [...path, nodeId])
}

/** The user properties to publish here with, or null when the message has already been through `nodeId`. */
export function path__in(props: UserProperties | undefined, nodeId: string): UserProperties | null {
  const path = path__read(props)
  if (path.includes(nodeId) || path.includes(`>${nodeId}`)) return null
  return path__write(props, [...path, `>${nodeId}`])
}
