/**
 * A `--workers` child process: runs the engine on its share of the clients, reports progress every 500 ms, starts
 * its measured phase at the parent's `go` time, and sends back its PartialResult. The terminal's Ctrl-C reaches the
 * whole process group; the child ignores it and waits for the parent's `stop`, so the partial result still arrives.
 */
import {Engine} from './engine.js'
import type {BenchSpec} from './types.js'

export type ToWorker =
  | {type: 'start'; spec: BenchSpec}
  | {type: 'go'; at: number}
  | {type: 'stop'; reason?: 'count' | 'interrupt'}
  | {type: 'marks'; marks: number[]}
export type FromWorker =
  | {type: 'ready'}
  | {type: 'marks'; marks: number[]}
  | {type: 'progress'; progress: ReturnType<Engine['progress']>}
  | {type: 'result'; partial: Awaited<ReturnType<Engine['run']>>}
  | {type: 'error'; message: string}

process.on('SIGINT', () => {})

let engine: Engine | null = null
let timer: NodeJS.Timeout | null = null
const send = (m: FromWorker): void => {
  process.send?.(m)
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'start':
      engine = new Engine(m.spec)
      timer = setInterval(() => send({type: 'progress', progress: engine!.progress()}), 500)
      engine.prepare().then(
        () => {
          // Shared backlog: report this worker's subscribers' progress to the parent every 20 ms.
          if (m.spec.sharedBacklog) setInterval(() => send({type: 'marks', marks: engine!.backlogMarks()}), 20).unref()
          send({type: 'ready'})
        },
        (error: Error) => send({type: 'error', message: error.message}),
      )
      break
    case 'go':
      engine!.run(m.at).then(
        (partial) => {
          clearInterval(timer!)
          send({type: 'result', partial})
          // Let the IPC message flush before leaving.
          setTimeout(() => process.exit(0), 100)
        },
        (error: Error) => send({type: 'error', message: error.message}),
      )
      break
    case 'marks':
      engine?.applyMarks(m.marks)
      break
    case 'stop':
      engine?.stop(m.reason ?? 'interrupt')
      break
  }
})
process.on('disconnect', () => engine?.stop('interrupt'))
