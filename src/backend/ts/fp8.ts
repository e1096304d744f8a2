/**
 * Reference FP8 kernels (DeepSeek-V3 fine-grained quantisation, SPEC §2): `fp8Quantize`, `fp8Dequantize` and the
 * FP8 GEMM emulation `fp8Gemm`, plain loops that define the numbers; the native kernels (native/fp8.cc) reproduce
 * them bit for bit. The ops around them (tile clamping, argument checks, QuantizedMatrix, transposes, E5M6) are
 * src/fp8/quant.ts and src/fp8/gemm.ts, which also explain the arithmetic: float32 amax and scale
 * (`s = fround(max(amax, 1e-4)) / maxFinite`), float32 division then one rounding to the 8-bit format, dequantisation
 * `fround(code * s)`; the GEMM's accumulator model and promotion.
 * The tile helpers (`tileScales`, `applyTileScales`) and the code decoder (`decodeValues`) are exported because
 * src/fp8 builds E5M6 quantisation and the float64 reference product on them.
 */
import type { AccumulatorModel, Kernels, QuantizedData } from '../kernels.js';
import { type FloatArray, isFloat } from '../../tensor/dtype.js';
import { type ScaleFormat, decodeFloatArray, decodeTable, encodeFloatArray, ue8m0Scale } from '../../tensor/formats.js';
import { shapeStr } from '../../tensor/shape.js';

/** The amax floor of DeepSeek's kernels: an all-zero tile gets scale 1e-4 / maxFinite instead of 0 (no 0 / 0). */
export const AMAX_FLOOR = 1e-4;

/**
 * One scale per (tr, tc) tile of a row-major (rows, cols) matrix: `fround(max(amax, AMAX_FLOOR)) / maxFinite` in
 * float32, rounded up to a power of two for UE8M0. A NaN in a tile makes its scale NaN.
 */
export function tileScales(
  x: FloatArray,
  rows: number,
  cols: number,
  tr: number,
  tc: number,
  maxFinite: number,
  scaleFmt: ScaleFormat,
): Float32Array {
  const sr = Math.ceil(rows / tr);
  const sc = Math.ceil(cols / tc);
  const scales = new Float32Array(sr * sc);
  const amax = new Float64Array(sr * sc);
  for (let r = 0; r < rows; r++) {
    const rowTile = Math.floor(r / tr) * sc;
    const off = r * cols;
    for (let t = 0; t < sc; t++) {
      const end = Math.min(cols, (t + 1) * tc);
      let m = amax[rowTile + t];
      for (let c = t * tc; c < end; c++) {
        const a = Math.abs(x[off + c]);
        if (a > m || a !== a) m = a !== a ? NaN : a;
      }
      amax[rowTile + t] = m;
    }
  }
  for (let i = 0; i < scales.length; i++) {
    const a = Math.fround(Math.max(amax[i], AMAX_FLOOR)); // NaN stays NaN through Math.max
    let s = Math.fround(a / maxFinite);
    if (scaleFmt === 'ue8m0' && Number.isFinite(s)) s = ue8m0Scale(s);
    scales[i] = s;
  }
  return scales;
}

/**
 * dst = src / (its tile's scale) (`divide`, src rounded to float32 first) or src * scale, per element, in float32.
 * `dst` may be `src`.
 */
export function applyTileScales(
  src: FloatArray,
  dst: Float32Array,
  rows: number,
  cols: number,
  tr: number,
  tc: number,
  scales: Float32Array,
  divide: boolean,
): Float32Array {
  const sc = Math.ceil(cols / tc);
  for (let r = 0; r < rows; r++) {
    const rowTile = Math.floor(r / tr) * sc;
    const off = r * cols;
    for (let t = 0; t < sc; t++) {
      const s = scales[rowTile + t];
      const end = Math.min(cols, (t + 1) * tc);
      for (let c = t * tc; c < end; c++) dst[off + c] = divide ? Math.fround(src[off + c]) / s : src[off + c] * s;
    }
  }
  return dst;
}

// Little-endian view of one float64, to cut mantissa bits with integer masks (x86-64 and arm64 are little-endian).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
f64[0] = 1;
if (u32[1] !== 0x3ff00000) throw new Error('fp8 kernels: need a little-endian platform');

/** Rounds toward zero to `mantissaBits` fraction bits (any finite double; exact bit masking). */
export function truncateMantissa(v: number, mantissaBits: number): number {
  if (mantissaBits >= 52) return v;
  f64[0] = v;
  if (mantissaBits >= 20) {
    u32[0] &= ~((2 ** (52 - mantissaBits) - 1) >>> 0) >>> 0;
  } else {
    u32[0] = 0;
    u32[1] &= ~((1 << (20 - mantissaBits)) - 1);
  }
  return f64[0];
}

/** Rounds to nearest (ties to even) at `mantissaBits` fraction bits. */
export function roundMantissa(v: number, mantissaBits: number): number {
  if (v === 0 || !Number.isFinite(v) || mantissaBits >= 52) return v;
  f64[0] = v;
  const e = ((u32[1] >>> 20) & 0x7ff) - 1023; // normal doubles only: products of FP8 values never go subnormal
  const q = 2 ** (e - mantissaBits);
  const s = Math.abs(v) / q;
  const fl = Math.floor(s);
  const d = s - fl;
  const r = d > 0.5 || (d === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(v) * r * q;
}

/**
 * Rounds every partial sum in `part` (a float64 array, viewed as 32-bit words in `words`) as the accumulator model does
 * after one step. Truncation is a mask on the bit pattern (sign-magnitude: clearing low bits rounds toward zero).
 */
function roundStep(part: Float64Array, words: Uint32Array, m: AccumulatorModel): void {
  if (m.kind === 'exact') return;
  const n = part.length;
  if (m.kind === 'fp32') {
    for (let j = 0; j < n; j++) part[j] = Math.fround(part[j]);
    return;
  }
  const mb = m.mantissaBits;
  if (m.rounding === 'nearest') {
    for (let j = 0; j < n; j++) part[j] = roundMantissa(part[j], mb);
    return;
  }
  if (mb >= 52) return;
  const lowMask = mb >= 20 ? ~((2 ** (52 - mb) - 1) >>> 0) >>> 0 : 0;
  const hiMask = mb >= 20 ? -1 : ~((1 << (20 - mb)) - 1);
  for (let j = 0; j < 2 * n; j += 2) {
    words[j] &= lowMask;
    words[j + 1] &= hiMask;
  }
}

/** Decoded (unscaled) values of the codes, as float64 for the inner loop. */
export function decodeValues(q: QuantizedData): Float64Array {
  const table = decodeTable(q.format);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const lut = new Float64Array(256);
  for (let c = 0; c < 256; c++) {
    bits[0] = table[c];
    lut[c] = f[0];
  }
  const out = new Float64Array(q.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = lut[q.codes[i]];
  return out;
}

export const fp8Kernels: Partial<Kernels> = {
  fp8Quantize: (x, { tileRows: tr, tileCols: tc, format, scaleFmt }) => {
    if (x.shape.length !== 2 || !isFloat(x.dtype))
      throw new TypeError(`fp8Quantize: x must be a float (rows, cols) matrix, got ${x.dtype} ${shapeStr(x.shape)}`);
    const [rows, cols] = x.shape;
    const data = x.data as FloatArray;
    const scales = tileScales(data, rows, cols, tr, tc, format.maxFinite, scaleFmt);
    // x / s in float32, then one rounding to the 8-bit format (fast float32 bit-pattern encoder)
    const scaled = applyTileScales(data, new Float32Array(rows * cols), rows, cols, tr, tc, scales, true);
    return { codes: encodeFloatArray(scaled, format, { saturate: true }), scales };
  },

  fp8Dequantize: (q) => {
    const v = decodeFloatArray(q.codes, q.format);
    applyTileScales(v, v, q.rows, q.cols, q.tileRows, q.tileCols, q.scales, false);
    return { data: v, shape: [q.rows, q.cols], dtype: 'float32' };
  },

  // Row-at-a-time over all N outputs: B's values transposed to (K, N) so every inner loop is contiguous. Each step
  // adds `g` products (exact: FP8 x FP8 products have <= 8 significant bits; a small group plus the accumulator sums
  // in a double exactly or within 2^-53 relative, far below what the model then drops) and rounds.
  fp8Gemm: (a, b, { accumulator: model, interval }) => {
    const M = a.rows;
    const N = b.rows;
    const K = a.cols;
    const ta = Math.min(a.tileCols, K);
    const tb = Math.min(b.tileCols, K);
    const av = decodeValues(a);
    const bv = decodeValues(b);
    const bt = new Float64Array(K * N);
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bt[k * N + j] = bv[j * K + k];
    const g = model.kind === 'exact' ? interval : model.groupSize;
    const C = new Float32Array(M * N);
    const acc32 = new Float64Array(N);
    const part = new Float64Array(N);
    const words = new Uint32Array(part.buffer);
    const scale = new Float64Array(N);
    const bsc = Math.ceil(b.cols / b.tileCols) || 0;
    const asc = Math.ceil(a.cols / a.tileCols) || 0;
    for (let i = 0; i < M; i++) {
      const aOff = i * K;
      const aS = Math.floor(i / a.tileRows) * asc;
      acc32.fill(0);
      for (let k0 = 0; k0 < K; k0 += interval) {
        const kEnd = Math.min(K, k0 + interval);
        part.fill(0);
        for (let s0 = k0; s0 < kEnd; s0 += g) {
          const sEnd = Math.min(kEnd, s0 + g);
          for (let k = s0; k < sEnd; k++) {
            const ak = av[aOff + k];
            if (ak === 0) continue;
            const row = k * N;
            for (let j = 0; j < N; j++) part[j] += ak * bt[row + j];
          }
          roundStep(part, words, model);
        }
        // promotion: FP32 += partial * (sa * sb) on the CUDA cores, one rounding (FMA)
        const sa = a.scales[aS + Math.floor(k0 / ta)];
        const tk = Math.floor(k0 / tb);
        for (let j = 0; j < N; j++) scale[j] = Math.fround(sa * b.scales[Math.floor(j / b.tileRows) * bsc + tk]);
        for (let j = 0; j < N; j++) acc32[j] = Math.fround(acc32[j] + part[j] * scale[j]);
      }
      C.set(acc32, i * N);
    }
    return { data: C, shape: [M, N], dtype: 'float32' };
  },
};
