// The platform parsers on recorded command outputs (test/doctor/fixtures/), so Linux, macOS and Windows are
// all covered whatever machine runs the tests.
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {docker__hostPorts, docker__parsePs} from '../../src/doctor/platform/docker.js'
import {
  linux__decodeAddress,
  linux__listeners,
  linux__parseCmdline,
  linux__parseOpenFileLimit,
  linux__parseProcNetTcp,
} from '../../src/doctor/platform/linux.js'
import {macos__listeners, macos__parseLsof, macos__parsePs} from '../../src/doctor/platform/macos.js'
import {services__parseBrew, services__parseSc, services__parseService, services__parseSystemctl} from '../../src/doctor/platform/services.js'
import {windows__listeners, windows__parseCsvLine, windows__parseNetstat, windows__parseTasklist} from '../../src/doctor/platform/windows.js'
import {fakeExec, fixture} from './helpers.js'

describe('Linux /proc', () => {
  it('keeps only LISTEN rows of /proc/net/tcp and decodes little-endian IPv4 addresses and hex ports', () => {
    const rows = linux__parseProcNetTcp(fixture('linux-proc-net-tcp.txt'))
    expect(rows).toEqual([
      {address: '0.0.0.0', port: 1883, inode: 40001},
      {address: '127.0.0.1', port: 8083, inode: 40002},
      {address: '192.168.1.20', port: 8000, inode: 40005},
    ])
  })

  it('decodes /proc/net/tcp6 addresses: ::, ::1, IPv4-mapped and link-local', () => {
    const rows = linux__parseProcNetTcp(fixture('linux-proc-net-tcp6.txt'))
    expect(rows.map((r) => [r.address, r.port, r.inode])).toEqual([
      ['::', 1883, 40003],
      ['::1', 8884, 40004],
      ['::ffff:127.0.0.1', 8443, 40006],
      ['fe80::a00:1', 8000, 40007],
    ])
    expect(linux__decodeAddress('0100007F')).toBe('127.0.0.1')
  })

  it('joins NUL-separated cmdline arguments and reads the open-file limits', () => {
    expect(linux__parseCmdline(readFileSync(join(import.meta.dirname, 'fixtures/linux-cmdline.bin'), 'latin1'))).toBe(
      '/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf',
    )
    expect(linux__parseOpenFileLimit(fixture('linux-limits.txt'))).toEqual({soft: 1024, hard: 524288})
    expect(linux__parseOpenFileLimit('Max open files            unlimited            unlimited            files')).toEqual({
      soft: Number.POSITIVE_INFINITY,
      hard: Number.POSITIVE_INFINITY,
    })
  })

  // A fake /proc tree: net/tcp{,6} plus /proc/<pid>/fd links `socket:[inode]` and cmdline files.
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('follows socket inodes through /proc/<pid>/fd to the owning pid and its command line', async () => {
    const proc = await mkdtemp(join(tmpdir(), 'doctor-proc-'))
    dirs.push(proc)
    await mkdir(join(proc, 'net'))
    await writeFile(join(proc, 'net/tcp'), fixture('linux-proc-net-tcp.txt'))
    await writeFile(join(proc, 'net/tcp6'), fixture('linux-proc-net-tcp6.txt'))
    const pids: Record<number, {cmdline: string; sockets: number[]}> = {
      812: {cmdline: '/usr/sbin/mosquitto\0-c\0/etc/mosquitto/mosquitto.conf\0', sockets: [40001, 40003]},
      4242: {cmdline: 'node\0/usr/bin/mqttkit\0broker\0', sockets: [40002]},
    }
    for (const [pid, {cmdline, sockets}] of Object.entries(pids)) {
      await mkdir(join(proc, pid, 'fd'), {recursive: true})
      await writeFile(join(proc, pid, 'cmdline'), cmdline)
      await symlink('/dev/null', join(proc, pid, 'fd', '0'))
      for (const [i, inode] of sockets.entries()) await symlink(`socket:[${inode}]`, join(proc, pid, 'fd', String(i + 3)))
    }
    const sockets = await linux__listeners(proc)
    const on = (port: number, address: string) => sockets.find((s) => s.port === port && s.address === address)
    expect(on(1883, '0.0.0.0')).toEqual({port: 1883, address: '0.0.0.0', pid: 812, command: '/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf'})
    expect(on(1883, '::')?.pid).toBe(812)
    expect(on(8083, '127.0.0.1')).toMatchObject({pid: 4242, command: 'node /usr/bin/mqttkit broker'})
    // Sockets of processes we cannot see (another user's) are still listed, without an owner.
    expect(on(8884, '::1')).toEqual({port: 8884, address: '::1', pid: undefined, command: undefined})
    // Asked about one port, it reports that port only.
    expect(await linux__listeners(proc, [8083])).toEqual([{port: 8083, address: '127.0.0.1', pid: 4242, command: 'node /usr/bin/mqttkit broker'}])
  })
})

describe('macOS lsof', () => {
  it('parses `lsof -nP -iTCP -sTCP:LISTEN`: IPv4, bracketed IPv6, * and escaped command names', () => {
    const rows = macos__parseLsof(fixture('macos-lsof.txt'))
    expect(rows).toEqual([
      {port: 22, address: '0.0.0.0', pid: 1, command: 'launchd'},
      {port: 1883, address: '127.0.0.1', pid: 812, command: 'mosquitto'},
      {port: 1883, address: '::1', pid: 812, command: 'mosquitto'},
      {port: 8083, address: '0.0.0.0', pid: 4242, command: 'node'},
      {port: 8000, address: '127.0.0.1', pid: 901, command: 'Code H'},
    ])
    expect(macos__parsePs(fixture('macos-ps.txt')).get(4242)).toBe('node /Users/alice/app/node_modules/.bin/mqttkit broker')
  })

  it('replaces lsof\'s truncated COMMAND with the full command line from ps', async () => {
    const exec = fakeExec({'lsof -nP -iTCP -sTCP:LISTEN': fixture('macos-lsof.txt'), 'ps -o pid=,command= -p 1,812,4242,901': fixture('macos-ps.txt')})
    const rows = await macos__listeners(exec)
    expect(rows?.find((r) => r.port === 1883)?.command).toBe('/opt/homebrew/opt/mosquitto/sbin/mosquitto -c /opt/homebrew/etc/mosquitto/mosquitto.conf')
    expect(rows?.find((r) => r.port === 22)?.command).toBe('launchd')
  })

  it('reports undefined (not an empty list) when lsof is not installed', async () => {
    expect(await macos__listeners(fakeExec({}))).toBeUndefined()
  })
})

describe('Windows netstat and tasklist', () => {
  it('parses `netstat -ano` LISTENING rows for IPv4 and IPv6, ignoring connections and UDP', () => {
    expect(windows__parseNetstat(fixture('windows-netstat.txt'))).toEqual([
      {port: 135, address: '0.0.0.0', pid: 1052},
      {port: 1883, address: '0.0.0.0', pid: 3876},
      {port: 8083, address: '127.0.0.1', pid: 5120},
      {port: 1883, address: '::', pid: 3876},
      {port: 8000, address: 'fe80::1c2d:3e4f:5a6b:7c8d', pid: 6000},
    ])
  })

  it('recognises listening rows on a German Windows, whose State column says ABHÖREN', () => {
    expect(windows__parseNetstat(fixture('windows-netstat-de.txt'))).toEqual([{port: 1883, address: '0.0.0.0', pid: 3876}])
  })

  it('parses `tasklist /FO CSV /NH`, including commas inside quoted fields', () => {
    const tasks = windows__parseTasklist(fixture('windows-tasklist.csv'))
    expect(tasks.get(3876)).toBe('mosquitto.exe')
    expect(tasks.get(0)).toBe('System Idle Process')
    expect(windows__parseCsvLine('"a ""b""","1,2"')).toEqual(['a "b"', '1,2'])
  })

  it('names the process behind each listening port', async () => {
    const exec = fakeExec({'netstat -ano': fixture('windows-netstat.txt'), 'tasklist /FO CSV /NH': fixture('windows-tasklist.csv')})
    const rows = await windows__listeners(exec)
    expect(rows?.filter((r) => r.port === 1883).map((r) => r.command)).toEqual(['mosquitto.exe', 'mosquitto.exe'])
    expect(rows?.find((r) => r.port === 8083)?.command).toBe('node.exe')
  })
})

describe('service managers', () => {
  it('systemctl is-active: active, inactive, and no systemd at all', () => {
    expect(services__parseSystemctl('active\n', '', 0)).toBe('running')
    expect(services__parseSystemctl('inactive\n', '', 3)).toBe('stopped')
    expect(services__parseSystemctl('', 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\nFailed to connect to bus: Host is down', 1)).toBe('unknown')
  })

  it('service mosquitto status: SysV running/stopped, systemd wrapper, unknown service', () => {
    expect(services__parseService(fixture('linux-service-running.txt'), '', 0)).toBe('running')
    expect(services__parseService(fixture('linux-service-stopped.txt'), '', 3)).toBe('stopped')
    expect(services__parseService(fixture('linux-service-systemd.txt'), '', 0)).toBe('running')
    expect(services__parseService('', 'mosquitto: unrecognized service', 1)).toBe('absent')
  })

  it('brew services list', () => {
    expect(services__parseBrew(fixture('macos-brew-services.txt'))).toBe('running')
    expect(services__parseBrew(fixture('macos-brew-services.txt'), 'redis')).toBe('stopped')
    expect(services__parseBrew(fixture('macos-brew-services.txt'), 'nats')).toBe('absent')
  })

  it('sc query mosquitto: RUNNING, STOPPED, and error 1060 for a service that is not installed', () => {
    expect(services__parseSc(fixture('windows-sc-running.txt'))).toBe('running')
    expect(services__parseSc(fixture('windows-sc-stopped.txt'))).toBe('stopped')
    expect(services__parseSc(fixture('windows-sc-absent.txt'))).toBe('absent')
  })
})

describe('docker ps', () => {
  it('finds the host ports each container publishes, including ranges', () => {
    const containers = docker__parsePs(fixture('docker-ps.txt'))
    expect(containers.map((c) => [c.name, c.hostPorts])).toEqual([
      ['mqtt-dev', [1883, 9001]],
      ['cache', []],
      ['emqx', [8083, 8084, 18083]],
    ])
    expect(docker__hostPorts('127.0.0.1:1884->1883/tcp')).toEqual([1884])
  })
})
