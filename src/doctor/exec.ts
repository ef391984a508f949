// Runs the platform tools doctor reads (lsof, netstat, systemctl…) without a shell, with a time limit.
import {execFile} from 'node:child_process'

import type {CommandResult, Exec} from './types.js'

export const exec__run: Exec = (file, args, timeoutMs = 5000) =>
  new Promise<CommandResult | null>((resolve) => {
    execFile(
      file,
      args,
      {timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, windowsHide: true, encoding: 'utf8'},
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code
        // A missing program is "not installed", which checks report as skip, not as a failure.
        if (code === 'ENOENT') return resolve(null)
        let exit = 0
        if (error) exit = typeof (error as {code?: unknown}).code === 'number' ? Number((error as {code?: unknown}).code) : -1
        resolve({code: exit, stdout: String(stdout ?? ''), stderr: String(stderr ?? '')})
      },
    )
  })
