// Is a mosquitto running in the background? The usual reason `mqttkit broker` cannot bind 1883 is a mosquitto
// installed as a service (apt, brew, the Windows installer) that started at boot.
import {fix__killProcess, fix__stopMosquitto, type ServiceManager} from '../fixes.js'
import {platform__findProcesses} from '../platform/listeners.js'
import {
  services__parseBrew,
  services__parseSc,
  services__parseService,
  services__parseSystemctl,
  type ServiceState,
} from '../platform/services.js'
import type {Check, DoctorContext} from '../types.js'

export interface MosquittoFacts extends Record<string, unknown> {
  processes: {pid: number; command: string}[]
  /** The service manager that runs mosquitto, when one does. */
  manager?: ServiceManager
  services: Partial<Record<ServiceManager, ServiceState>>
}

async function serviceStates(ctx: DoctorContext): Promise<MosquittoFacts['services']> {
  const out: MosquittoFacts['services'] = {}
  if (ctx.platform === 'linux') {
    const sd = await ctx.exec('systemctl', ['is-active', 'mosquitto'])
    if (sd) out.systemd = services__parseSystemctl(sd.stdout, sd.stderr, sd.code)
    // Without a running systemd (containers, WSL1, SysV distributions) the init script is the authority.
    if (!sd || out.systemd === 'unknown') {
      const sv = await ctx.exec('service', ['mosquitto', 'status'])
      if (sv) out.sysv = services__parseService(sv.stdout, sv.stderr, sv.code)
    }
  } else if (ctx.platform === 'darwin') {
    const brew = await ctx.exec('brew', ['services', 'list'], 15_000)
    if (brew && brew.code === 0) out.brew = services__parseBrew(brew.stdout)
  } else if (ctx.platform === 'win32') {
    const sc = await ctx.exec('sc', ['query', 'mosquitto'])
    if (sc) out.windows = services__parseSc(sc.stdout)
  }
  return out
}

export const mosquittoCheck: Check = {
  id: 'mosquitto',
  title: 'background mosquitto',
  applies: (o) => o.local,
  async run(ctx) {
    const [processes, services] = await Promise.all([platform__findProcesses(ctx.platform, ctx.exec, 'mosquitto'), serviceStates(ctx)])
    const manager = (Object.keys(services) as ServiceManager[]).find((m) => services[m] === 'running')
    const data: MosquittoFacts = {processes, manager, services}
    const base = {id: 'mosquitto', title: 'background mosquitto'}
    if (!manager && processes.length === 0) {
      const installed = Object.values(services).some((s) => s === 'stopped')
      return {...base, status: 'ok', detail: installed ? 'mosquitto is installed as a service but not running' : 'no mosquitto is running', data}
    }
    const list = processes.map((p) => `pid ${p.pid} (${p.command})`).join(', ')
    const how = manager ? `as a ${MANAGER_NAMES[manager]} service` : 'as a process started by hand'
    const fix = manager ? fix__stopMosquitto(manager) : [fix__killProcess(ctx.platform, ...processes.map((p) => p.pid))]
    fix.push('only needed if it is in the way: it holds its ports (see the port checks) and answers clients meant for another broker')
    return {...base, status: 'warn', detail: `mosquitto is running ${how}${list ? `: ${list}` : ''}`, fix, data}
  },
}

const MANAGER_NAMES: Record<ServiceManager, string> = {
  systemd: 'systemd',
  sysv: 'init.d',
  brew: 'Homebrew',
  windows: 'Windows',
}
