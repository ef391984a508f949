// Parsers for the service managers that can keep a mosquitto running in the background:
// systemd, SysV `service`, Homebrew services on macOS and the Windows service control manager.

export type ServiceState = 'running' | 'stopped' | 'absent' | 'unknown'

/** `systemctl is-active mosquitto`: prints one word; exit 0 only when active. */
export function services__parseSystemctl(stdout: string, stderr: string, code: number | null): ServiceState {
  const word = stdout.trim().split(/\s+/)[0] ?? ''
  if (code === 0 || word === 'active' || word === 'activating' || word === 'reloading') return 'running'
  if (/not been booted with systemd|Failed to connect to bus/i.test(stderr)) return 'unknown'
  if (word === 'inactive' || word === 'failed' || word === 'deactivating') return 'stopped'
  // systemd prints "inactive" for units it has never heard of, too; "unknown" appears on older systemd.
  return word === 'unknown' ? 'absent' : 'unknown'
}

/** `service mosquitto status` (SysV init scripts and systemd's wrapper): exit 0 running, 3 stopped, 4/1 unknown service. */
export function services__parseService(stdout: string, stderr: string, code: number | null): ServiceState {
  const text = `${stdout}\n${stderr}`
  if (/unrecognized service|could not be found|not-found|No such file/i.test(text)) return 'absent'
  if (code === 0 && /Active:\s+(?!active)/.test(text)) return 'stopped'
  if (code === 0 || /is running|Active:\s+active/.test(text)) return 'running'
  if (code === 3 || /not running|inactive|dead/.test(text)) return 'stopped'
  return 'unknown'
}

/** `brew services list`: `mosquitto started me ~/Library/LaunchAgents/homebrew.mxcl.mosquitto.plist`. */
export function services__parseBrew(stdout: string, name = 'mosquitto'): ServiceState {
  for (const line of stdout.split('\n')) {
    const [service, status] = line.trim().split(/\s+/)
    if (service !== name) continue
    if (status === 'started' || status === 'scheduled') return 'running'
    return 'stopped'
  }
  return 'absent'
}

/** `sc query mosquitto`: `STATE : 4  RUNNING`; error 1060 when no such service is installed. */
export function services__parseSc(stdout: string): ServiceState {
  if (/\b1060\b/.test(stdout)) return 'absent'
  const m = /STATE\s*:\s*(\d+)/.exec(stdout)
  if (!m) return 'unknown'
  // 2 START_PENDING and 4 RUNNING mean it is (becoming) active; 1 STOPPED and 3 STOP_PENDING that it is not.
  return m[1] === '4' || m[1] === '2' ? 'running' : 'stopped'
}
