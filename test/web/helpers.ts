/** An in-process broker with its AdminServer on free ports of 127.0.0.1, and a fetch bound to it. */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {AdminServer, type AdminServerOptions} from '../../src/web/server.js'
import {startBroker} from '../broker/helpers.js'
import type {BrokerOptions} from '../../src/broker/options.js'

export const TOKEN = 'test-admin-token-0123456789'

export interface TestAdmin {
  admin: AdminServer
  broker: import('../../src/broker/broker.js').Broker
  mqttPort: number
  url: string
  /** fetch relative to the admin URL; with the Bearer token unless `headers.authorization` says otherwise. */
  api(path: string, init?: RequestInit & {json?: unknown; token?: string | null}): Promise<Response>
}

const open: Array<() => Promise<unknown>> = []

export async function web__cleanup(): Promise<void> {
  for (const fn of open.splice(0).reverse()) await fn().catch(() => {})
}

export async function web__tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mqttkit-web-'))
  open.push(() => rm(dir, {recursive: true, force: true}))
  return dir
}

export async function web__start(brokerOptions: BrokerOptions = {}, adminOptions: AdminServerOptions = {}): Promise<TestAdmin> {
  const {broker, port} = await startBroker(brokerOptions)
  const admin = new AdminServer(broker, {port: 0, token: adminOptions.dataDir === undefined ? TOKEN : undefined, ...adminOptions})
  const address = await admin.listen()
  open.push(() => admin.close())
  const url = address.url.replace(/\/$/, '')
  return {
    admin,
    broker,
    mqttPort: port,
    url,
    api(path, init = {}) {
      const headers = new Headers(init.headers)
      const token = init.token === undefined ? TOKEN : init.token
      if (token !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`)
      let body = init.body
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json')
        body = JSON.stringify(init.json)
      }
      return fetch(url + path, {...init, headers, body, redirect: 'manual'})
    },
  }
}
