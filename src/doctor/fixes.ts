// Concrete fix commands, per platform. Kept in one table so every check suggests the same wording and the
// docs (docs/doctor.md) can list them in one place.
import type {DoctorPlatform} from './types.js'

export type ServiceManager = 'systemd' | 'sysv' | 'brew' | 'windows'

/** How to stop a background mosquitto for good, by the manager that runs it. */
export function fix__stopMosquitto(manager: ServiceManager): string[] {
  switch (manager) {
    case 'systemd':
      return ['sudo systemctl stop mosquitto', 'sudo systemctl disable mosquitto   # keep it from starting at boot']
    case 'sysv':
      return ['sudo service mosquitto stop', 'sudo update-rc.d mosquitto disable   # keep it from starting at boot']
    case 'brew':
      return ['brew services stop mosquitto']
    case 'windows':
      return ['net stop mosquitto   # in an Administrator prompt', 'sc config mosquitto start= demand   # keep it from starting at boot']
  }
}

/** How to end the processes that hold a port (one command for all of them). */
export function fix__killProcess(platform: DoctorPlatform, ...pids: number[]): string {
  return platform === 'win32' ? `taskkill ${pids.map((p) => `/PID ${p}`).join(' ')} /F` : `kill ${pids.join(' ')}`
}

/** Run mqttkit's broker on another port when the usual one is taken. */
export function fix__otherPort(port: number): string {
  // 8084 is the secure WebSocket port, so a WebSocket listener moves to 9001 (a common MQTT WebSocket port).
  const alt = port === 1883 ? 1884 : port === 8083 || port === 8000 ? 9001 : port + 1
  const flag = PORT_FLAGS[port] ?? '--mqtt-port'
  const also = port === 8083 ? ' (or --no-ws)' : ''
  return `mqttkit broker ${flag} ${alt}${also}   # or point clients at the broker that already holds ${port}`
}

/** The `mqttkit broker` flag that moves each well-known listener (8083 is its default WebSocket port). */
const PORT_FLAGS: Record<number, string> = {1883: '--mqtt-port', 8883: '--tls-port', 8083: '--ws-port', 8084: '--wss-port', 8000: '--ws-port'}

export function fix__raiseFileLimit(platform: DoctorPlatform, wanted: number): string[] {
  const n = String(Math.max(wanted, 65_536))
  if (platform === 'darwin') {
    return [`ulimit -n ${n}   # this shell`, `sudo launchctl limit maxfiles ${n} 200000   # whole system, until reboot`]
  }
  return [
    `ulimit -n ${n}   # this shell (up to the hard limit)`,
    `add "* soft nofile ${n}" and "* hard nofile ${n}" to /etc/security/limits.conf   # every login`,
    `LimitNOFILE=${n} in the [Service] section of a systemd unit   # a broker run as a service`,
  ]
}

/** Let other machines reach a TCP port through the host firewall. */
export function fix__openFirewall(platform: DoctorPlatform, port: number): string[] {
  if (platform === 'win32') {
    return [`netsh advfirewall firewall add rule name="MQTT ${port}" dir=in action=allow protocol=TCP localport=${port}`]
  }
  if (platform === 'darwin') {
    return ['System Settings → Network → Firewall → Options: allow incoming connections for the broker program']
  }
  return [`sudo ufw allow ${port}/tcp   # Ubuntu/Debian with ufw`, `sudo firewall-cmd --add-port=${port}/tcp --permanent && sudo firewall-cmd --reload   # Fedora/RHEL`]
}

export function fix__installNode(platform: DoctorPlatform): string[] {
  if (platform === 'win32') return ['winget install OpenJS.NodeJS.LTS']
  if (platform === 'darwin') return ['brew install node@22', 'or: nvm install --lts']
  return ['nvm install --lts   # https://github.com/nvm-sh/nvm', 'or your distribution\'s nodejs package from NodeSource']
}
