// Topic rules, the subscription trie, shared-subscription groups and the retained tree: routing's building blocks.
export {TOPIC_MAX_BYTES, topic__hasWildcard, topic__parseShared, topic__validateFilter, topic__validateName} from './validate.js'
export type {SharedFilter, TopicLimits} from './validate.js'
export {SubscriptionTrie} from './trie.js'
export {SHARED_STRATEGIES, SharedGroups} from './shared.js'
export type {SharedStrategy} from './shared.js'
export {RetainedTree} from './retained.js'
export type {RetainableMessage} from './retained.js'
