/**
 * GET/POST /config (the live settings, written back to the --config file when there is one) and GET/POST /users,
 * PUT/DELETE /users/{username} (the password file; never a hash).
 */
import type {FastifyInstance} from 'fastify'
import type {Broker} from '../../broker/broker.js'
import {ConfigureError, UsersError} from '../../broker/management/index.js'
import {configFile__update} from '../config-file.js'
import {ApiError, api__object} from '../errors.js'

export interface ConfigRouteOptions {
  /** The broker's --config file: changes are written back to it. */
  configFile?: string
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
}

function listeners(broker: Broker): Array<{type: string; host: string; port: number}> {
  return broker.listeners.map((l) => ({type: l.spec.type, host: l.address.host, port: l.address.port}))
}

const USER_STATUS: Record<UsersError['code'], number> = {
  no_password_file: 409,
  invalid_username: 400,
  invalid_password: 400,
  user_exists: 409,
  no_such_user: 404,
}

async function users(action: () => Promise<void>): Promise<void> {
  try {
    await action()
  } catch (error) {
    if (error instanceof UsersError) throw new ApiError(USER_STATUS[error.code], error.code, error.message, error.code.startsWith('invalid_') ? error.code.slice(8) : undefined)
    throw error
  }
}

export function routes__config(app: FastifyInstance, broker: Broker, options: ConfigRouteOptions): void {
  const view = () => ({...broker.config, listeners: listeners(broker), readOnly: ['listeners'], configFile: options.configFile ?? null})

  app.get('/config', async () => view())

  app.post('/config', async (request) => {
    const body = api__object(request.body)
    const patch: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(body)) {
      if (key === 'listeners' || key === 'readOnly' || key === 'configFile') throw new ApiError(400, 'read_only_setting', `${key} cannot change while the broker runs`, key)
      patch[camel(key)] = value
    }
    try {
      broker.configure(patch)
    } catch (error) {
      if (error instanceof ConfigureError) throw new ApiError(400, error.code, error.message, error.field)
      throw error
    }
    if (options.configFile !== undefined && Object.keys(patch).length > 0) {
      try {
        await configFile__update(options.configFile, patch)
      } catch (error) {
        throw new ApiError(500, 'config_file_not_written', `the change applies now but was not written to ${options.configFile}: ${(error as Error).message}`)
      }
    }
    return view()
  })

  app.get('/users', async () => ({data: broker.users.list().map((username) => ({username})), passwordFile: broker.users.available}))

  app.post('/users', async (request, reply) => {
    const body = api__object(request.body)
    await users(() => broker.users.add(body.username as string, body.password as string))
    return reply.code(201).send({username: body.username})
  })

  app.put('/users/:username', async (request) => {
    const {username} = request.params as {username: string}
    const body = api__object(request.body)
    await users(() => broker.users.setPassword(username, body.password as string))
    return {username}
  })

  app.delete('/users/:username', async (request, reply) => {
    const {username} = request.params as {username: string}
    await users(() => broker.users.delete(username))
    return reply.code(204).send()
  })
}
