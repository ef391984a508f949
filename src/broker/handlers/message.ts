/** Turning received PUBLISH/will fields into the broker's StoredMessage. */
import {isUtf8} from 'node:buffer'
import type {MessageProperties} from '../store/store.js'
import type {IPublishPacket} from '../../protocol/index.js'

type PublishProperties = NonNullable<IPublishPacket['properties']>

/**
 * The properties forwarded with a message: everything except the per-hop ones (topic alias, subscription
 * identifiers) [MQTT-3.3.2-15..20 pass-through]; undefined when nothing is left, so 3.1.1 traffic allocates nothing.
 */
export function message__properties(properties: PublishProperties | undefined): MessageProperties | undefined {
  if (properties === undefined) return undefined
  const {topicAlias: _alias, subscriptionIdentifier: _ids, ...rest} = properties
  for (const key in rest) {
    if ((rest as Record<string, unknown>)[key] !== undefined) return rest
  }
  return undefined
}

/** [MQTT-3.3.2-4] with Payload Format Indicator 1 the payload must be valid UTF-8. */
export function message__payloadValid(properties: {payloadFormatIndicator?: boolean} | undefined, payload: Buffer): boolean {
  return properties?.payloadFormatIndicator !== true || isUtf8(payload)
}

export function message__payload(payload: Buffer | string): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload
}
