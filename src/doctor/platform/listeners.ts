// One entry point for "who listens on which port" whatever the operating system.
import type {DoctorPlatform, Exec, ListeningSocket} from '../types.js'
import {linux__findProcesses, linux__listeners} from './linux.js'
import {macos__findProcesses, macos__listeners} from './macos.js'
import {windows__findProcesses, windows__listeners} from './windows.js'

/** Listening TCP sockets (on `ports` when given: a hint, other platforms may list more), or undefined when this platform gives no way to list them (tool missing). */
export async function platform__listeners(platform: DoctorPlatform, exec: Exec, ports?: number[]): Promise<ListeningSocket[] | undefined> {
  if (platform === 'linux') return linux__listeners('/proc', ports)
  if (platform === 'win32') return windows__listeners(exec)
  return macos__listeners(exec)
}

/** Running processes of a program (`mosquitto`), by their executable name. */
export async function platform__findProcesses(
  platform: DoctorPlatform,
  exec: Exec,
  name: string,
): Promise<{pid: number; command: string}[]> {
  if (platform === 'linux') return linux__findProcesses(name)
  if (platform === 'win32') return windows__findProcesses(exec, `${name}.exe`)
  return macos__findProcesses(exec, name)
}

/** True when the address accepts connections from other machines. */
export function platform__isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '*'
}

export function platform__isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')
}
