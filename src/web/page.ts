/**
 * The page and the few files it loads, from a fixed list: the app in ui/ and the browser builds of preact, htm,
 * uPlot and mqtt.js straight from node_modules (no CDN, works offline). A fixed list rather than a static-file
 * plugin over node_modules: nothing else on disk can be reached through the admin port.
 */
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const require = createRequire(import.meta.url)

/** The package's directory, found from its main file (their exports maps hide the dist/ builds from resolve()). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as {name?: string}).name === name) return dir
    const up = dirname(dir)
    if (up === dir) throw new Error(`cannot find the ${name} package`)
    dir = up
  }
}

/** ui/ beside this file when run from src/ (tests), else the package's src/web/ui (from dist/web/). */
function uiDir(): string {
  const here = fileURLToPath(new URL('./ui/', import.meta.url))
  return existsSync(here) ? here : fileURLToPath(new URL('../../src/web/ui/', import.meta.url))
}

const JS = 'text/javascript; charset=utf-8'

export interface PageFile {
  path: string
  type: string
}

export function page__files(): Map<string, PageFile> {
  const ui = uiDir()
  return new Map<string, PageFile>([
    ['/', {path: join(ui, 'index.html'), type: 'text/html; charset=utf-8'}],
    ['/app.js', {path: join(ui, 'app.js'), type: JS}],
    ['/lib.js', {path: join(ui, 'lib.js'), type: JS}],
    ['/views.js', {path: join(ui, 'views.js'), type: JS}],
    ['/mqtt-view.js', {path: join(ui, 'mqtt-view.js'), type: JS}],
    ['/style.css', {path: join(ui, 'style.css'), type: 'text/css; charset=utf-8'}],
    ['/vendor/preact.js', {path: join(packageDir('preact'), 'dist', 'preact.module.js'), type: JS}],
    ['/vendor/preact-hooks.js', {path: join(packageDir('preact'), 'hooks', 'dist', 'hooks.module.js'), type: JS}],
    ['/vendor/htm.js', {path: join(packageDir('htm'), 'dist', 'htm.module.js'), type: JS}],
    ['/vendor/uplot.js', {path: join(packageDir('uplot'), 'dist', 'uPlot.iife.min.js'), type: JS}],
    ['/vendor/uplot.css', {path: join(packageDir('uplot'), 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8'}],
    ['/vendor/mqtt.js', {path: join(packageDir('mqtt'), 'dist', 'mqtt.esm.js'), type: JS}],
  ])
}

/** What a request without credentials gets for the page: how to log in, and nothing else. */
export const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mqttkit admin: log in</title><style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}}input{font:inherit;width:100%;padding:.4rem;margin:.5rem 0}</style></head>
<body><h1>mqttkit admin</h1><p>Open the login URL the broker printed when it first started, or paste the admin token.
<code>mqttkit web-token --reset</code> makes a new one.</p>
<form method="get" action="/"><label for="token">Admin token</label><input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Log in</button></form></body></html>`
