/**
 * Reference row kernels of the fast decoders (src/models/decode.ts): RMSNorm of strided rows, an in-place add, and
 * the gather / scaled scatter-add of a mixture-of-experts layer, on flat float32 buffers the caller owns. The native
 * backend (native/rows.cc) does the same operations in the same order, so both give the same bits.
 */
import type { Kernels, RmsRowsArgs } from '../kernels.js';

function count(kernel: string, name: string, n: number): void {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${kernel}: ${name} must be an integer >= 0, got ${n}`);
}

function holds(kernel: string, name: string, a: { length: number }, need: number): void {
  if (a.length < need) throw new RangeError(`${kernel}: ${name} holds ${a.length} floats, needs ${need}`);
}

/** Checks `rmsRows`' operands (the native addon checks the same before it reads). */
export function checkRmsRows(x: Float32Array, w: Float32Array, out: Float32Array, a: RmsRowsArgs): void {
  for (const k of ['rows', 'dim', 'stride', 'offset'] as const) count('rmsRows', k, a[k]);
  if (a.stride < a.dim) throw new RangeError(`rmsRows: stride ${a.stride} is less than dim ${a.dim}`);
  if (a.rows > 0) holds('rmsRows', 'x', x, a.offset + (a.rows - 1) * a.stride + a.dim);
  holds('rmsRows', 'w', w, a.dim);
  holds('rmsRows', 'out', out, a.rows * a.dim);
}

/** Checks that every index is a row of a buffer of `rows` rows. */
export function checkRowIndices(kernel: string, idx: Int32Array, rows: number): void {
  for (const i of idx)
    if (!(i >= 0 && i < rows)) throw new RangeError(`${kernel}: row index ${i} outside [0, ${rows})`);
}

export const rowKernels: Partial<Kernels> = {
  rmsRows: (x, w, out, a) => {
    checkRmsRows(x, w, out, a);
    const { rows, dim: D, stride, offset, eps } = a;
    for (let n = 0; n < rows; n++) {
      const base = offset + n * stride;
      let ss = 0;
      for (let j = 0; j < D; j++) ss += x[base + j] * x[base + j];
      const rs = 1 / Math.sqrt(ss / D + eps);
      for (let j = 0; j < D; j++) out[n * D + j] = x[base + j] * rs * w[j];
    }
  },

  addInto: (x, y, n) => {
    count('addInto', 'n', n);
    holds('addInto', 'x', x, n);
    holds('addInto', 'y', y, n);
    for (let i = 0; i < n; i++) x[i] += y[i];
  },

  gatherRows: (src, idx, dim, out) => {
    count('gatherRows', 'dim', dim);
    holds('gatherRows', 'out', out, idx.length * dim);
    checkRowIndices('gatherRows', idx, dim === 0 ? 0 : Math.floor(src.length / dim));
    for (let j = 0; j < idx.length; j++) out.set(src.subarray(idx[j] * dim, (idx[j] + 1) * dim), j * dim);
  },

  scatterAddScaled: (out, idx, src, g, dim) => {
    count('scatterAddScaled', 'dim', dim);
    holds('scatterAddScaled', 'src', src, idx.length * dim);
    holds('scatterAddScaled', 'g', g, idx.length);
    checkRowIndices('scatterAddScaled', idx, dim === 0 ? 0 : Math.floor(out.length / dim));
    for (let j = 0; j < idx.length; j++) {
      const o = idx[j] * dim;
      const gj = g[j];
      for (let d = 0; d < dim; d++) out[o + d] += Math.fround(src[j * dim + d] * gj);
    }
  },
};
