// The broker's management API (docs/library.md, docs/web.md): what the web admin and embedding applications use.
export {BrokerClients, clients__view, type ClientFilter, type ClientSubscriptionView, type ClientView, type KickOptions} from './clients.js'
export {BrokerSubscriptions, type FilterView, type SubscriberView} from './subscriptions.js'
export {BrokerSettings, ConfigureError, LIVE_SETTINGS, type ConfigureErrorCode, type LiveSettingName, type LiveSettings} from './configure.js'
export {BrokerUsers, UsersError, type UsersErrorCode} from './users.js'
