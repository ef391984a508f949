/**
 * Forks one of bench's child modules (a worker, the local broker). From dist/ it is plain JavaScript; from the
 * TypeScript sources (tests importing src/) the child needs the tsx loader that runs the sources.
 */
import {type ChildProcess, fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export function fork__module(name: string, args: string[] = []): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts')
  const file = fileURLToPath(new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url))
  return fork(file, args, {
    serialization: 'advanced',
    execArgv: fromSource ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
}
