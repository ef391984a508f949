/**
 * `sub --chart`'s parts without a broker: which payloads are numbers (plain or a --field), the store (series per
 * topic, --series-max, non-numeric counts, window statistics, pruning), frames that fit the terminal at any size,
 * and the screen's frame limit (at most ~10 a second however many messages arrive) and restore sequence.
 */
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {chart__parseField, chart__value} from '../../src/client/chart/extract.js'
import {chart__open} from '../../src/client/chart/screen.js'
import {ChartStore} from '../../src/client/chart/store.js'
import {chart__formatNumber, chart__frame} from '../../src/client/chart/view.js'

const b = (s: string): Buffer => Buffer.from(s)
const ansi = /\u001b\[[0-9;?]*[A-Za-z]/g

describe('numbers in payloads', () => {
  it('plain numbers; JSON fields by dotted path; everything else is non-numeric', () => {
    expect(['21.5', ' -3 ', '1e3', '+.5', '0'].map((p) => chart__value(b(p), undefined))).toEqual([21.5, -3, 1000, 0.5, 0])
    for (const p of ['', 'abc', '21.5 C', 'NaN', 'Infinity', '0x10', '{"temp": 1}', 'true']) expect(chart__value(b(p), undefined)).toBeUndefined()
    const field = chart__parseField('data.temp')
    expect(chart__value(b('{"data": {"temp": 21.5}}'), field)).toBe(21.5)
    expect(chart__value(b('{"data": {"temp": "22"}}'), field)).toBe(22)
    expect(chart__value(b('{"values": [4, 5]}'), chart__parseField('values.1'))).toBe(5)
    for (const p of ['{"data": {}}', '{"data": 3}', '{"data": {"temp": null}}', 'not json', '21.5', '{"data": {"temp": "warm"}}']) {
      expect(chart__value(b(p), field)).toBeUndefined()
    }
  })
})

describe('the store', () => {
  it('one series per topic up to --series-max, the rest hidden; non-numeric counted by topic', () => {
    const store = new ChartStore(60_000, 2, undefined)
    const now = 1_000_000
    store.add('a', b('1'), now)
    store.add('b', b('2'), now)
    store.add('c', b('3'), now)
    store.add('c', b('4'), now)
    store.add('a', b('hello'), now)
    store.add('d', b('{}'), now)
    expect(store.series.map((s) => s.topic)).toEqual(['a', 'b'])
    expect([...store.hidden]).toEqual([['c', 2]])
    expect([...store.nonNumeric]).toEqual([['a', 1], ['d', 1]])
    expect(store.nonNumericTotal).toBe(2)
    expect(store.received).toBe(6)
  })

  it('last/min/max/mean over the window; values that leave the window are forgotten', () => {
    const store = new ChartStore(10_000, 8, undefined)
    const t0 = 5_000_000
    ;[5, 1, 9, 3].forEach((v, i) => store.add('s', b(String(v)), t0 + i * 1000))
    const series = store.series[0]!
    expect(store.stats(series)).toEqual({last: 3, min: 1, max: 9, mean: 4.5, count: 4})
    // 11.5 s after the first value, the first two (at t0 and t0+1 s) are out of the 10 s window.
    store.prune(t0 + 11_500)
    expect(store.stats(series)).toEqual({last: 3, min: 3, max: 9, mean: 6, count: 2})
    store.prune(t0 + 60_000)
    expect(store.stats(series)).toBeUndefined()
  })

  it('counts messages per second for the rate line', () => {
    const store = new ChartStore(5000, 8, undefined)
    const now = 9_000_000
    for (let i = 0; i < 20; i++) store.add('y', b('no'), now - 2500 + i * 10)
    for (let i = 0; i < 50; i++) store.add('x', b('1'), now - 990 + i * 10)
    expect(store.ratePerSecond(now)).toBe(50)
    const history = store.rateHistory(now)
    expect(history).toHaveLength(5)
    expect(history.map(([, n]) => n)).toEqual([0, 0, 20, 0, 50])
    expect(history.map(([x]) => x)).toEqual([-4, -3, -2, -1, 0])
  })

  it('memory does not grow with the message rate: values fold into at most 600 buckets per series', () => {
    const store = new ChartStore(60_000, 8, undefined)
    const t0 = 1_000_000
    for (let i = 0; i < 120_000; i++) store.add('fast', b(String(i % 100)), t0 + i)
    store.prune(t0 + 120_000)
    expect(store.series[0]!.buckets.length).toBeLessThanOrEqual(601)
    expect(store.stats(store.series[0]!)!.count).toBeGreaterThan(59_000)
  })
})

describe('frames', () => {
  function filled(): ChartStore {
    const store = new ChartStore(60_000, 8, undefined)
    const now = 2_000_000_000_000
    for (let t = now - 20_000; t <= now; t += 100) {
      for (let d = 1; d <= 3; d++) store.add(`sim/${d}`, b(String(Math.sin(t / 1000 + d))), t)
    }
    store.add('sim/text', b('online'), now)
    return store
  }

  it('fit the terminal exactly at every size, with or without colour', () => {
    for (const [columns, rows] of [[120, 40], [100, 30], [80, 24], [60, 15], [40, 10]] as const) {
      for (const color of [false, true]) {
        const lines = chart__frame(filled(), {columns, rows, nowMs: 2_000_000_000_000, title: 'sim/#', color, notes: []})
        expect(lines.length, `${columns}x${rows}`).toBeLessThanOrEqual(rows)
        for (const line of lines) expect(line.replace(ansi, '').length, `${columns}x${rows}: ${line}`).toBeLessThanOrEqual(columns)
      }
    }
  })

  it('show the legend with numbers, the side panel, and colour per series', () => {
    const text = chart__frame(filled(), {columns: 120, rows: 40, nowMs: 2_000_000_000_000, title: 'sim/#', color: true, notes: ['reconnected']}).join('\n')
    const plain = text.replace(ansi, '')
    for (const d of [1, 2, 3]) expect(plain).toMatch(new RegExp(`━━ sim/${d}\\s+last\\s+-?[\\d.]+\\s+min\\s+-?[\\d.]+\\s+max\\s+-?[\\d.]+\\s+mean`))
    expect(plain).toMatch(/│non-numeric: 1/)
    expect(plain).toMatch(/1 sim\/text/)
    expect(plain).toContain('reconnected')
    expect(plain).toContain('messages per second')
    // Three series, three colours, used for both the lines and the legend.
    for (const code of ['36', '33', '32']) expect(text).toContain(`\u001b[${code}m━━`)
    expect(text).toMatch(/\u001b\[36m[─╭╮╰╯│]/)
    expect(text).toMatch(/\u001b\[32m[─╭╮╰╯│]/)
  })

  it('below 100 columns the panel becomes a summary line and the latest note a line of its own', () => {
    const lines = chart__frame(filled(), {columns: 80, rows: 30, nowMs: 2_000_000_000_000, title: 'sim/#', color: false, notes: ['old note', 'reconnected to mqtt://h:1883']})
    const text = lines.join('\n')
    expect(text).not.toContain('│non-numeric')
    expect(text).toContain('non-numeric: 1 · hidden series: none')
    expect(text).toContain('reconnected to mqtt://h:1883')
    expect(text).not.toContain('old note')
  })

  it('an empty store says it is waiting', () => {
    const lines = chart__frame(new ChartStore(60_000, 8, undefined), {columns: 80, rows: 24, nowMs: Date.now(), title: 'x', color: false, notes: []})
    expect(lines.join('\n')).toContain('waiting for numeric messages')
  })

  it('numbers stay short', () => {
    expect([21.5, -0.8660254, 12345.678, 1e9, 0.00001234, 0].map(chart__formatNumber)).toEqual(['21.5', '-0.866', '12345.7', '1.00e+9', '0.0000123', '0'])
  })
})

describe('the screen', () => {
  /** A fake terminal: what was written, raw mode on/off. */
  function terminal(): {input: NodeJS.ReadStream; output: NodeJS.WriteStream; writes: string[]; raw: boolean[]} {
    const writes: string[] = []
    const raw: boolean[] = []
    const input = Object.assign(new PassThrough(), {isTTY: true, setRawMode: (on: boolean) => raw.push(on)}) as unknown as NodeJS.ReadStream
    const output = Object.assign(new PassThrough(), {columns: 100, rows: 30, isTTY: true}) as unknown as NodeJS.WriteStream
    output.write = ((chunk: string) => (writes.push(chunk), true)) as NodeJS.WriteStream['write']
    return {input, output, writes, raw}
  }

  it('draws at most ~10 frames a second while 20,000 messages arrive, quits on q, restores the terminal', async () => {
    const t = terminal()
    const screen = chart__open({input: t.input, output: t.output, windowMs: 60_000, seriesMax: 8, title: 't', color: false})
    expect(t.writes[0]).toContain('\u001b[?1049h')
    expect(t.raw).toEqual([true])
    const started = Date.now()
    // 20,000 messages spread over one second, in 100 bursts.
    for (let burst = 0; burst < 100; burst++) {
      for (let i = 0; i < 200; i++) screen.add(`s/${i % 3}`, b(String(i)), Date.now())
      await new Promise((r) => setTimeout(r, 10))
    }
    const elapsed = Date.now() - started
    const frames = t.writes.filter((w) => w.startsWith('\u001b[H')).length
    expect(frames).toBeGreaterThanOrEqual(2)
    expect(frames).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1)
    t.input.emit('data', Buffer.from('q'))
    await screen.quit
    screen.close()
    screen.close()
    expect(t.raw).toEqual([true, false])
    expect(t.writes.at(-1)).toBe('\u001b[?25h\u001b[?1049l')
    expect(t.writes.filter((w) => w.includes('\u001b[?1049l'))).toHaveLength(1)
  })

  it('Ctrl-C in raw mode (byte 3) quits too; a resize clears and redraws', async () => {
    const t = terminal()
    const screen = chart__open({input: t.input, output: t.output, windowMs: 60_000, seriesMax: 8, title: 't', color: false})
    ;(t.output as unknown as {columns: number}).columns = 70
    t.output.emit('resize')
    await new Promise((r) => setTimeout(r, 250))
    const last = t.writes.filter((w) => w.startsWith('\u001b[H')).at(-1)!
    expect(t.writes).toContain('\u001b[2J')
    for (const line of last.replace(ansi, '').split('\r\n')) expect(line.length).toBeLessThanOrEqual(70)
    t.input.emit('data', Buffer.from([3]))
    await screen.quit
    screen.close()
    expect(t.raw).toEqual([true, false])
  })
})
