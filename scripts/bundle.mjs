// The CLI as users start it (issue 20): esbuild bundles the entry (src/cli/run.ts, oclif inside) and the commands that
// scripts call in loops (pub, sub) with everything they import, into dist/bundle/; code loaded only on some paths
// (ora on a terminal) stays a dynamic import, so a chunk of its own. bin/run.js runs this bundle for --version,
// --help and those commands (dist/bundle/bundled.js lists them).
// The other commands are not bundled: they find files next to their modules (the SQLite worker, bench's forked
// workers, package.json for $SYS, the web page), which a bundle would move. bin/run.js starts them with oclif as
// installed (dist/cli/run.js, the tsc build of the same entry), and dist/bundle/commands/ holds one-line re-exports
// of their tsc build, so oclif finds every command in one directory (package.json "oclif.commands", the manifest).
// Run after tsc (npm run build).
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist/bundle')
const BUNDLED = ['pub', 'sub']

// ws tries require('bufferutil') and require('utf-8-validate'), optional native helpers mqttkit does not install,
// and uses its JavaScript code without them; searching every node_modules folder for them cost ~10 ms per `pub`.
// In the bundle they are absent the way a missing package is (ws's catch takes the same path).
const absentOptional = {
  name: 'absent-optional',
  setup(b) {
    b.onResolve({filter: /^(bufferutil|utf-8-validate)$/}, (args) => ({path: args.path, namespace: 'absent'}))
    b.onLoad({filter: /.*/, namespace: 'absent'}, (args) => ({
      contents: `throw Object.assign(new Error("Cannot find module '${args.path}' (not bundled)"), {code: 'MODULE_NOT_FOUND'})`,
    }))
  },
}

rmSync(out, {recursive: true, force: true})
const {metafile} = await build({
  absWorkingDir: root,
  entryPoints: {run: 'src/cli/run.ts', version: 'src/cli/version.ts', ...Object.fromEntries(BUNDLED.map((id) => [`commands/${id}`, `src/commands/${id}.ts`]))},
  outdir: out,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native addons stay in node_modules; oclif's TypeScript support (never used by bin/run.js) is left out.
  external: ['better-sqlite3', 'typescript', 'ts-node', 'tsx', 'tsx/*'],
  plugins: [absentOptional],
  // The CommonJS dependencies call require() for Node's built-ins: an ES module has none of its own.
  banner: {js: "import {createRequire as __bundleRequire} from 'node:module'; const require = __bundleRequire(import.meta.url);"},
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
})
// A bundle moves code away from its directory: a bundled module of ours that finds files next to itself through
// import.meta would look in the wrong place. Such a command is not bundled (or the module finds its files otherwise).
const moved = Object.keys(metafile.inputs).filter((file) => file.startsWith('src/') && /import\.meta\.(url|dirname|filename)/.test(readFileSync(join(root, file), 'utf8')))
if (moved.length > 0) throw new Error(`scripts/bundle.mjs: bundled modules use import.meta (paths would move): ${moved.join(', ')}`)

// Which sources each output holds: test/project/startup-imports.test.ts maps the files a command loads to them.
writeFileSync(join(root, 'dist/bundle-meta.json'), JSON.stringify(metafile))

function commandFiles(dir, prefix = '') {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    if (entry.isDirectory()) return commandFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
    return entry.name.endsWith('.js') ? [`${prefix}${entry.name.slice(0, -3)}`] : []
  })
}

writeFileSync(join(out, 'bundled.js'), `// Written by scripts/bundle.mjs: the commands bin/run.js runs from this bundle.\nexport const BUNDLED = ${JSON.stringify(BUNDLED)}\n`)

for (const id of commandFiles(join(root, 'dist/commands'))) {
  if (BUNDLED.includes(id)) continue
  const stub = join(out, 'commands', `${id}.js`)
  mkdirSync(dirname(stub), {recursive: true})
  const target = relative(dirname(stub), join(root, 'dist/commands', `${id}.js`))
  writeFileSync(stub, `// Not bundled (scripts/bundle.mjs says why): the tsc build of src/commands/${id}.ts.\nexport {default} from '${target}'\n`)
}
