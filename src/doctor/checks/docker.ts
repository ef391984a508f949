// Docker containers that publish an MQTT port: a forgotten `docker run -p 1883:1883 eclipse-mosquitto` holds
// the port through docker-proxy, which the port check shows only as "docker-proxy".
import {DOCKER_PS_FORMAT, docker__parsePs} from '../platform/docker.js'
import type {Check} from '../types.js'

export const dockerCheck: Check = {
  id: 'docker',
  title: 'Docker containers',
  applies: (o) => o.local,
  async run(ctx) {
    const base = {id: 'docker', title: 'Docker containers'}
    const out = await ctx.exec('docker', ['ps', '--format', DOCKER_PS_FORMAT], 8000)
    if (!out) return {...base, status: 'skip', detail: 'docker is not installed'}
    if (out.code !== 0) {
      const why = out.stderr.trim().split('\n')[0] || `docker ps exited with ${out.code}`
      return {...base, status: 'skip', detail: `docker is installed but its daemon did not answer: ${why}`}
    }
    const containers = docker__parsePs(out.stdout)
    const publishing = containers.filter((c) => c.hostPorts.some((p) => ctx.ports.includes(p)))
    const data = {containers}
    if (publishing.length === 0) {
      return {...base, status: 'ok', detail: `${containers.length} container(s) running, none publishes an MQTT port`, data}
    }
    const detail = publishing.map((c) => `${c.name} (${c.image}) publishes ${c.hostPorts.filter((p) => ctx.ports.includes(p)).join(', ')}`).join('; ')
    const fix = publishing.map((c) => `docker stop ${c.name}   # if this broker is not the one you want`)
    fix.push('or publish it on another host port: docker run -p 1884:1883 …')
    return {...base, status: 'warn', detail, fix, data}
  },
}
