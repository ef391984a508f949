// oclif reads commands from the committed oclif.manifest.json when it exists, so a stale manifest hides new
// commands and flags from users: compare it with what the built commands declare.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {Plugin} from '@oclif/core'
import {describe, expect, it} from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

function summary(manifest: {commands: Record<string, {flags: Record<string, unknown>}>}) {
  return Object.fromEntries(
    Object.entries(manifest.commands)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, command]) => [id, Object.keys(command.flags).sort()]),
  )
}

describe('oclif.manifest.json', () => {
  it('lists every built command with its flags (regenerate with `npm run manifest`)', async () => {
    const committed = JSON.parse(readFileSync(`${root}/oclif.manifest.json`, 'utf8'))
    const plugin = new Plugin({root, ignoreManifest: true, isRoot: true, type: 'core'})
    await plugin.load()
    expect(Object.keys(plugin.manifest.commands).length).toBeGreaterThan(5)
    expect(summary(committed)).toEqual(summary(plugin.manifest))
  })
})
