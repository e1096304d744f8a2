/** Helpers shared by the reference kernels: strided offsets, output allocation, float checks. */
import type { TensorData } from '../kernels.js';
import { type DType, type FloatArray, type TypedArray, allocArray, isFloat } from '../../tensor/dtype.js';
import { numel, shapeStr } from '../../tensor/shape.js';

/**
 * The source offset of every element of a row-major iteration over `shape`, when the source is addressed by `strides`
 * (stride 0 = broadcast). Offsets are `base + sum(idx[d] * strides[d])`.
 */
export function stridedOffsets(shape: readonly number[], strides: readonly number[], base = 0): Int32Array {
  const n = numel(shape);
  const out = new Int32Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = base;
    return out;
  }
  const idx = new Array<number>(nd).fill(0);
  const last = nd - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let off = base;
  for (let i = 0; i < n; ) {
    for (let j = 0; j < lastLen; j++) out[i++] = off + j * lastStride;
    // advance the odometer over dims 0..last-1
    let d = last - 1;
    while (d >= 0) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= idx[d] * strides[d];
      idx[d] = 0;
      d--;
    }
  }
  return out;
}

export function out(dtype: DType, shape: readonly number[], data?: TypedArray): TensorData {
  return { data: data ?? allocArray(dtype, numel(shape)), shape: [...shape], dtype };
}

export function floatOut(like: TensorData, shape: readonly number[]): TensorData & { data: FloatArray } {
  return out(like.dtype, shape) as TensorData & { data: FloatArray };
}

export function requireFloat(kernel: string, ...xs: TensorData[]): void {
  for (const x of xs) {
    if (!isFloat(x.dtype))
      throw new TypeError(`${kernel}: expected a float tensor, got ${x.dtype} of shape ${shapeStr(x.shape)}`);
  }
}

/** Splits a shape around `axis` into (outer, n, inner) for axis-wise loops. */
export function around(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, n: shape[axis], inner };
}

/**
 * Where each input of a concatenation along `axis` goes: viewing the output as (outer, rowOut) and input k as
 * (outer, w), input k fills columns col..col+w of every row.
 */
export function concatLayout(
  xs: readonly TensorData[],
  axis: number,
): { shape: number[]; outer: number; rowOut: number; parts: { w: number; col: number }[] } {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0);
  const { outer, inner } = around(shape, axis);
  let col = 0;
  const parts = xs.map((x) => {
    const w = x.shape[axis] * inner;
    col += w;
    return { w, col: col - w };
  });
  return { shape, outer, rowOut: shape[axis] * inner, parts };
}

/**
 * erf to double precision: the positive series erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1)),
 * which has no cancellation, and erf = +-1 beyond |x| = 6 (erfc(6) ~ 2e-17).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = 1.1283791670955126 * Math.exp(-x2) * sum; // 2/sqrt(pi)
  return x < 0 ? -r : r;
}
