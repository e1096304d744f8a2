/**
 * FP8 GEMM emulation with a limited-precision tensor-core accumulator and promotion to FP32 (SPEC §2 "Accumulation";
 * DeepSeek-V3 §3.3.2; DeepGEMM's "CUDA-core two-level accumulation").
 *
 * C (M, N) = A (M, K) · B (N, K)ᵀ, both operands K-major ("NT", as DeepGEMM and `fp8_gemm` in DeepSeek's kernel.py),
 * both quantised (./quant.ts). The tensor core multiplies the raw FP8 codes and accumulates their products in its own
 * limited-precision accumulator; every N_C elements of K the partial sum is promoted to an FP32 register on the CUDA
 * cores, multiplied there by the two tiles' scales (sa · sb), and the tensor-core accumulator starts again from zero.
 * Because scales are applied at promotion, one promotion interval must not span two scale tiles: N_C has to divide
 * both operands' tile width along K. "No promotion" (N_C = null) is the plain FP8 GEMM, which therefore needs operands
 * with a single scale along K (per-row or per-tensor scaling), as FP8 GEMMs without fine-grained scaling have.
 *
 * The accumulator model (`AccumulatorModel`), explicit because the hardware's is undocumented:
 * - The value is a float with `mantissaBits` fraction bits (plus the implicit bit) and an unbounded exponent. Default 13,
 *   i.e. a 14-bit significand: the "about 14 bits" DeepSeek-V3 reports for H800 FP8 accumulation, and the e8m13
 *   ("FP22") accumulator later measured on Hopper/Ada FP8 MMA.
 * - Each step adds `groupSize` products at once (default 4, the width of the fused multi-term adders measured on
 *   earlier tensor cores): the products of two FP8 values are exact (8-bit significands), they and the accumulator are
 *   summed exactly, and the sum is rounded to `mantissaBits` — by truncation toward zero (default; hardware aligns and
 *   drops low bits) or to nearest even.
 * - Promotion: `fp32 = fround(fp32 + partial · fround(sa · sb))` (one rounding, as an FMA on the CUDA cores).
 * With these defaults a K = 4096 GEMM of random matrices shows ~2% max relative error without promotion and about 50x
 * less with N_C = 128 (see `accumulationError`, `r1ts experiment fp8`), matching the ~2% DeepSeek-V3 reports.
 * `{ kind: 'fp32' }` models an FP32 accumulator (each group's sum rounded to float32), `{ kind: 'exact' }` none at all.
 * Output: float32. `fp8Gemm` checks its operands and runs the `fp8Gemm` kernel through the registry: the reference
 * loop is src/backend/ts/fp8.ts, and the native kernel (native/fp8.cc) gives the same bits.
 */
import '../backend/ts/index.js'; // the reference kernels register before any GEMM can run
import type { AccumulatorModel } from '../backend/kernels.js';
import { runKernel } from '../backend/registry.js';
import { decodeValues, roundMantissa, truncateMantissa } from '../backend/ts/fp8.js';
import { type QuantizedMatrix, quantize } from './quant.js';
import { Generator } from '../tensor/random.js';

export type { AccumulatorModel } from '../backend/kernels.js';
export { roundMantissa, truncateMantissa };

/** The default: 13 fraction bits (14-bit significand), 4 products per step, truncation (see the file header). */
export const HOPPER_ACCUMULATOR: AccumulatorModel = Object.freeze({
  kind: 'limited',
  mantissaBits: 13,
  groupSize: 4,
  rounding: 'truncate',
});

/** DeepSeek-V3's promotion interval: 128 elements of K (4 WGMMAs). */
export const DEFAULT_PROMOTION = 128;

export interface Fp8GemmOptions {
  /** Default HOPPER_ACCUMULATOR. */
  accumulator?: AccumulatorModel;
  /** N_C: promote every this many elements of K; null = never (default 128). */
  promoteEvery?: number | null;
}

function checkModel(m: AccumulatorModel): void {
  if (m.kind === 'exact') return;
  if (!Number.isInteger(m.groupSize) || m.groupSize < 1)
    throw new RangeError(`fp8Gemm: accumulator groupSize must be a positive integer (got ${m.groupSize})`);
  if (m.kind === 'limited' && (!Number.isInteger(m.mantissaBits) || m.mantissaBits < 1 || m.mantissaBits > 52)) {
    throw new RangeError(`fp8Gemm: accumulator mantissaBits must be an integer in 1..52 (got ${m.mantissaBits})`);
  }
}

/**
 * C = A · Bᵀ for quantised A (M, K) and B (N, K), emulating the FP8 tensor-core GEMM with promotion (file header).
 * Returns C as a row-major float32 (M, N) array.
 */
export function fp8Gemm(a: QuantizedMatrix, b: QuantizedMatrix, opts: Fp8GemmOptions = {}): Float32Array {
  const model = opts.accumulator ?? HOPPER_ACCUMULATOR;
  checkModel(model);
  const M = a.rows;
  const N = b.rows;
  const K = a.cols;
  if (b.cols !== K)
    throw new RangeError(`fp8Gemm: A is ${M}x${K} but B is ${N}x${b.cols}; both must be K-major with the same K`);
  const nc = opts.promoteEvery === undefined ? DEFAULT_PROMOTION : opts.promoteEvery;
  const ta = Math.min(a.tileCols, K);
  const tb = Math.min(b.tileCols, K);
  let interval: number;
  if (nc === null) {
    if (ta < K || tb < K) {
      throw new RangeError(
        `fp8Gemm: no promotion needs one scale along K, but A has tiles of ${a.tileCols} and B of ${b.tileCols} along K = ${K} (scales are applied at promotion)`,
      );
    }
    interval = K;
  } else {
    if (!Number.isInteger(nc) || nc < 1)
      throw new RangeError(`fp8Gemm: promoteEvery must be a positive integer or null (got ${nc})`);
    interval = Math.min(nc, K);
    if (interval < K && (ta % interval !== 0 || tb % interval !== 0)) {
      throw new RangeError(
        `fp8Gemm: promotion interval N_C = ${nc} must divide the scale tiles along K (A: ${a.tileCols}, B: ${b.tileCols})`,
      );
    }
  }
  return runKernel('fp8Gemm', a, b, { accumulator: model, interval }).data as Float32Array;
}

/** C = A · Bᵀ in float64 from the dequantised values: the reference the accumulator error is measured against. */
export function referenceGemm(a: QuantizedMatrix, b: QuantizedMatrix): Float64Array {
  const M = a.rows;
  const N = b.rows;
  const K = a.cols;
  const av = decodeValues(a);
  const bv = decodeValues(b);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) av[i * K + k] *= a.scaleAt(i, k);
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bv[j * K + k] *= b.scaleAt(j, k);
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += av[i * K + k] * bv[j * K + k];
      C[i * N + j] = s;
    }
  }
  return C;
}

export interface AccumulationErrorOptions {
  K?: number;
  M?: number;
  N?: number;
  seed?: number;
  /** 'normal': N(0, 1) entries (error relative to max |C|); 'uniform': U(0, 1) entries (max elementwise relative error). */
  dist?: 'normal' | 'uniform';
  accumulator?: AccumulatorModel;
  /** Promotion interval compared with no promotion (default 128). */
  promoteEvery?: number;
}

export interface AccumulationErrorResult {
  K: number;
  M: number;
  N: number;
  dist: 'normal' | 'uniform';
  /** Max relative error without promotion and with promotion every N_C. */
  noPromotion: number;
  promoted: number;
  promoteEvery: number;
  /** noPromotion / promoted. */
  improvement: number;
}

/**
 * The SPEC §2 accumulation check: two random matrices, quantised to E4M3 with one scale per row (so that both GEMMs
 * see identical operands), multiplied with and without promotion; the error is measured against the exact product of
 * the same FP8 operands, so it is the accumulator's alone. Relative error: max |ΔC| / max |C| for 'normal' data,
 * max |ΔC_ij| / |C_ij| for 'uniform' (positive) data.
 */
export function accumulationError(o: AccumulationErrorOptions = {}): AccumulationErrorResult {
  const K = o.K ?? 4096;
  const M = o.M ?? 32;
  const N = o.N ?? 32;
  const dist = o.dist ?? 'normal';
  const nc = o.promoteEvery ?? DEFAULT_PROMOTION;
  const g = new Generator(o.seed ?? 0);
  const draw = (n: number): Float32Array =>
    (dist === 'normal' ? g.normal(n, 'float32') : g.uniform(n, 'float32')) as Float32Array;
  const qa = quantize(draw(M * K), M, K, { tile: [1, K] });
  const qb = quantize(draw(N * K), N, K, { tile: [1, K] });
  const ref = referenceGemm(qa, qb);
  const acc = o.accumulator ?? HOPPER_ACCUMULATOR;
  const err = (c: Float32Array): number => {
    let maxErr = 0;
    let maxRef = 0;
    let maxRel = 0;
    for (let i = 0; i < c.length; i++) {
      const e = Math.abs(c[i] - ref[i]);
      maxErr = Math.max(maxErr, e);
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      if (ref[i] !== 0) maxRel = Math.max(maxRel, e / Math.abs(ref[i]));
    }
    return dist === 'normal' ? maxErr / maxRef : maxRel;
  };
  const noPromotion = err(fp8Gemm(qa, qb, { accumulator: acc, promoteEvery: null }));
  const promoted = err(fp8Gemm(qa, qb, { accumulator: acc, promoteEvery: nc }));
  return { K, M, N, dist, noPromotion, promoted, promoteEvery: nc, improvement: noPromotion / promoted };
}
