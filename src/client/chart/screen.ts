/**
 * The terminal side of `sub --chart`: the alternate screen with the cursor hidden, raw keys (`q` or Ctrl-C
 * quits), a redraw on resize, and a frame at most every 100 ms however fast messages arrive (messages only update
 * the store; drawing is on a timer). Everything is undone on quit, and on an unexpected exit too, so the shell
 * gets its terminal back as it was.
 */
import {ChartStore} from './store.js'
import {chart__frame} from './view.js'

export interface ChartScreenOptions {
  input: NodeJS.ReadStream
  output: NodeJS.WriteStream
  windowMs: number
  seriesMax: number
  field?: string[]
  title: string
  color: boolean
}

export interface ChartScreen {
  add(topic: string, payload: Buffer, timeMs: number): void
  /** A line for the side panel (reconnection notes and the like; stderr would tear the picture). */
  note(line: string): void
  /** Resolves when the user pressed q or Ctrl-C. */
  quit: Promise<void>
  /** Restores the terminal; safe to call twice. */
  close(): void
  readonly store: ChartStore
}

/** 10 frames a second at most; a frame even without news every second, so the window keeps scrolling. */
const frameMs = 100
const idleFrameMs = 1000

const enter = '\u001b[?1049h\u001b[?25l\u001b[2J'
const leave = '\u001b[?25h\u001b[?1049l'

export function chart__open(o: ChartScreenOptions): ChartScreen {
  const store = new ChartStore(o.windowMs, o.seriesMax, o.field)
  const notes: string[] = []
  let dirty = true
  let lastFrame = 0
  let closed = false
  let quitNow: () => void = () => {}
  const quit = new Promise<void>((resolve) => {
    quitNow = resolve
  })

  const draw = (): void => {
    const now = Date.now()
    dirty = false
    lastFrame = now
    const lines = chart__frame(store, {
      columns: o.output.columns || 80,
      rows: o.output.rows || 24,
      nowMs: now,
      title: o.title,
      color: o.color,
      notes,
    })
    // Home, then each line cleared to its end: no full clear, so no flicker.
    o.output.write(`\u001b[H${lines.map((l) => `${l}\u001b[K`).join('\r\n')}\u001b[J`)
  }
  const timer = setInterval(() => {
    if (dirty || Date.now() - lastFrame >= idleFrameMs) draw()
  }, frameMs)
  const onResize = (): void => {
    // Redrawn at the next tick of the timer, with the new size, after clearing what the old size left.
    o.output.write('\u001b[2J')
    dirty = true
  }
  const onKey = (chunk: Buffer): void => {
    // q, Q, Ctrl-C (raw mode delivers it as a byte, not SIGINT), Ctrl-D.
    if (chunk.includes(0x71) || chunk.includes(0x51) || chunk.includes(0x03) || chunk.includes(0x04)) quitNow()
  }
  const restoreOnExit = (): void => {
    if (!closed) o.output.write(leave)
  }

  o.output.write(enter)
  o.input.setRawMode(true)
  o.input.on('data', onKey)
  o.input.resume()
  o.output.on('resize', onResize)
  process.on('exit', restoreOnExit)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, quitNow)
  draw()

  const close = (): void => {
    if (closed) return
    closed = true
    clearInterval(timer)
    o.output.removeListener('resize', onResize)
    o.input.removeListener('data', onKey)
    o.input.setRawMode(false)
    o.input.pause()
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(signal, quitNow)
    process.removeListener('exit', restoreOnExit)
    o.output.write(leave)
  }

  return {
    store,
    quit,
    close,
    add(topic, payload, timeMs) {
      store.add(topic, payload, timeMs)
      dirty = true
    },
    note(line) {
      notes.push(line)
      if (notes.length > 20) notes.shift()
      dirty = true
    },
  }
}
