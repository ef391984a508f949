/**
 * With no --url/--host, bench measures an mqttkit broker of its own on a free loopback port. The broker runs in a
 * child process (local-broker-child.ts) so that it and the load generator do not share one event loop, which would
 * measure neither; the child reports the port it bound over IPC and stops when told to or when bench exits.
 */
import {once} from 'node:events'
import {fork__module} from './fork.js'

export interface LocalBroker {
  host: string
  port: number
  stop(): Promise<void>
}

export async function localBroker__start(timeoutMs = 15_000): Promise<LocalBroker> {
  const child = fork__module('local-broker-child')
  const ready = new Promise<{port: number}>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the local mqttkit broker did not start in time')), timeoutMs)
    child.on('message', (m: {type: string; port?: number; message?: string}) => {
      clearTimeout(timer)
      if (m.type === 'listening') resolve({port: m.port!})
      else reject(new Error(`the local mqttkit broker failed to start: ${m.message}`))
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the local mqttkit broker exited with code ${code}`))
    })
  })
  let port: number
  try {
    ;({port} = await ready)
  } catch (error) {
    child.kill()
    throw error
  }
  return {
    host: '127.0.0.1',
    port,
    async stop() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.send({type: 'stop'})
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
