/**
 * Linear layers in reduced precision, as autograd ops: `fp8Linear` (DeepSeek-V3's FP8 framework, SPEC §2) and
 * `bf16Linear` (the BF16 mixed-precision baseline), plus `fp32Linear` (the plain op, instrumented the same way).
 *
 * fp8Linear, y = x Wᵀ (+ b), x (..., in), W (out, in) float32 master weight:
 * - Fprop:  x quantised in 1x128 tiles, W in 128x128 blocks, FP8 GEMM with promotion (./gemm.ts), FP32 output.
 * - Dgrad:  dx = dy W: dy quantised in 1x128 tiles (per token along `out`), W's blocks transposed (exact: square blocks).
 * - Wgrad:  dW = dyᵀ x reduces over tokens: dy is quantised in 128x1 tiles, the saved FP8 x is re-tiled 1x128 -> 128x1
 *           (./quant.ts `retile`), both transposed to K-major; dW is FP32 (weight gradients stay FP32).
 * - Saved for backward: x as FP8 codes + one scale per tile, and W's FP8 copy; the backward rule never reads (nor
 *   captures) the float32 x. The autograd graph holds only what backward closures capture (src/tensor/tensor.ts), so
 *   once nothing else reads x it is garbage after the forward pass: the saving is real, not just accounted.
 *   `savedActivations` counts the bytes each mode keeps for Linear inputs (fp32: 4 B/element); `r1ts experiment fp8`
 *   also measures the bytes the whole graph holds.
 * - `cacheInput: 'e5m6'` (SPEC §2 special case 1, set by ./precision.ts for MLA's `wo`, the Linear after attention):
 *   x is cached as E5M6 (12-bit codes packed 2 in 3 bytes, power-of-2 1x128 scales) instead of its FP8 Fprop operand,
 *   and re-tiled for Wgrad by dequantising it and quantising to E4M3 in 128x1 tiles.
 * The other special cases (SwiGLU recompute, FP8 dispatch) are a fused op of the whole MLP: ./swiglu.ts.
 * bf16Linear: operands of all three GEMMs rounded to BF16, FP32 accumulation, y and dx rounded to BF16, dW FP32;
 * x and W saved as BF16 codes (2 B/element).
 *
 * Deviations from V3: outputs of Fprop/Dgrad are FP32 (V3 writes BF16). V3 feeds the attention backward from the same
 * E5M6 copy of the attention output; here the attention op (high precision) keeps its own float32 output, so the E5M6
 * cache adds to it rather than replacing it. Only float32 tensors are accepted (gradient checks use reference
 * comparisons on the quantised operands instead of float64 finite differences, since quantisation is not
 * differentiable).
 */
import { runKernel } from '../backend/registry.js';
import { Tensor, isGradEnabled, record } from '../tensor/tensor.js';
import { linear } from '../tensor/ops/linalg.js';
import { shapeStr } from '../tensor/shape.js';
import { BF16, decodeFloatArray, encodeFloatArray } from '../tensor/formats.js';
import { type AccumulatorModel, fp8Gemm } from './gemm.js';
import {
  type E5M6Matrix,
  type QuantizedMatrix,
  type ScaleFormat,
  TILE_ACT,
  TILE_ACT_T,
  TILE_WEIGHT,
  dequantizeE5M6,
  quantize,
  quantizeE5M6,
  retile,
  transposeQuantized,
} from './quant.js';

export interface Fp8LinearOptions {
  /** Scales: float32 amax/448 (V3, default) or powers of two (UE8M0, V3.1). */
  scaleFmt?: ScaleFormat;
  /** Tensor-core accumulator model (default HOPPER_ACCUMULATOR). */
  accumulator?: AccumulatorModel;
  /** N_C (default 128); null needs per-row scales, so it is rejected for the 1x128 / 128x128 tiling. */
  promoteEvery?: number | null;
  /**
   * How x is cached for the Wgrad GEMM: 'e4m3' (default: the Fprop operand itself) or 'e5m6' (12-bit codes packed 2 in
   * 3 bytes, power-of-2 1x128 tiles, re-tiled to E4M3 128x1 tiles in backward): DeepSeek-V3's special case for the
   * input of the Linear after attention.
   */
  cacheInput?: 'e4m3' | 'e5m6';
}

/** Bytes kept for the backward pass of Linear inputs since the last reset, by the instrumented Linear ops. */
export interface SavedActivationStats {
  /** Linear calls that saved their input. */
  calls: number;
  /** Elements of the saved inputs. */
  elements: number;
  /** Bytes actually kept (codes + scales for FP8, BF16 codes for BF16, float32 data for FP32). */
  bytes: number;
}

const stats: SavedActivationStats = { calls: 0, elements: 0, bytes: 0 };

/** The counter of saved Linear-input bytes (reset it, run a forward pass, read it). */
export const savedActivations = {
  reset(): void {
    stats.calls = 0;
    stats.elements = 0;
    stats.bytes = 0;
  },
  get(): SavedActivationStats {
    return { ...stats };
  },
};

/** Adds to the saved-activation counter: `calls` Linear inputs of `elements` elements kept in `bytes` bytes. */
export function countSaved(calls: number, elements: number, bytes: number): void {
  stats.calls += calls;
  stats.elements += elements;
  stats.bytes += bytes;
}

function count(elements: number, bytes: number): void {
  countSaved(1, elements, bytes);
}

/** What a GEMM operand was quantised for, reported to the trace hook. */
export interface QuantizeEvent {
  /** The layer's name (as given to the op), e.g. `layers.0.attn.wq`. */
  layer: string;
  operand: 'x' | 'weight' | 'dy';
  gemm: 'fprop' | 'dgrad' | 'wgrad';
}

let traceHook: ((e: QuantizeEvent) => void) | null = null;

/** Installs (or with null removes) a hook called whenever an FP8 Linear quantises an operand. For tests and tracing. */
export function setFp8Trace(hook: ((e: QuantizeEvent) => void) | null): void {
  traceHook = hook;
}

/** Reports one quantised GEMM operand to the trace hook, if one is installed. */
export function traceQuantize(layer: string, operand: QuantizeEvent['operand'], gemm: QuantizeEvent['gemm']): void {
  traceHook?.({ layer, operand, gemm });
}

/** Checks the dtypes and shapes of (x, weight, bias) for y = x Wᵀ + b; returns rows M of x, In and Out. */
export function checkLinearArgs(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
): { M: number; In: number; Out: number } {
  if (x.dtype !== 'float32' || weight.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) {
    throw new TypeError(
      `${op}: only float32 tensors are supported (x ${x.dtype}, weight ${weight.dtype}${bias ? `, bias ${bias.dtype}` : ''})`,
    );
  }
  if (weight.ndim !== 2) throw new RangeError(`${op}: weight must be (out, in), got ${shapeStr(weight.shape)}`);
  const [Out, In] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== In) {
    throw new RangeError(
      `${op}: input ${shapeStr(x.shape)} x weight ${shapeStr(weight.shape)}ᵀ: inner dims ${x.shape[x.ndim - 1]} != ${In}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== Out))
    throw new RangeError(`${op}: bias ${shapeStr(bias.shape)} does not match ${Out} outputs`);
  return { M: x.size / In, In, Out };
}

/** Adds bias (Out) to every row of y (M, Out) in float32, in place. */
function addBias(y: Float32Array, bias: Tensor | null, Out: number): void {
  if (!bias) return;
  const b = bias.data;
  for (let i = 0; i < y.length; i++) y[i] = y[i] + b[i % Out];
}

/** Column sums of g (M, Out) accumulated in double: the bias gradient. */
function biasGrad(g: Float32Array, M: number, Out: number): Tensor {
  const s = new Float64Array(Out);
  for (let m = 0; m < M; m++) for (let o = 0; o < Out; o++) s[o] += g[m * Out + o];
  return new Tensor(Float32Array.from(s), [Out]);
}

function outShape(x: Tensor, Out: number): number[] {
  return [...x.shape.slice(0, -1), Out];
}

/** The quantised forms of an fp8Linear (exposed for tests and memory accounting). */
export interface Fp8Saved {
  /** x as the Fprop operand (1x128 E4M3); kept for backward unless x is cached in E5M6. */
  x: QuantizedMatrix;
  /** x cached in E5M6 (`cacheInput: 'e5m6'`), else null. */
  xE5M6: E5M6Matrix | null;
  weight: QuantizedMatrix;
}

/**
 * y = x Wᵀ (+ bias) with FP8 Fprop, Dgrad and Wgrad GEMMs as DeepSeek-V3 (file header). `layer` names the layer in
 * trace events. `onSave` receives the quantised tensors kept for backward (tests).
 */
export function fp8Linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: Fp8LinearOptions = {},
  layer = 'linear',
  onSave?: (s: Fp8Saved) => void,
): Tensor {
  const { M, In, Out } = checkLinearArgs('fp8Linear', x, weight, bias);
  const scaleFmt = opts.scaleFmt ?? 'fp32';
  const gemmOpts = { accumulator: opts.accumulator, promoteEvery: opts.promoteEvery };
  traceQuantize(layer, 'x', 'fprop');
  traceQuantize(layer, 'weight', 'fprop');
  const qx = quantize(x.data as Float32Array, M, In, { tile: TILE_ACT, scaleFmt });
  const qw = quantize(weight.data as Float32Array, Out, In, { tile: TILE_WEIGHT, scaleFmt });
  const y = fp8Gemm(qx, qw, gemmOpts);
  addBias(y, bias, Out);
  const out = new Tensor(y, outShape(x, Out));
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  // x's cache for Wgrad: the Fprop operand, or (attention output) its own E5M6 copy; the closure holds only that one
  // (nothing when W needs no gradient)
  const wantX = x.requiresGrad;
  const wantW = weight.requiresGrad;
  const e5m6 = opts.cacheInput === 'e5m6';
  const xE5M6 = wantW && e5m6 ? quantizeE5M6(x.data as Float32Array, M, In) : null;
  const xFp8 = wantW && !e5m6 ? qx : null;
  count(M * In, xE5M6?.byteSize ?? xFp8?.byteSize ?? 0);
  onSave?.({ x: qx, xE5M6, weight: qw });
  // The closure captures the quantised copies, the shape of x and flags; never x (the graph does not hold it either).
  const xShape = x.shape;
  const hasBias = bias !== null;
  const wantB = bias !== null && bias.requiresGrad;
  return record(out, 'fp8Linear', inputs, (g) => {
    const gy = g.data as Float32Array; // (M, Out), contiguous
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (wantX) {
      traceQuantize(layer, 'dy', 'dgrad');
      traceQuantize(layer, 'weight', 'dgrad');
      const qg = quantize(gy, M, Out, { tile: TILE_ACT, scaleFmt }); // (M, Out), K = Out
      dx = new Tensor(fp8Gemm(qg, transposeQuantized(qw), gemmOpts), xShape); // (In, Out) blocks 128x128
    }
    if (wantW) {
      traceQuantize(layer, 'dy', 'wgrad');
      traceQuantize(layer, 'x', 'wgrad');
      const qgT = transposeQuantized(quantize(gy, M, Out, { tile: TILE_ACT_T, scaleFmt })); // (Out, M), K = M
      const qxT = transposeQuantized(
        xE5M6
          ? quantize(dequantizeE5M6(xE5M6), M, In, { tile: TILE_ACT_T, scaleFmt })
          : retile(xFp8!, TILE_ACT_T, scaleFmt),
      ); // (In, M)
      dw = new Tensor(fp8Gemm(qgT, qxT, gemmOpts), [Out, In]);
    }
    const db = wantB ? biasGrad(gy, M, Out) : null;
    return hasBias ? [dx, dw, db] : [dx, dw];
  });
}

/** Rounds a float32 array to BF16 values (round to nearest even). */
function bf16Round(a: Float32Array): Float32Array {
  return decodeFloatArray(encodeFloatArray(a, BF16), BF16);
}

function mm(
  a: Float32Array,
  ash: number[],
  b: Float32Array,
  bsh: number[],
  transA: boolean,
  transB: boolean,
): Float32Array {
  const r = runKernel(
    'matmul',
    { data: a, shape: ash, dtype: 'float32' },
    { data: b, shape: bsh, dtype: 'float32' },
    { transA, transB },
  );
  return r.data as Float32Array;
}

/**
 * y = x Wᵀ (+ bias) with BF16 GEMMs: operands rounded to BF16, FP32 accumulation, y and dx rounded to BF16, dW FP32.
 * x is kept for backward as BF16 codes.
 */
export function bf16Linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const { M, In, Out } = checkLinearArgs('bf16Linear', x, weight, bias);
  const xCodes = encodeFloatArray(x.data as Float32Array, BF16);
  const wCodes = encodeFloatArray(weight.data as Float32Array, BF16);
  const y = mm(decodeFloatArray(xCodes, BF16), [M, In], decodeFloatArray(wCodes, BF16), [Out, In], false, true);
  addBias(y, bias, Out);
  const out = new Tensor(bf16Round(y), outShape(x, Out));
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return out;
  count(M * In, xCodes.byteLength);
  // The closure keeps BF16 codes of x and W (2 B/element), the shape of x and flags; never x.
  const xShape = x.shape;
  const wantX = x.requiresGrad;
  const wantW = weight.requiresGrad;
  const hasBias = bias !== null;
  const wantB = bias !== null && bias.requiresGrad;
  return record(out, 'bf16Linear', inputs, (g) => {
    const gb = bf16Round(g.data as Float32Array);
    const dx = wantX
      ? new Tensor(bf16Round(mm(gb, [M, Out], decodeFloatArray(wCodes, BF16), [Out, In], false, false)), xShape)
      : null;
    const dw = wantW
      ? new Tensor(mm(gb, [M, Out], decodeFloatArray(xCodes, BF16), [M, In], true, false), [Out, In])
      : null;
    const db = wantB ? biasGrad(g.data as Float32Array, M, Out) : null;
    return hasBias ? [dx, dw, db] : [dx, dw];
  });
}

/** The plain float32 `linear` op, counted in `savedActivations` (its matmul keeps x: 4 B/element). */
export function fp32Linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const y = linear(x, weight, bias);
  if (y.requiresGrad) count(x.size, x.size * 4);
  return y;
}
