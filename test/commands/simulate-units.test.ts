/**
 * `pub --simulate`'s generators, templates, replay parsing and flag checks, without a broker: exact values for
 * counter and square, range and period for sine/triangle/sawtooth, bounds for random-walk, template rendering,
 * replay offsets. The end-to-end runs (real broker, --count/--duration ends, replay timing) are in
 * pub-simulate.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {duration__parseMs} from '../../src/client/duration.js'
import {replay__parse} from '../../src/client/simulate/replay.js'
import {simulate__setupFromFlags} from '../../src/client/simulate/setup.js'
import {shape__generator, shape__seededRandom, type ShapeName, type ShapeOptions} from '../../src/client/simulate/shapes.js'
import {source__replay, source__wave} from '../../src/client/simulate/sources.js'
import {simTemplate__compile, simTemplate__render} from '../../src/client/simulate/template.js'

const base: ShapeOptions = {amplitude: 1, period: 10, offset: 0, noise: 0, phase: 0, step: 1, min: -1, max: 1, decimals: 6, random: Math.random}

/** The first `count` values at `rate` messages per second (t = n / rate, as the runner schedules them). */
function values(shape: ShapeName, options: Partial<ShapeOptions>, rate: number, count: number): number[] {
  const g = shape__generator(shape, {...base, ...options})
  return Array.from({length: count}, (_, n) => g(n, n / rate))
}

describe('shapes', () => {
  it('counter: offset, offset + step, … exactly', () => {
    expect(values('counter', {}, 10, 5)).toEqual([0, 1, 2, 3, 4])
    expect(values('counter', {offset: 100, step: 2.5}, 10, 4)).toEqual([100, 102.5, 105, 107.5])
  })

  it('square: +amplitude for the first half-period, -amplitude for the second, around offset', () => {
    // 4 messages a second, period 1 s: two high, two low, repeating.
    expect(values('square', {amplitude: 5, offset: 20, period: 1}, 4, 8)).toEqual([25, 25, 15, 15, 25, 25, 15, 15])
    // Phase 0.5 starts in the low half.
    expect(values('square', {period: 1, phase: 0.5}, 4, 4)).toEqual([-1, -1, 1, 1])
  })

  for (const shape of ['sine', 'triangle', 'sawtooth'] as const) {
    it(`${shape}: stays within offset ± amplitude, reaches both ends, repeats every period`, () => {
      const rate = 40
      const v = values(shape, {amplitude: 3, offset: 10, period: 2}, rate, rate * 6)
      expect(Math.min(...v)).toBeGreaterThanOrEqual(7)
      expect(Math.max(...v)).toBeLessThanOrEqual(13)
      // Both ends are reached within one message's step (sawtooth jumps back just before its top).
      expect(Math.min(...v)).toBeLessThan(7.1)
      expect(Math.max(...v)).toBeGreaterThan(12.9)
      // One period is 2 s = 80 messages: the value 80 messages later is the same.
      for (let n = 0; n < v.length - 80; n++) expect(v[n + 80]).toBeCloseTo(v[n]!, 6)
      // …and not the same half a period later (it is a wave, not a constant).
      expect(v.slice(0, 80).some((x, n) => Math.abs(x - v[n + 40]!) > 1)).toBe(true)
    })
  }

  it('sine, triangle and sawtooth have their shapes at known points', () => {
    const at = (shape: ShapeName, t: number): number => shape__generator(shape, {...base, period: 4})(0, t)
    expect([0, 1, 2, 3].map((t) => at('sine', t))).toEqual([0, 1, 0, -1])
    expect([0, 1, 2, 3].map((t) => at('triangle', t))).toEqual([-1, 0, 1, 0])
    expect([0, 1, 2, 3].map((t) => at('sawtooth', t))).toEqual([-1, -0.5, 0, 0.5])
  })

  it('random-walk: starts at offset, moves at most step per message, never leaves [min, max]', () => {
    const v = values('random-walk', {offset: 5, step: 0.5, min: 4, max: 6, random: shape__seededRandom(7)}, 10, 5000)
    expect(v[0]).toBe(5)
    for (let n = 1; n < v.length; n++) expect(Math.abs(v[n]! - v[n - 1]!)).toBeLessThanOrEqual(0.5 + 1e-9)
    expect(Math.min(...v)).toBeGreaterThanOrEqual(4)
    expect(Math.max(...v)).toBeLessThanOrEqual(6)
    // It does walk: both bounds are reached in 5000 steps of up to 0.5 within a band of 2.
    expect(Math.min(...v)).toBe(4)
    expect(Math.max(...v)).toBe(6)
    // The same seed walks the same way.
    expect(values('random-walk', {offset: 5, step: 0.5, min: 4, max: 6, random: shape__seededRandom(7)}, 10, 50)).toEqual(v.slice(0, 50))
  })

  it('noise stays within ±noise; decimals round', () => {
    const v = values('counter', {noise: 0.25, random: shape__seededRandom(1)}, 10, 1000)
    v.forEach((x, n) => expect(Math.abs(x - n)).toBeLessThanOrEqual(0.25))
    expect(v.some((x, n) => x !== n)).toBe(true)
    expect(values('sine', {decimals: 2, period: 3}, 1, 2)[1]).toBe(0.87)
  })
})

describe('templates', () => {
  const m = {value: 21.5, device: 3, n: 7, topic: 'plant/3', timeMs: Date.UTC(2026, 0, 2, 3, 4, 5, 678)}

  it('renders %v %i %n %t %ts %iso and %%', () => {
    const t = simTemplate__compile('{"ts": %ts, "temp": %v, "id": "%i", "n": %n, "t": "%t", "at": "%iso", "pct": "50%%"}', '--template')
    expect(JSON.parse(simTemplate__render(t, m))).toEqual({
      ts: m.timeMs, temp: 21.5, id: '3', n: 7, t: 'plant/3', at: '2026-01-02T03:04:05.678Z', pct: '50%',
    })
    expect(simTemplate__render(simTemplate__compile('%v', 'x'), m)).toBe('21.5')
    expect(simTemplate__render(simTemplate__compile('%is%tsx', 'x'), m)).toBe(`3s${m.timeMs}x`)
  })

  it('refuses an unknown placeholder with the list of known ones', () => {
    expect(() => simTemplate__compile('{"a": %q}', '--template')).toThrow(/--template: unknown placeholder "%q" \(use %v %i %n %t %ts %iso/)
    expect(() => simTemplate__compile('50%', '--template')).toThrow(/unknown placeholder/)
  })

  it('a wave source renders the topic once per device and the payload per message', () => {
    const source = source__wave({
      generator: (n) => n * 10,
      device: 2,
      rate: 4,
      staggerMs: 100,
      topic: simTemplate__compile('sensors/%i', '-t'),
      payload: simTemplate__compile('{"v": %v, "n": %n}', '--template'),
    })
    expect([0, 1, 2].map((n) => source.dueMs(n))).toEqual([100, 350, 600])
    expect(source.message(2, 0).topic).toBe('sensors/2')
    expect(JSON.parse(source.message(2, 0).payload.toString())).toEqual({v: 20, n: 3})
  })
})

describe('replay files', () => {
  const line = (time: string, topic: string, payload: unknown, encoding = 'utf8'): string =>
    JSON.stringify({time, topic, qos: 0, retain: false, payload, encoding})

  it('times records from the first one and decodes every --jsonl encoding', () => {
    const text = [
      line('2026-01-02T03:04:05.000Z', 'a', '1'),
      '',
      line('2026-01-02T03:04:05.250Z', 'b', Buffer.from([0, 255]).toString('base64'), 'base64'),
      line('2026-01-02T03:04:06.000Z', 'c', 'cafe', 'hex'),
      line('2026-01-02T03:04:07.500Z', 'd', {temp: 21}, 'json'),
    ].join('\n')
    const records = replay__parse(text, 'r.jsonl')
    expect(records.map((r) => r.offsetMs)).toEqual([0, 250, 1000, 2500])
    expect(records.map((r) => r.topic)).toEqual(['a', 'b', 'c', 'd'])
    expect(records[1]!.payload).toEqual(Buffer.from([0, 255]))
    expect(records[2]!.payload.toString('hex')).toBe('cafe')
    expect(JSON.parse(records[3]!.payload.toString())).toEqual({temp: 21})
    // --speed 2 halves every wait; the source ends after the last record.
    const source = source__replay(records, 2)
    expect([0, 1, 2, 3, 4].map((n) => source.dueMs(n))).toEqual([0, 125, 500, 1250, undefined])
    expect(source__replay(records, 1, 'other').message(0, 0).topic).toBe('other')
  })

  it('names the bad line', () => {
    expect(() => replay__parse(`${line('2026-01-02T03:04:05.000Z', 'a', '1')}\nnot json`, 'r.jsonl')).toThrow(/replay r.jsonl line 2: not JSON/)
    expect(() => replay__parse(line('yesterday', 'a', '1'), 'r.jsonl')).toThrow(/line 1: "time" must be an ISO-8601 time/)
    expect(() => replay__parse(line('2026-01-02T03:04:05.000Z', 'a/#', '1'), 'r.jsonl')).toThrow(/must not contain \+ or #/)
    expect(() => replay__parse(line('2026-01-02T03:04:05.000Z', 'a', '1', 'rot13'), 'r.jsonl')).toThrow(/unknown encoding "rot13"/)
    expect(() => replay__parse('\n\n', 'r.jsonl')).toThrow(/no records/)
  })
})

describe('simulate flags', () => {
  it('spreads phases and schedules across devices', () => {
    const setup = simulate__setupFromFlags({simulate: 'square', topic: 's/%i', clients: 4, rate: 2, period: '1s', decimals: 0})
    expect(setup.sources.map((s) => s.message(0, 0).topic)).toEqual(['s/1', 's/2', 's/3', 's/4'])
    // Phases 0, ¼, ½, ¾ of a period: the first value of device 3 and 4 is already in the low half.
    expect(setup.sources.map((s) => Number(s.message(0, 0).payload.toString()))).toEqual([1, 1, -1, -1])
    expect(setup.sources.map((s) => s.dueMs(0))).toEqual([0, 125, 250, 375])
  })

  it('refuses what has no meaning', () => {
    const bad = (flags: Record<string, unknown>) => () => simulate__setupFromFlags({simulate: 'sine', topic: 't', ...flags})
    expect(bad({simulate: 'cosine'})).toThrow(/unknown shape "cosine"/)
    expect(bad({topic: undefined})).toThrow(/missing topic/)
    expect(bad({topic: 'a/%n'})).toThrow(/-t takes %i/)
    expect(bad({topic: 'a/#'})).toThrow(/bad topic/)
    expect(bad({rate: 0})).toThrow(/--rate must be above 0/)
    expect(bad({min: 3, max: 1})).toThrow(/--min 3 is above --max 1/)
    expect(bad({speed: 2})).toThrow(/--speed is for replay/)
    expect(bad({period: 'soon'})).toThrow(/--period needs a duration/)
    expect(bad({simulate: 'replay:'})).toThrow(/needs a file/)
    expect(bad({simulate: 'replay:/nonexistent.jsonl'})).toThrow(/cannot read replay file \/nonexistent.jsonl: ENOENT/)
    expect(bad({simulate: 'replay:x', clients: 2})).toThrow(/drop --clients/)
  })

  it('durations: seconds by default, ms/s/m/h units', () => {
    expect(['90', '1.5s', '500ms', '2m', '1h'].map((d) => duration__parseMs(d, '--duration'))).toEqual([90_000, 1500, 500, 120_000, 3_600_000])
    for (const d of ['', '0', '-1', '5 days', 'abc']) expect(() => duration__parseMs(d, '--window')).toThrow(/--window needs a duration/)
  })
})
