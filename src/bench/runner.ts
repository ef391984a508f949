/**
 * Runs one scenario: in this process, or spread over `--workers` child processes whose partial results are merged
 * (histograms through their encoded HdrHistogram form). Progress is reported about once a second; an aborted
 * signal (Ctrl-C) ends the measured phase and the partial result is still returned.
 */
import type {ChildProcess} from 'node:child_process'
import {Engine, type Progress} from './engine.js'
import {fork__module} from './fork.js'
import {merge__results} from './merge.js'
import {now} from './payload.js'
import type {BenchResult, BenchSpec, PartialResult} from './types.js'
import type {FromWorker, ToWorker} from './worker.js'

export interface RunOptions {
  workers?: number
  onProgress?: (progress: Progress) => void
  signal?: AbortSignal
}

/** Splits n into `parts` near-equal shares: [base, count] each. */
function split(n: number, parts: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let base = 0
  for (let i = 0; i < parts; i++) {
    const count = Math.floor(n / parts) + (i < n % parts ? 1 : 0)
    out.push([base, count])
    base += count
  }
  return out
}

export async function bench__run(spec: BenchSpec, label: string, options: RunOptions = {}): Promise<BenchResult> {
  const workers = Math.max(1, options.workers ?? 1)
  const parts = workers === 1 ? await runHere(spec, options) : await runWorkers(spec, workers, options)
  return merge__results(spec, label, workers, parts)
}

async function runHere(spec: BenchSpec, options: RunOptions): Promise<PartialResult[]> {
  const engine = new Engine(spec)
  const abort = (): void => engine.stop('interrupt')
  options.signal?.addEventListener('abort', abort)
  if (options.signal?.aborted) abort()
  const timer = options.onProgress ? setInterval(() => options.onProgress!(engine.progress()), 1000) : null
  try {
    await engine.prepare()
    return [await engine.run()]
  } finally {
    if (timer) clearInterval(timer)
    options.signal?.removeEventListener('abort', abort)
  }
}

async function runWorkers(spec: BenchSpec, workers: number, options: RunOptions): Promise<PartialResult[]> {
  const pubs = split(spec.publishers, workers)
  const subs = split(spec.subscribers, workers)
  const conns = split(spec.clients, workers)
  const children: ChildProcess[] = []
  const progress: Progress[] = []
  const results: PartialResult[] = []
  let ready = 0
  let countReached = false
  // Shared backlog (run): every 20 ms, for each publisher, the slowest progress any worker's subscribers report
  // goes to the worker that owns the publisher, so a publisher and its subscribers may live in different workers.
  const shared = spec.scenario === 'run' && spec.backlog > 0
  const reported: Array<Map<number, number>> = []
  const relay = shared
    ? setInterval(() => {
        for (let w = 0; w < children.length; w++) {
          const [base, count] = pubs[w]!
          const marks: number[] = []
          for (let p = base; p < base + count; p++) {
            let slowest = Number.POSITIVE_INFINITY
            for (const r of reported) {
              const seq = r?.get(p)
              if (seq !== undefined && seq < slowest) slowest = seq
            }
            marks.push(p, slowest)
          }
          if (children[w]!.connected) children[w]!.send({type: 'marks', marks} satisfies ToWorker)
        }
      }, 20)
    : null
  const stop = (): void => {
    for (const c of children) if (c.connected) c.send({type: 'stop'} satisfies ToWorker)
  }
  options.signal?.addEventListener('abort', stop)
  if (options.signal?.aborted) queueMicrotask(stop)
  const timer = options.onProgress
    ? setInterval(() => {
        // Workers report in any order, so `progress` may have holes until all of them have spoken.
        const known = progress.filter(Boolean)
        if (known.length === 0) return
        options.onProgress!({
          elapsedMs: Math.max(...known.map((p) => p.elapsedMs)),
          phase: known[0]!.phase,
          connected: known.reduce((a, p) => a + p.connected, 0),
          failed: known.reduce((a, p) => a + p.failed, 0),
          published: known.reduce((a, p) => a + p.published, 0),
          received: known.reduce((a, p) => a + p.received, 0),
          delivered: known.reduce((a, p) => a + p.delivered, 0),
        })
      }, 1000)
    : null
  try {
    await new Promise<void>((resolve, reject) => {
      for (let w = 0; w < workers; w++) {
        const child = fork__module('worker')
        children.push(child)
        const share: BenchSpec = {
          ...spec,
          // sub --count is over all workers: each listens until the parent, summing their progress, says stop.
          count: spec.scenario === 'sub' ? 0 : spec.count,
          sharedBacklog: shared,
          pubBase: pubs[w]![0],
          publishers: pubs[w]![1],
          subBase: subs[w]![0],
          subscribers: subs[w]![1],
          clientBase: conns[w]![0],
          clients: conns[w]![1],
        }
        child.on('message', (m: FromWorker) => {
          if (m.type === 'marks') {
            const map = new Map<number, number>()
            for (let i = 0; i < m.marks.length; i += 2) map.set(m.marks[i]!, m.marks[i + 1]!)
            reported[w] = map
          } else if (m.type === 'progress') {
            progress[w] = m.progress
            if (spec.scenario === 'sub' && spec.count > 0 && !countReached) {
              const delivered = progress.reduce((a, p) => a + (p?.delivered ?? 0), 0)
              if (delivered >= spec.count) {
                countReached = true
                for (const c of children) if (c.connected) c.send({type: 'stop', reason: 'count'} satisfies ToWorker)
              }
            }
          }
          else if (m.type === 'error') reject(new Error(`bench worker ${w}: ${m.message}`))
          else if (m.type === 'ready') {
            // Everyone connected and subscribed: start together, a little ahead so every child gets the message.
            if (++ready === workers) for (const c of children) c.send({type: 'go', at: now() + 100} satisfies ToWorker)
          } else if (m.type === 'result') {
            results.push(m.partial)
            if (results.length === workers) resolve()
          }
        })
        child.on('exit', (code) => {
          if (results.length < workers && code !== 0) reject(new Error(`bench worker ${w} exited with code ${code}`))
        })
        child.send({type: 'start', spec: share} satisfies ToWorker)
      }
    })
    return results
  } finally {
    if (timer) clearInterval(timer)
    if (relay) clearInterval(relay)
    options.signal?.removeEventListener('abort', stop)
    for (const c of children) if (c.exitCode === null) c.kill()
  }
}
