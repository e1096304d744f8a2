/** Shared helpers of the FP8 op tests: float64 reference GEMMs of dequantised operands and a max-error comparison. */
import assert from 'node:assert/strict';
import { type Generator, type Tensor, randn } from '../../src/index.js';

/** The accumulator that adds nothing of its own: FP8 GEMMs then equal float64 GEMMs of the operands to float32 rounding. */
export const EXACT = { accumulator: { kind: 'exact' } as const };

/** A float32 leaf of N(0, scale^2) entries that requires grad. */
export function leaf(shape: number[], g: Generator, scale = 1): Tensor {
  const t = randn(shape, { generator: g });
  for (let i = 0; i < t.size; i++) t.data[i] *= scale;
  return t.requiresGrad_();
}

/** (M, K) · (N, K)ᵀ in float64 of dequantised operands. */
export function refNT(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[j * K + k];
      c[i * N + j] = s;
    }
  return c;
}

/** The (cols, rows) transpose of a row-major (rows, cols) array. */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** max |actual - expected| <= rtol * max |expected|. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(worst <= rtol * scale, `${what}: max |Δ| ${worst} > ${rtol} x max |ref| ${scale}`);
}

/** ||actual - expected||₂ / ||expected||₂. */
export function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let e = 0;
  let r = 0;
  for (let i = 0; i < expected.length; i++) {
    e += (actual[i] - expected[i]) ** 2;
    r += expected[i] ** 2;
  }
  return Math.sqrt(e / r);
}
