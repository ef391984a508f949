/**
 * `pub --simulate` waveforms: pure functions of a device's message number and its scheduled time, so a run is
 * reproducible (the value of message n does not depend on when the event loop got round to sending it) and the
 * shapes can be checked exactly.
 *
 *   sine      offset + amplitude · sin(2π·(t/period + phase))
 *   square    offset + amplitude for the first half of each period, offset - amplitude for the second
 *   triangle  offset - amplitude at the start of a period, rising to offset + amplitude at its middle, back down
 *   sawtooth  offset - amplitude at the start of a period, rising linearly towards offset + amplitude
 *   counter   offset, offset + step, offset + 2·step, … (one step per message)
 *   random-walk  starts at offset, each message moves by at most ±step, kept within [min, max]
 * `noise` adds a uniform random amount in [-noise, +noise] (random-walk and counter included), then the value is
 * rounded to `decimals`.
 */

export const shapeNames = ['sine', 'square', 'triangle', 'sawtooth', 'random-walk', 'counter'] as const
export type ShapeName = (typeof shapeNames)[number]

export interface ShapeOptions {
  amplitude: number
  /** Seconds. */
  period: number
  offset: number
  noise: number
  /** This device's phase, as a fraction of a period (0 ≤ phase < 1). */
  phase: number
  /** counter: the increment; random-walk: the largest move per message. */
  step: number
  /** random-walk bounds. */
  min: number
  max: number
  decimals: number
  /** Uniform in [0, 1): Math.random or a seeded generator (`--seed`). */
  random: () => number
}

/** The value of message `n` (0-based) sent `t` seconds after the device started. */
export type Generator = (n: number, t: number) => number

/** The fractional part of x, in [0, 1) also for negative x. */
function frac(x: number): number {
  return x - Math.floor(x)
}

function wave(shape: ShapeName, o: ShapeOptions): (n: number, t: number) => number {
  const at = (t: number): number => frac(t / o.period + o.phase)
  switch (shape) {
    case 'sine':
      return (_n, t) => o.offset + o.amplitude * Math.sin(2 * Math.PI * at(t))
    case 'square':
      return (_n, t) => o.offset + (at(t) < 0.5 ? o.amplitude : -o.amplitude)
    case 'triangle':
      return (_n, t) => o.offset + o.amplitude * (1 - 4 * Math.abs(at(t) - 0.5))
    case 'sawtooth':
      return (_n, t) => o.offset + o.amplitude * (2 * at(t) - 1)
    case 'counter':
      return (n) => o.offset + n * o.step
    case 'random-walk': {
      let value = Math.min(o.max, Math.max(o.min, o.offset))
      let last = -1
      return (n) => {
        // Called once per message in order; a repeated n returns the same value instead of walking twice.
        if (n !== last && n > 0) value = Math.min(o.max, Math.max(o.min, value + (2 * o.random() - 1) * o.step))
        last = n
        return value
      }
    }
  }
}

export function shape__generator(shape: ShapeName, options: ShapeOptions): Generator {
  const base = wave(shape, options)
  const scale = 10 ** options.decimals
  return (n, t) => {
    let value = base(n, t)
    if (options.noise > 0) value += (2 * options.random() - 1) * options.noise
    return Math.round(value * scale) / scale
  }
}

/**
 * A small seeded generator (mulberry32) for `--seed`: runs that must repeat (tests, demos) get the same noise and
 * the same walk. Math.random cannot be seeded, and this is the whole of what a seeded source needs here.
 */
export function shape__seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
