// Docker containers that publish MQTT ports on this machine, from
// `docker ps --format '{{.ID}}\t{{.Image}}\t{{.Names}}\t{{.Ports}}'`.

export interface Container {
  id: string
  image: string
  name: string
  /** Host ports published (`0.0.0.0:1883->1883/tcp` gives 1883). */
  hostPorts: number[]
  ports: string
}

export const DOCKER_PS_FORMAT = '{{.ID}}\t{{.Image}}\t{{.Names}}\t{{.Ports}}'

export function docker__parsePs(text: string): Container[] {
  const out: Container[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const [id, image, name, ports = ''] = line.split('\t')
    if (!id || !image) continue
    out.push({id, image, name: name ?? '', hostPorts: docker__hostPorts(ports), ports})
  }
  return out
}

/** `0.0.0.0:1883->1883/tcp, :::1883->1883/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 9001/tcp` → [1883, 8000, 8001]. */
export function docker__hostPorts(ports: string): number[] {
  const found = new Set<number>()
  for (const part of ports.split(',')) {
    const m = /:(\d+)(?:-(\d+))?->\d+(?:-\d+)?\/tcp/.exec(part.trim())
    if (!m) continue
    const first = Number(m[1])
    const last = m[2] ? Number(m[2]) : first
    for (let p = first; p <= last && p - first < 1024; p++) found.add(p)
  }
  return [...found].sort((a, b) => a - b)
}
