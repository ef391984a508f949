/**
 * `mqttkit --version` without loading oclif (issue 20: it is called by scripts and install checks): the line oclif
 * prints, its Config.userAgent, made the same way (`wsl` on WSL, `x86` for ia32); test/project checks both agree.
 */
import {readFileSync} from 'node:fs'
import {arch, platform} from 'node:os'
import isWsl from 'is-wsl'

/** Prints the version line; `bin` is bin/run.js's URL, next to which package.json is found. */
export function cli__version(bin: string): void {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', bin), 'utf8')) as {name: string; version?: string}
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  process.stdout.write(`${pkg.name}/${pkg.version ?? '0.0.0'} ${isWsl ? 'wsl' : platform()}-${cpu} node-${process.version}\n`)
}
