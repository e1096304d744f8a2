/**
 * The FP8 SwiGLU MLP, y = w2(silu(w1 x) * w3 x), as one autograd op with DeepSeek-V3's special cases (SPEC §2):
 *
 * - SwiGLU recompute. The SwiGLU inputs h1 = w1 x and h3 = w3 x are cached in FP8 (E4M3, 1x128 tiles); the SwiGLU
 *   output s (the input of w2) is not stored at all. The backward pass dequantises h1 and h3, recomputes s from them
 *   for w2's Wgrad, and runs the SwiGLU backward on the same dequantised values.
 * - One FP8 input for w1 and w3. x is quantised once (1x128 tiles) and that one FP8 tensor is the Fprop operand of both
 *   GEMMs and, re-tiled to 128x1, the Wgrad operand of both; it is cached once.
 * - FP8 dispatch (`dispatch: true`, routed experts). V3 quantises the activations to FP8 with power-of-2 scales
 *   before the MoE dispatch, and likewise the activation gradient before the down-projection (the gradient that the
 *   combine's backward sends to the expert); the combine stays high precision. Here nothing is sent, so this is the
 *   numerics: x and dy are quantised with UE8M0 (power-of-2) 1x128 scales, dy's Dgrad operand is that FP8 tensor and
 *   its Wgrad operand is that FP8 tensor re-tiled to 128x1 (exact with power-of-2 scales for elements that stay normal),
 *   as an expert that only ever receives the FP8 gradient would do. Per-token 1x128 tiles commute with the dispatch's
 *   row gather, so quantising the gathered rows here is bit-identical to quantising every token once before dispatch
 *   (test/fp8/swiglu.test.ts checks it); the output y and dx are FP32 (V3's combine: BF16).
 *
 * Every GEMM is `fp8Gemm` with the Linear's tiling (./linear.ts): weights in 128x128 blocks, activations and gradients
 * 1x128 for Fprop/Dgrad, 128x1 for Wgrad. Without dispatch the Fprop output equals three `fp8Linear`s and `swiglu`
 * bit for bit (same operands); the backward differs by design (FP8 h1/h3 instead of float32, one x cache).
 * What it is not: a bias-carrying MLP (DeepSeek's MLPs have none) or a float64 op (gradients are checked against
 * references on the same quantised values, not by finite differences).
 */
import { runKernel } from '../backend/registry.js';
import { Tensor, isGradEnabled, record } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/shape.js';
import { fp8Gemm } from './gemm.js';
import { type Fp8LinearOptions, checkLinearArgs, countSaved, traceQuantize } from './linear.js';
import {
  type QuantizedMatrix,
  TILE_ACT,
  TILE_ACT_T,
  TILE_WEIGHT,
  dequantize,
  quantize,
  retile,
  transposeQuantized,
} from './quant.js';

export interface Fp8SwigluOptions extends Fp8LinearOptions {
  /** A routed expert: x and the output gradient are FP8 with power-of-2 scales, as V3's dispatch sends them. */
  dispatch?: boolean;
}

/** What the op caches for backward (tests, memory accounting). */
export interface Fp8SwigluSaved {
  /** x, once, 1x128 tiles (power-of-2 scales when dispatched). */
  x: QuantizedMatrix;
  /** The SwiGLU inputs w1 x and w3 x, 1x128 tiles. */
  h1: QuantizedMatrix;
  h3: QuantizedMatrix;
  w1: QuantizedMatrix;
  w2: QuantizedMatrix;
  w3: QuantizedMatrix;
}

/** Intermediate values of one backward pass (tests check each stage against an independent reference). */
export interface Fp8SwigluBackwardTrace {
  /** The output gradient's Dgrad operand (1x128; power-of-2 scales when dispatched). */
  dy: QuantizedMatrix;
  /** dL/ds = dy w2 (M, I). */
  ds: Float32Array;
  /** Dequantised h1, h3 and the SwiGLU output recomputed from them (M, I). */
  h1: Float32Array;
  h3: Float32Array;
  s: Float32Array;
  /** dL/dh1, dL/dh3 (M, I). */
  dh1: Float32Array;
  dh3: Float32Array;
}

/** Intermediate values of the forward pass (M, I): the SwiGLU inputs as the GEMMs return them, and its output. */
export interface Fp8SwigluForwardTrace {
  h1: Float32Array;
  h3: Float32Array;
  s: Float32Array;
}

export interface Fp8SwigluHooks {
  onForward?: (t: Fp8SwigluForwardTrace) => void;
  onSave?: (s: Fp8SwigluSaved) => void;
  onBackward?: (t: Fp8SwigluBackwardTrace) => void;
}

function f32(data: Float32Array, shape: number[]): Tensor {
  return new Tensor(data, shape, 'float32');
}

/**
 * y = w2(silu(w1 x) * w3 x) with FP8 GEMMs, FP8-cached SwiGLU inputs and a recomputed SwiGLU output (file header).
 * x (..., D), w1 and w3 (I, D), w2 (D, I), float32. `layer` prefixes the trace names (`layer.w1`, ...).
 */
export function fp8SwigluMlp(
  x: Tensor,
  w1: Tensor,
  w2: Tensor,
  w3: Tensor,
  opts: Fp8SwigluOptions = {},
  layer = 'mlp',
  hooks: Fp8SwigluHooks = {},
): Tensor {
  const op = 'fp8SwigluMlp';
  const { M, In: D, Out: I } = checkLinearArgs(op, x, w1, null);
  checkLinearArgs(op, x, w3, null);
  if (w3.shape[0] !== I) throw new RangeError(`${op}: w1 ${shapeStr(w1.shape)} and w3 ${shapeStr(w3.shape)} differ`);
  if (w2.ndim !== 2 || w2.shape[0] !== D || w2.shape[1] !== I) {
    throw new RangeError(`${op}: w2 must be (${D}, ${I}) for w1 ${shapeStr(w1.shape)}, got ${shapeStr(w2.shape)}`);
  }
  if (w2.dtype !== 'float32') throw new TypeError(`${op}: only float32 tensors are supported (w2 ${w2.dtype})`);
  const scaleFmt = opts.scaleFmt ?? 'fp32';
  const ioScale = opts.dispatch ? 'ue8m0' : scaleFmt; // what crosses the dispatch: x forward, dy backward
  const gemmOpts = { accumulator: opts.accumulator, promoteEvery: opts.promoteEvery };
  const [n1, n2, n3] = [`${layer}.w1`, `${layer}.w2`, `${layer}.w3`];
  for (const n of [n1, n3]) {
    traceQuantize(n, 'x', 'fprop');
    traceQuantize(n, 'weight', 'fprop');
  }
  const qx = quantize(x.data as Float32Array, M, D, { tile: TILE_ACT, scaleFmt: ioScale }); // once, for w1 and w3
  const qw1 = quantize(w1.data as Float32Array, I, D, { tile: TILE_WEIGHT, scaleFmt });
  const qw3 = quantize(w3.data as Float32Array, I, D, { tile: TILE_WEIGHT, scaleFmt });
  const qw2 = quantize(w2.data as Float32Array, D, I, { tile: TILE_WEIGHT, scaleFmt });
  const h1 = fp8Gemm(qx, qw1, gemmOpts); // (M, I)
  const h3 = fp8Gemm(qx, qw3, gemmOpts);
  const s = runKernel('swiglu', f32(h1, [M, I]), f32(h3, [M, I])).data as Float32Array;
  hooks.onForward?.({ h1, h3, s });
  traceQuantize(n2, 'x', 'fprop');
  traceQuantize(n2, 'weight', 'fprop');
  const y = fp8Gemm(quantize(s, M, I, { tile: TILE_ACT, scaleFmt }), qw2, gemmOpts); // (M, D); s is not kept
  const xShape = x.shape;
  const out = f32(y, [...xShape.slice(0, -1), D]);
  if (!isGradEnabled() || ![x, w1, w2, w3].some((t) => t.requiresGrad)) return out;

  const [wantX, want1, want2, want3] = [x.requiresGrad, w1.requiresGrad, w2.requiresGrad, w3.requiresGrad];
  const qh1 = quantize(h1, M, I, { tile: TILE_ACT, scaleFmt });
  const qh3 = quantize(h3, M, I, { tile: TILE_ACT, scaleFmt });
  const xCache = want1 || want3 ? qx : null;
  // The three Linears' inputs: x once, in FP8, for w1 and w3; w2's input s is not kept (0 B). The SwiGLU's own cache
  // (FP8 h1, h3) is not a Linear input, as the float32 path's (swiglu keeps float32 h1, h3) is not: the measured graph
  // bytes of `r1ts experiment fp8` include both.
  countSaved(3, 2 * M * D + M * I, xCache?.byteSize ?? 0);
  hooks.onSave?.({ x: qx, h1: qh1, h3: qh3, w1: qw1, w2: qw2, w3: qw3 });
  const onBackward = hooks.onBackward;
  return record(out, op, [x, w1, w2, w3], (g) => {
    const gy = g.data as Float32Array; // (M, D)
    traceQuantize(n2, 'dy', 'dgrad');
    traceQuantize(n2, 'weight', 'dgrad');
    const qg = quantize(gy, M, D, { tile: TILE_ACT, scaleFmt: ioScale }); // the gradient before the down-projection
    const ds = fp8Gemm(qg, transposeQuantized(qw2), gemmOpts); // (M, I)
    const h1d = dequantize(qh1);
    const h3d = dequantize(qh3);
    const sR = runKernel('swiglu', f32(h1d, [M, I]), f32(h3d, [M, I])).data as Float32Array; // recomputed
    let dw2: Tensor | null = null;
    if (want2) {
      traceQuantize(n2, 'dy', 'wgrad');
      traceQuantize(n2, 'x', 'wgrad');
      // dispatched: the expert has only the FP8 gradient, re-tiled; otherwise dy is quantised in 128x1 tiles as fp8Linear
      const gT = opts.dispatch ? retile(qg, TILE_ACT_T, ioScale) : quantize(gy, M, D, { tile: TILE_ACT_T, scaleFmt });
      const sT = quantize(sR, M, I, { tile: TILE_ACT_T, scaleFmt });
      dw2 = f32(fp8Gemm(transposeQuantized(gT), transposeQuantized(sT), gemmOpts), [D, I]);
    }
    const { da, db } = runKernel('swigluBackward', f32(h1d, [M, I]), f32(h3d, [M, I]), f32(ds, [M, I]));
    const dh1 = da.data as Float32Array;
    const dh3 = db.data as Float32Array;
    onBackward?.({ dy: qg, ds, h1: h1d, h3: h3d, s: sR, dh1, dh3 });
    let dx: Tensor | null = null;
    if (wantX) {
      const part = (n: string, dh: Float32Array, qw: QuantizedMatrix): Float32Array => {
        traceQuantize(n, 'dy', 'dgrad');
        traceQuantize(n, 'weight', 'dgrad');
        return fp8Gemm(quantize(dh, M, I, { tile: TILE_ACT, scaleFmt }), transposeQuantized(qw), gemmOpts);
      };
      const dx1 = part(n1, dh1, qw1);
      const dx3 = part(n3, dh3, qw3);
      for (let i = 0; i < dx1.length; i++) dx1[i] += dx3[i];
      dx = f32(dx1, [...xShape]);
    }
    const qxT = xCache ? transposeQuantized(retile(xCache, TILE_ACT_T, ioScale)) : null; // (D, M)
    const wgrad = (n: string, dh: Float32Array): Tensor => {
      traceQuantize(n, 'dy', 'wgrad');
      traceQuantize(n, 'x', 'wgrad');
      const dhT = transposeQuantized(quantize(dh, M, I, { tile: TILE_ACT_T, scaleFmt })); // (I, M)
      return f32(fp8Gemm(dhT, qxT!, gemmOpts), [I, D]);
    };
    return [dx, want1 ? wgrad(n1, dh1) : null, dw2, want3 ? wgrad(n3, dh3) : null];
  });
}
