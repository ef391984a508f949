/**
 * The admin page in headless Chromium (Debian's /usr/bin/chromium via playwright-core), against a broker with TCP
 * and WebSocket listeners, with mosquitto_sub/mosquitto_pub as the outside clients. Under CI a missing chromium or
 * mosquitto client fails these tests (test/helpers/system.ts). `UPDATE_SCREENSHOTS=1` writes the screenshots of
 * every page to docs/images/ (they are made by this run's browser, so they show the real page).
 */
import {mkdirSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {tmpdir} from 'node:os'
import {chromium, type Browser, type BrowserContext, type Page} from 'playwright-core'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {AuthFiles} from '../../src/broker/auth/hooks.js'
import {Broker} from '../../src/broker/broker.js'
import {AdminServer} from '../../src/web/server.js'
import {mosq__cleanup, mosq__pub, mosq__require, mosq__sub} from '../helpers/mosquitto-clients.js'
import {requireProgram} from '../helpers/system.js'
import {web__cleanup, web__tempDir} from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const SHOTS = process.env.UPDATE_SCREENSHOTS ? join(import.meta.dirname, '..', '..', 'docs', 'images') : join(tmpdir(), 'mqttkit-web-screenshots')

let browser: Browser | undefined
let context: BrowserContext | undefined
let broker: Broker
let admin: AdminServer
let mqttPort = 0
let loginUrl = ''
let adminUrl = ''
/** Requests to anything but this machine, and console errors, of every page the tests opened. */
const outside: string[] = []
const consoleErrors: string[] = []

beforeAll(async () => {
  const dir = await web__tempDir()
  const passwordFile = join(dir, 'passwd')
  await writeFile(passwordFile, '', {mode: 0o600})
  broker = new Broker({
    logLevel: 'silent',
    sysInterval: 0,
    auth: await AuthFiles.load({passwordFile, failedLoginDelayMs: 0}),
    listeners: [
      {type: 'tcp', host: '127.0.0.1', port: 0},
      {type: 'ws', host: '127.0.0.1', port: 0},
    ],
  })
  const [tcp] = await broker.listen()
  mqttPort = tcp!.address.port
  admin = new AdminServer(broker, {port: 0, dataDir: dir, version: 'test'})
  const address = await admin.listen()
  loginUrl = address.loginUrl!
  adminUrl = address.url
})

afterAll(async () => {
  await context?.close()
  await browser?.close()
  await admin?.close()
  await broker?.close()
  await web__cleanup()
})

afterEach(mosq__cleanup)

/** The browser, logged in once with the token URL; a missing chromium fails under CI and skips locally. */
async function tab(ctx: {skip(note?: string): void}): Promise<Page | undefined> {
  if (!requireProgram(ctx, CHROMIUM, 'chromium') || !mosq__require(ctx)) return undefined
  if (context === undefined) {
    browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']})
    context = await browser.newContext({viewport: {width: 1280, height: 800}})
    // Works offline: anything not on this machine is blocked and recorded (the test of all pages asserts none).
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname
      if (host === '127.0.0.1' || host === 'localhost') return route.continue()
      outside.push(route.request().url())
      return route.abort()
    })
    const login = await context.newPage()
    watch(login)
    await login.goto(loginUrl)
    await login.close()
  }
  const page = await context.newPage()
  watch(page)
  return page
}

function watch(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`))
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${adminUrl}#/${route}`)
  await page.locator(`main[data-page="${route}"]`).waitFor()
}

describe('web admin in Chromium', () => {
  it('logs in with the one-time token URL: the token leaves the address bar, a session cookie stays', async (ctx) => {
    if (!requireProgram(ctx, CHROMIUM, 'chromium')) return
    const page = (await tab(ctx))!
    await page.goto(adminUrl)
    await expect.poll(() => page.locator('nav a').count()).toBe(6)
    expect(page.url()).toBe(adminUrl)
    const cookies = await context!.cookies()
    expect(cookies).toEqual([expect.objectContaining({name: 'mqttkit_admin', httpOnly: true, sameSite: 'Strict'})])
    // Keyboard: Tab reaches the navigation, Enter follows a link.
    await page.keyboard.press('Tab')
    expect(await page.locator(':focus').textContent()).toBe('Overview')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.locator('main[data-page="clients"]').waitFor()
    // A browser without the cookie gets only the login form.
    const fresh = await browser!.newPage()
    const res = await fresh.goto(adminUrl)
    expect(res!.status()).toBe(401)
    await expect.poll(() => fresh.locator('input[name="token"]').count()).toBe(1)
    await fresh.close()
    await page.close()
  }, 120_000)

  it('shows mosquitto_sub -i web-e2e in the clients page within 2 s with its subscription, and Kick makes it exit', async (ctx) => {
    const page = await tab(ctx)
    if (page === undefined) return
    await open(page, 'clients')
    // MQTT 5: mosquitto_sub exits on the broker's DISCONNECT 0x98 (a 3.1.1 one reconnects, as it does after any drop).
    const sub = await mosq__sub(mqttPort, ['-i', 'web-e2e', '-t', 'e2e/#', '-q', '1', '-V', 'mqttv5'])
    const row = page.locator('tr[data-client="web-e2e"]')
    // Within 2 s of its SUBACK, with the subscription (a refresh may show the row a moment before its SUBSCRIBE).
    await expect.poll(async () => ((await row.count()) === 0 ? '' : await row.textContent()), {timeout: 2000, interval: 50}).toMatch(/e2e\/#.*QoS 1/)
    await row.getByRole('button', {name: 'Kick'}).click()
    const exit = await sub.exited
    expect(exit.signal).toBeNull()
    expect(broker.clients.get('web-e2e')).toBeUndefined()
    await page.close()
  }, 120_000)

  it('adds a user in the users page; with anonymous access turned off in the config page, mosquitto_pub connects with it', async (ctx) => {
    const page = await tab(ctx)
    if (page === undefined) return
    await open(page, 'users')
    await page.getByLabel('User name').fill('pat')
    await page.getByLabel('Password').fill('pat-secret')
    await page.getByRole('button', {name: 'Add user'}).click()
    await page.getByRole('cell', {name: 'pat', exact: true}).waitFor()
    await open(page, 'config')
    await page.getByLabel('Allow anonymous clients').uncheck()
    await page.getByRole('button', {name: 'Save'}).click()
    await page.getByRole('status').filter({hasText: 'saved: allowAnonymous'}).waitFor()
    expect(broker.config.allowAnonymous).toBe(false)
    const anonymous = await mosq__pub(mqttPort, ['-t', 'users/x', '-m', 'anon', '-V', 'mqttv5'])
    expect(anonymous.code).not.toBe(0)
    const withUser = await mosq__pub(mqttPort, ['-t', 'users/x', '-m', 'pat', '-u', 'pat', '-P', 'pat-secret', '-V', 'mqttv5'])
    expect(withUser.code).toBe(0)
    broker.configure({allowAnonymous: true})
    await page.close()
  }, 120_000)

  it('the MQTT client page publishes to mosquitto_sub and receives from mosquitto_pub, charting numeric payloads', async (ctx) => {
    const page = await tab(ctx)
    if (page === undefined) return
    await open(page, 'mqtt')
    await expect.poll(() => page.locator('input[name="url"]').inputValue()).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/)
    await page.getByRole('button', {name: 'Connect'}).click()
    await page.locator('[data-state="connected"]').waitFor()

    const sub = await mosq__sub(mqttPort, ['-t', 'from/page', '-q', '1', '-V', 'mqttv5'])
    await page.locator('input[name="topic"]').fill('from/page')
    await page.locator('select[name="pubQos"]').selectOption('1')
    await page.locator('textarea[name="payload"]').fill('hello from the page')
    await page.locator('input[name="contentType"]').fill('text/plain')
    await page.getByRole('button', {name: 'Publish'}).click()
    const [got] = await sub.until(1)
    expect(got).toMatchObject({topic: 'from/page', qos: 1, payload: 'hello from the page'})
    expect(got!.properties).toMatchObject({'content-type': 'text/plain'})

    await page.locator('input[name="filter"]').fill('to/page')
    await page.locator('select[name="subQos"]').selectOption('2')
    await page.getByRole('button', {name: 'Subscribe', exact: true}).click()
    await page.getByText('Unsubscribe').waitFor()
    await page.locator('input[name="chartTopic"]').fill('to/page')
    for (const value of ['21.5', '22', '23.25']) expect((await mosq__pub(mqttPort, ['-t', 'to/page', '-m', value, '-q', '2'])).code).toBe(0)
    await expect.poll(() => page.locator('#message-log').textContent()).toContain('to/page 23.25')
    expect(await page.locator('#message-log > div').count()).toBe(3)
    await page.screenshot({path: join(SHOTS, 'web-mqtt.png'), fullPage: true})
    await page.close()
  }, 120_000)

  it('a lower max-connections set in the config form refuses the next connection', async (ctx) => {
    const page = await tab(ctx)
    if (page === undefined) return
    await open(page, 'config')
    await mosq__sub(mqttPort, ['-i', 'holder', '-t', 'limit/#', '-V', 'mqttv5'])
    const limit = broker.clients.count
    expect((await mosq__pub(mqttPort, ['-t', 'limit/x', '-m', 'before', '-V', 'mqttv5'])).code).toBe(0)
    await page.locator('input[name="maxConnections"]').fill(String(limit))
    await page.getByRole('button', {name: 'Save'}).click()
    await page.getByRole('status').filter({hasText: 'saved: maxConnections'}).waitFor()
    expect(broker.config.maxConnections).toBe(limit)
    const refused = await mosq__pub(mqttPort, ['-t', 'limit/x', '-m', 'over', '-V', 'mqttv5'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/quota exceeded/i)
    // A value the broker refuses is shown next to its field.
    await page.locator('input[name="maxKeepalive"]').fill('70000')
    await page.getByRole('button', {name: 'Save'}).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('maxKeepalive must be an integer from 1 to 65535')
    broker.configure({maxConnections: 100_000})
    await page.close()
  }, 120_000)

  it('loads every page with requests outside this machine blocked and no console errors; screenshots of each', async (ctx) => {
    const page = await tab(ctx)
    if (page === undefined) return
    mkdirSync(SHOTS, {recursive: true})
    // Only this test's page loads count (the config test provoked a 400 on purpose).
    outside.length = 0
    consoleErrors.length = 0
    const sub = await mosq__sub(mqttPort, ['-i', 'sensor-17', '-t', 'sensors/#', '-q', '1', '-V', 'mqttv5'])
    for (let i = 0; i < 3; i++) await mosq__pub(mqttPort, ['-t', 'sensors/temperature', '-m', String(20 + i), '-q', '1'])
    await mosq__pub(mqttPort, ['-t', 'sensors/status', '-m', 'online', '-r'])
    await mosq__pub(mqttPort, ['-t', 'sensors/old', '-m', 'stale', '-r'])
    for (const route of ['overview', 'clients', 'topics', 'users', 'config', 'mqtt']) {
      await open(page, route)
      await page.waitForLoadState('networkidle').catch(() => {})
      await page.waitForTimeout(1200)
      if (route === 'clients') await page.locator('tr[data-client="sensor-17"] button.link').click()
      if (route === 'topics') {
        // The retained browser: delete one, the other stays.
        await page.locator('tr[data-retained="sensors/old"]').getByRole('button', {name: 'delete retained message on sensors/old'}).click()
        await page.locator('tr[data-retained="sensors/old"]').waitFor({state: 'detached'})
        expect(await page.locator('tr[data-retained="sensors/status"]').textContent()).toContain('online')
        expect(broker.retained.get('sensors/old')).toBeUndefined()
      }
      if (route !== 'mqtt') await page.screenshot({path: join(SHOTS, `web-${route}.png`), fullPage: true})
    }
    // Phone width, dark.
    const phone = await context!.newPage()
    watch(phone)
    await phone.setViewportSize({width: 390, height: 844})
    await phone.emulateMedia({colorScheme: 'dark'})
    await open(phone, 'overview')
    await phone.waitForTimeout(1200)
    await phone.screenshot({path: join(SHOTS, 'web-overview-phone-dark.png'), fullPage: true})
    await sub.stop()
    expect(outside).toEqual([])
    expect(consoleErrors).toEqual([])
    await phone.close()
    await page.close()
  }, 120_000)
})
