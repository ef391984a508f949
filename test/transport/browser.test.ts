/**
 * The browser snippet of docs/transports.md, run as written (only the port changes) in headless Chromium against
 * the JSON gateway, with an mqtt.js client on TCP on the other side.
 */
import {readFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {chromium, type Browser as Chromium} from 'playwright-core'
import {afterAll, describe, expect, it} from 'vitest'
import type {Broker} from '../../src/broker/broker.js'
import {requireProgram} from '../helpers/system.js'
import {broker__start, mqtt__closeAll, mqtt__connect, mqtt__next, portOf} from './harness.js'

const CHROMIUM = '/usr/bin/chromium'

let broker: Broker | undefined
let server: http.Server | undefined
let browser: Chromium | undefined

afterAll(async () => {
  await browser?.close()
  await mqtt__closeAll()
  await broker?.close()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
})

function docsSnippet(): string {
  const docs = readFileSync(new URL('../../docs/transports.md', import.meta.url), 'utf8')
  const match = /```html\n([\s\S]*?)```/.exec(docs)
  if (match === null) throw new Error('docs/transports.md has no ```html snippet')
  return match[1]!
}

describe('JSON gateway from a browser', () => {
  it('the docs snippet subscribes, publishes and shows messages in headless Chromium', async (ctx) => {
    if (!requireProgram(ctx, CHROMIUM, 'chromium')) return
    broker = await broker__start([
      {type: 'tcp', host: '127.0.0.1', port: 0},
      {type: 'ws', host: '127.0.0.1', port: 0},
    ])
    const snippet = docsSnippet()
    expect(snippet).toContain(':8083/mqtt')
    const page = snippet.replace(':8083/mqtt', `:${portOf(broker, 'ws')}/mqtt`)
    server = http.createServer((_req, res) => res.writeHead(200, {'Content-Type': 'text/html'}).end(page))
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

    const mq = await mqtt__connect(`mqtt://127.0.0.1:${portOf(broker, 'tcp')}`)
    await mq.subscribeAsync('demo/hello', {qos: 1})
    const fromBrowser = mqtt__next(mq, 'demo/hello')

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    })
    const tab = await browser.newPage()
    await tab.goto(pageUrl)
    expect((await fromBrowser).payload.toString()).toBe('hello from the browser')
    const log = tab.locator('#log')
    // The page subscribed to demo/# and sees its own message, then one from the MQTT client.
    await expect.poll(() => log.textContent(), {timeout: 10_000}).toContain('demo/hello: hello from the browser')
    await mq.publishAsync('demo/from-mqtt', 'hello from mqtt.js', {qos: 1})
    await expect.poll(() => log.textContent(), {timeout: 10_000}).toContain('demo/from-mqtt: hello from mqtt.js')
  })
})
