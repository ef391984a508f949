/** The OpenAPI 3 description of the admin API, served at GET /openapi.json (docs/web.md says the same in words). */

const error = {$ref: '#/components/schemas/Error'}
const json = (schema: object) => ({content: {'application/json': {schema}}})
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), {description: 'refused', ...json(error)}]))
const auth = {401: {description: 'no or wrong token', ...json(error)}, 429: {description: 'too many failed logins (Retry-After)', ...json(error)}}

export function openapi__document(version: string): object {
  return {
    openapi: '3.0.3',
    info: {title: 'mqttkit admin API', version: version || '0', description: 'The web admin of the mqttkit broker. Every route needs `Authorization: Bearer <token>` (or the page session cookie), except GET /metrics on a loopback bind.'},
    components: {
      securitySchemes: {bearer: {type: 'http', scheme: 'bearer'}},
      schemas: {
        Error: {type: 'object', required: ['code', 'message'], properties: {code: {type: 'string'}, message: {type: 'string'}, field: {type: 'string'}}},
        Subscription: {type: 'object', properties: {filter: {type: 'string'}, qos: {type: 'integer', enum: [0, 1, 2]}, noLocal: {type: 'boolean'}, retainAsPublished: {type: 'boolean'}, retainHandling: {type: 'integer'}, subscriptionId: {type: 'integer'}}},
        Client: {
          type: 'object',
          properties: {
            id: {type: 'string'},
            username: {type: 'string'},
            address: {type: 'string'},
            transport: {type: 'string', enum: ['tcp', 'tls', 'ws', 'wss', 'json']},
            protocolVersion: {type: 'integer', enum: [3, 4, 5]},
            protocol: {type: 'string'},
            connected: {type: 'boolean'},
            keepalive: {type: 'integer'},
            clean: {type: 'boolean'},
            sessionExpiry: {type: 'integer', nullable: true},
            connectedSince: {type: 'integer', nullable: true, description: 'ms since the epoch'},
            disconnectedAt: {type: 'integer', nullable: true},
            subscriptions: {type: 'array', items: {$ref: '#/components/schemas/Subscription'}},
            inflight: {type: 'integer'},
            queued: {type: 'integer'},
            dropped: {type: 'integer'},
            messagesIn: {type: 'integer'},
            messagesOut: {type: 'integer'},
          },
        },
        Config: {
          type: 'object',
          description: 'Live settings (camelCase; POST also takes the flag names, e.g. max-connections) and the read-only listeners.',
          properties: {
            allowAnonymous: {type: 'boolean'},
            maxConnections: {type: 'integer', minimum: 1},
            maxKeepalive: {type: 'integer', minimum: 1, maximum: 65535},
            maxQueued: {type: 'integer', minimum: 0},
            maxSubscriptions: {type: 'integer', minimum: 1},
            maxTopicLength: {type: 'integer', minimum: 1, maximum: 65535},
            maxTopicLevels: {type: 'integer', minimum: 1},
            maxClientIdLength: {type: 'integer', minimum: 23, maximum: 65535},
            maxOutputBuffer: {type: 'integer', minimum: 1024},
            connectTimeout: {type: 'integer', minimum: 1},
            maxPublishRate: {type: 'integer', minimum: 0},
            maxPublishBytesRate: {type: 'integer', minimum: 0},
            listeners: {type: 'array', readOnly: true, items: {type: 'object', properties: {type: {type: 'string'}, host: {type: 'string'}, port: {type: 'integer'}}}},
            readOnly: {type: 'array', readOnly: true, items: {type: 'string'}},
            configFile: {type: 'string', nullable: true, readOnly: true},
          },
        },
      },
    },
    security: [{bearer: []}],
    paths: {
      '/config': {
        get: {summary: 'live settings and listeners', responses: {200: {description: 'settings', ...json({$ref: '#/components/schemas/Config'})}, ...auth}},
        post: {
          summary: 'change live settings (applies to new connections; written back to the --config file)',
          requestBody: json({$ref: '#/components/schemas/Config'}),
          responses: {200: {description: 'settings now in force', ...json({$ref: '#/components/schemas/Config'})}, ...errors(400), ...auth},
        },
      },
      '/users': {
        get: {summary: 'users of the password file (names only)', responses: {200: {description: 'users', ...json({type: 'object', properties: {data: {type: 'array', items: {type: 'object', properties: {username: {type: 'string'}}}}, passwordFile: {type: 'boolean'}}})}, ...auth}},
        post: {
          summary: 'add a user',
          requestBody: json({type: 'object', required: ['username', 'password'], properties: {username: {type: 'string'}, password: {type: 'string'}}}),
          responses: {201: {description: 'added'}, ...errors(400, 409), ...auth},
        },
      },
      '/users/{username}': {
        parameters: [{name: 'username', in: 'path', required: true, schema: {type: 'string'}}],
        put: {summary: 'change a password', requestBody: json({type: 'object', required: ['password'], properties: {password: {type: 'string'}}}), responses: {200: {description: 'changed'}, ...errors(400, 404), ...auth}},
        delete: {summary: 'delete a user', responses: {204: {description: 'deleted'}, ...errors(404), ...auth}},
      },
      '/clients': {
        get: {
          summary: 'sessions, connected and persistent offline ones',
          parameters: [
            {name: 'page', in: 'query', schema: {type: 'integer', minimum: 1, default: 1}},
            {name: 'limit', in: 'query', schema: {type: 'integer', minimum: 1, maximum: 1000, default: 100}},
            {name: 'clientid', in: 'query', description: 'substring of the client id', schema: {type: 'string'}},
            {name: 'username', in: 'query', schema: {type: 'string'}},
            {name: 'connected', in: 'query', schema: {type: 'boolean'}},
          ],
          responses: {200: {description: 'a page of clients', ...json({type: 'object', properties: {data: {type: 'array', items: {$ref: '#/components/schemas/Client'}}, meta: {type: 'object', properties: {page: {type: 'integer'}, limit: {type: 'integer'}, count: {type: 'integer'}}}}})}, ...errors(400), ...auth},
        },
      },
      '/clients/{id}': {
        parameters: [{name: 'id', in: 'path', required: true, schema: {type: 'string'}}],
        get: {summary: 'one client', responses: {200: {description: 'client', ...json({$ref: '#/components/schemas/Client'})}, ...errors(404), ...auth}},
        delete: {
          summary: 'kick (MQTT 5: DISCONNECT 0x98 administrative action)',
          parameters: [{name: 'session', in: 'query', description: 'also discard the session', schema: {type: 'boolean'}}],
          responses: {204: {description: 'kicked'}, ...errors(404), ...auth},
        },
      },
      '/topics': {get: {summary: 'subscription filters with their subscribers, and the retained topics', responses: {200: {description: 'filters', ...json({type: 'object', properties: {subscriptions: {type: 'array', items: {type: 'object'}}, retained: {type: 'array', items: {type: 'object', properties: {topic: {type: 'string'}, size: {type: 'integer'}, qos: {type: 'integer'}}}}}})}, ...auth}}},
      '/retained': {
        get: {
          summary: 'retained messages matching a filter (payload as text, or base64 when not UTF-8; first 4 KiB)',
          parameters: [
            {name: 'filter', in: 'query', schema: {type: 'string', default: '#'}},
            {name: 'page', in: 'query', schema: {type: 'integer', minimum: 1, default: 1}},
            {name: 'limit', in: 'query', schema: {type: 'integer', minimum: 1, maximum: 1000, default: 100}},
          ],
          responses: {200: {description: 'retained messages', ...json({type: 'object', properties: {data: {type: 'array', items: {type: 'object', properties: {topic: {type: 'string'}, qos: {type: 'integer'}, size: {type: 'integer'}, payload: {type: 'string'}, encoding: {type: 'string', enum: ['plain', 'base64']}, truncated: {type: 'boolean'}, storedAt: {type: 'integer'}, expiresAt: {type: 'integer'}}}}, meta: {type: 'object'}}})}, ...errors(400), ...auth},
        },
      },
      '/retained/{topic}': {
        parameters: [{name: 'topic', in: 'path', required: true, description: 'the topic, slashes included', schema: {type: 'string'}}],
        delete: {summary: 'delete a retained message (subscribers get the empty retained message, as for a retained PUBLISH)', responses: {204: {description: 'deleted'}, ...errors(400, 404), ...auth}},
      },
      '/publish': {
        post: {
          summary: 'publish as the broker itself',
          requestBody: json({
            type: 'object',
            required: ['topic'],
            properties: {
              topic: {type: 'string'},
              payload: {type: 'string'},
              qos: {type: 'integer', enum: [0, 1, 2]},
              retain: {type: 'boolean'},
              encoding: {type: 'string', enum: ['plain', 'base64']},
              properties: {type: 'object', properties: {contentType: {type: 'string'}, responseTopic: {type: 'string'}, correlationData: {type: 'string'}, payloadFormatIndicator: {type: 'boolean'}, messageExpiryInterval: {type: 'integer'}, userProperties: {type: 'object'}}},
            },
          }),
          responses: {200: {description: 'sessions reached', ...json({type: 'object', properties: {reached: {type: 'integer'}}})}, ...errors(400), ...auth},
        },
      },
      '/stats': {get: {summary: 'counters and per-second rates', responses: {200: {description: 'stats'}, ...auth}}},
      '/metrics': {get: {summary: 'Prometheus text format (open on a loopback bind unless --web-metrics-auth)', security: [], responses: {200: {description: 'metrics', content: {'text/plain': {}}}}}},
      '/events': {get: {summary: 'server-sent events: history, then stats every second and clients on changes', responses: {200: {description: 'event stream', content: {'text/event-stream': {}}}}}},
      '/openapi.json': {get: {summary: 'this document', responses: {200: {description: 'OpenAPI 3'}}}},
    },
  }
}
