/**
 * Counter-based random numbers: Threefry-2x32 with 20 rounds (Salmon et al. 2011, the generator JAX uses).
 * A generator is a 64-bit key (the seed) plus a 64-bit counter; block i of the stream is threefry(key, counter + i).
 * Everything is 32-bit integer arithmetic, so the same seed gives the same bits on every machine, and the state is two
 * numbers that a checkpoint can store to resume the stream exactly.
 *
 * Floats: uniform float32 takes the top 24 bits of one word, float64 53 bits of two words; normals use Box-Muller
 * (pairs of uniforms in (0,1]) and keep both outputs.
 */
import type { FloatArray, FloatDType } from './dtype.js';

const ROT = [13, 15, 26, 6, 17, 29, 16, 24];
const PARITY = 0x1bd11bda;

/** One Threefry-2x32-20 block: encrypts counter (c0, c1) under key (k0, k1); returns two uint32 words. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number, out: Uint32Array, at: number): void {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (PARITY ^ ks0 ^ ks1) >>> 0;
  const ks = [ks0, ks1, ks2];
  let x0 = (c0 + ks0) | 0;
  let x1 = (c1 + ks1) | 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) | 0;
    const rot = ROT[r & 7];
    x1 = (x1 << rot) | (x1 >>> (32 - rot));
    x1 ^= x0;
    if ((r & 3) === 3) {
      const s = (r + 1) >> 2;
      x0 = (x0 + ks[s % 3]) | 0;
      x1 = (x1 + ks[(s + 1) % 3] + s) | 0;
    }
  }
  out[at] = x0 >>> 0;
  out[at + 1] = x1 >>> 0;
}

/** Saved generator state (plain numbers, JSON-safe). */
export interface GeneratorState {
  seed: number;
  /** Number of 64-bit blocks consumed so far. */
  counter: number;
}

const TWO32 = 4294967296;

/** A seeded, counter-based random stream. */
export class Generator {
  private k0 = 0;
  private k1 = 0;
  private seedValue = 0;
  /** Blocks consumed (each block = two 32-bit words). Kept below 2^53. */
  private counter = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the stream to the start of `seed` (a non-negative integer below 2^53). */
  manualSeed(seed: number): this {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Generator: seed must be a non-negative safe integer, got ${seed}`);
    }
    this.seedValue = seed;
    this.k0 = (seed % TWO32) >>> 0;
    this.k1 = Math.floor(seed / TWO32) >>> 0;
    this.counter = 0;
    return this;
  }

  get seed(): number {
    return this.seedValue;
  }

  getState(): GeneratorState {
    return { seed: this.seedValue, counter: this.counter };
  }

  setState(state: GeneratorState): this {
    this.manualSeed(state.seed);
    if (!Number.isSafeInteger(state.counter) || state.counter < 0) {
      throw new RangeError(`Generator: invalid counter ${state.counter}`);
    }
    this.counter = state.counter;
    return this;
  }

  /** `n` uniformly distributed uint32 words (n rounded up to whole blocks internally). */
  bits(n: number): Uint32Array {
    const blocks = Math.ceil(n / 2);
    const out = new Uint32Array(blocks * 2);
    let c = this.counter;
    for (let b = 0; b < blocks; b++, c++) {
      threefry2x32(this.k0, this.k1, c % TWO32, Math.floor(c / TWO32), out, 2 * b);
    }
    this.counter = c;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** `n` samples from U[0, 1). */
  uniform(n: number, dtype: FloatDType = 'float32'): FloatArray {
    if (dtype === 'float32') {
      const w = this.bits(n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (w[i] >>> 8) * 5.9604644775390625e-8; // 2^-24
      return out;
    }
    const w = this.bits(2 * n);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = ((w[2 * i] >>> 5) * 67108864 + (w[2 * i + 1] >>> 6)) * 1.1102230246251565e-16; // 2^-53
    return out;
  }

  /** `n` samples from N(0, 1) by Box-Muller. */
  normal(n: number, dtype: FloatDType = 'float32'): FloatArray {
    const pairs = Math.ceil(n / 2);
    const u = this.uniform(2 * pairs, 'float64');
    const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let p = 0; p < pairs; p++) {
      const r = Math.sqrt(-2 * Math.log(1 - u[2 * p])); // 1 - u is in (0, 1]
      const th = 2 * Math.PI * u[2 * p + 1];
      out[2 * p] = r * Math.cos(th);
      if (2 * p + 1 < n) out[2 * p + 1] = r * Math.sin(th);
    }
    return out;
  }

  /** `n` integers uniform in [low, high). */
  integers(n: number, low: number, high: number): Int32Array {
    if (!(high > low)) throw new RangeError(`Generator.integers: empty range [${low}, ${high})`);
    const u = this.uniform(n, 'float64');
    const out = new Int32Array(n);
    const span = high - low;
    for (let i = 0; i < n; i++) out[i] = low + Math.min(span - 1, Math.floor(u[i] * span));
    return out;
  }
}

/** PyTorch's default seed, so an unseeded program is still reproducible. */
export const DEFAULT_SEED = 67280421310721;

let defaultGenerator = new Generator(DEFAULT_SEED);

/** The process-wide generator used when an op is not given one. */
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

/** Seeds the default generator (like `torch.manual_seed`). */
export function manualSeed(seed: number): Generator {
  defaultGenerator = new Generator(seed);
  return defaultGenerator;
}
