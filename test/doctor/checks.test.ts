// Machine checks driven by recorded command outputs: the right service manager is found and the fix names
// the command for that platform.
import {describe, expect, it} from 'vitest'

import {dockerCheck} from '../../src/doctor/checks/docker.js'
import {fileLimitCheck} from '../../src/doctor/checks/file-limit.js'
import {mosquittoCheck} from '../../src/doctor/checks/mosquitto.js'
import {node__assess} from '../../src/doctor/checks/node.js'
import {doctor__run} from '../../src/doctor/runner.js'
import type {Check, CheckResult, DoctorOptions, DoctorPlatform, Exec} from '../../src/doctor/types.js'
import {fakeExec, fixture} from './helpers.js'

function options(platform: DoctorPlatform, extra: Partial<DoctorOptions> = {}): DoctorOptions {
  return {platform, ports: [1883, 8883, 8083, 8084, 8000], extraPorts: [], expectedConnections: 1000, timeoutMs: 2000, local: true, testTopic: 'mqttkit/doctor', ...extra}
}

async function runOne(check: Check, platform: DoctorPlatform, exec: Exec, extra: Partial<DoctorOptions> = {}): Promise<CheckResult> {
  const report = await doctor__run([check], options(platform, extra), {exec})
  expect(report.checks).toHaveLength(1)
  return report.checks[0]
}

describe('background mosquitto', () => {
  it('macOS: a Homebrew service → `brew services stop mosquitto`', async () => {
    const exec = fakeExec({'brew services list': fixture('macos-brew-services.txt'), 'ps -axo pid=,command=': fixture('macos-ps.txt')})
    const r = await runOne(mosquittoCheck, 'darwin', exec)
    expect(r.status).toBe('warn')
    expect(r.detail).toContain('Homebrew service')
    expect(r.detail).toContain('pid 812')
    expect(r.fix?.[0]).toBe('brew services stop mosquitto')
  })

  it('Windows: a running service → `net stop mosquitto`', async () => {
    const exec = fakeExec({
      'sc query mosquitto': fixture('windows-sc-running.txt'),
      'tasklist /FO CSV /NH /FI IMAGENAME eq mosquitto.exe': '"mosquitto.exe","3876","Services","0","7,412 K"\r\n',
    })
    const r = await runOne(mosquittoCheck, 'win32', exec)
    expect(r.status).toBe('warn')
    expect(r.data?.processes).toEqual([{pid: 3876, command: 'mosquitto.exe'}])
    expect(r.fix?.[0]).toMatch(/^net stop mosquitto/)
  })

  it('Windows: installed but stopped, no process → ok', async () => {
    const exec = fakeExec({'sc query mosquitto': fixture('windows-sc-stopped.txt'), 'tasklist /FO CSV /NH /FI IMAGENAME eq mosquitto.exe': 'INFO: No tasks are running which match the specified criteria.\r\n'})
    const r = await runOne(mosquittoCheck, 'win32', exec)
    expect(r.status).toBe('ok')
    expect(r.detail).toBe('mosquitto is installed as a service but not running')
  })

  it('Linux with systemd: active → `sudo systemctl stop mosquitto`', async () => {
    const exec = fakeExec({'systemctl is-active mosquitto': 'active\n'})
    const r = await runOne(mosquittoCheck, 'linux', exec)
    expect(r.status).toBe('warn')
    expect(r.detail).toContain('systemd service')
    expect(r.fix?.[0]).toBe('sudo systemctl stop mosquitto')
    // systemd answered, so the SysV script was not consulted.
    expect(exec.calls).not.toContain('service mosquitto status')
  })

  it('Linux without systemd (containers, WSL): falls back to `service mosquitto status`', async () => {
    const exec = fakeExec({
      'systemctl is-active mosquitto': {code: 1, stdout: '', stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\n'},
      'service mosquitto status': fixture('linux-service-running.txt'),
    })
    const r = await runOne(mosquittoCheck, 'linux', exec)
    expect(r.status).toBe('warn')
    expect(r.fix?.[0]).toBe('sudo service mosquitto stop')
  })
})

describe('Docker', () => {
  it('names the container publishing 1883 and how to stop it', async () => {
    const exec = fakeExec({'docker ps --format {{.ID}}\t{{.Image}}\t{{.Names}}\t{{.Ports}}': fixture('docker-ps.txt')})
    const r = await runOne(dockerCheck, 'linux', exec)
    expect(r.status).toBe('warn')
    expect(r.detail).toContain('mqtt-dev (eclipse-mosquitto:2) publishes 1883')
    expect(r.detail).toContain('emqx (emqx/emqx:5.8) publishes 8083, 8084')
    expect(r.fix).toContain('docker stop mqtt-dev   # if this broker is not the one you want')
  })

  it('skips when docker is not installed, and when its daemon does not answer', async () => {
    expect((await runOne(dockerCheck, 'linux', fakeExec({}))).status).toBe('skip')
    const down = fakeExec({'docker ps --format {{.ID}}\t{{.Image}}\t{{.Names}}\t{{.Ports}}': {code: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'}})
    const r = await runOne(dockerCheck, 'linux', down)
    expect(r.status).toBe('skip')
    expect(r.detail).toContain('Cannot connect to the Docker daemon')
  })
})

describe('open-file limit', () => {
  it('macOS: warns when `ulimit -n` is below the expected connections, with launchctl in the fix', async () => {
    const exec = fakeExec({'sh -c ulimit -n; ulimit -Hn': '256\nunlimited\n'})
    const r = await runOne(fileLimitCheck, 'darwin', exec, {expectedConnections: 5000})
    expect(r.status).toBe('warn')
    expect(r.detail).toContain('soft limit 256, hard limit unlimited')
    expect(r.fix?.some((f) => f.startsWith('sudo launchctl limit maxfiles'))).toBe(true)
  })

  it('Linux: reads /proc/self/limits and compares with --connections', async () => {
    const ok = await runOne(fileLimitCheck, 'linux', fakeExec({}), {expectedConnections: 1})
    expect(ok.status).toBe('ok')
    const tooMany = await runOne(fileLimitCheck, 'linux', fakeExec({}), {expectedConnections: 100_000_000})
    expect(tooMany.status).toBe('warn')
    expect(tooMany.fix?.[0]).toMatch(/^ulimit -n \d+/)
  })

  it('Windows: skipped', async () => {
    expect((await runOne(fileLimitCheck, 'win32', fakeExec({}))).status).toBe('skip')
  })
})

describe('Node.js version', () => {
  it('needs 20 or newer; odd lines are a warning', () => {
    expect(node__assess('18.19.0').status).toBe('fail')
    expect(node__assess('20.20.2').status).toBe('ok')
    expect(node__assess('23.1.0').status).toBe('warn')
    expect(node__assess('24.0.0').status).toBe('ok')
  })
})

describe('browser access', () => {
  it('fails a ws:// URL on port 1883 and points at the WebSocket port', async () => {
    const {websocketCheck} = await import('../../src/doctor/checks/websocket.js')
    const target = {
      protocol: 'ws' as const,
      host: 'localhost',
      port: 1883,
      path: '/mqtt',
      display: 'ws://localhost:1883/mqtt',
      clientOptions: {},
      protocolVersionGiven: false,
    }
    const r = await runOne(websocketCheck, 'linux', fakeExec({}), {local: false, target})
    expect(r.status).toBe('fail')
    expect(r.detail).toContain('raw MQTT over TCP')
    expect(r.fix?.[0]).toContain('ws://localhost:8083/mqtt')
  })
})

describe('fix commands', () => {
  it('ends several processes with one command per platform', async () => {
    const {fix__killProcess, fix__otherPort} = await import('../../src/doctor/fixes.js')
    expect(fix__killProcess('linux', 11, 12)).toBe('kill 11 12')
    expect(fix__killProcess('win32', 11, 12)).toBe('taskkill /PID 11 /PID 12 /F')
    expect(fix__otherPort(1883)).toMatch(/^mqttkit broker --mqtt-port 1884 /)
    expect(fix__otherPort(8883)).toMatch(/^mqttkit broker --tls-port 8884 /)
    expect(fix__otherPort(8083)).toMatch(/^mqttkit broker --ws-port 9001 \(or --no-ws\)/)
  })
})
