/**
 * The routed experts of an MoE layer in one native call each way (native/moe.cc): the reference's steps
 * (src/backend/ts/moe.ts) with the addon's kernels, the experts in parallel when there are at least two per thread.
 * float32 only; other dtypes and invalid operands go to the reference (its checks run first, so errors read the same).
 */
import type { ExpertWeights, Kernels, MoeAttrs, TensorData } from '../kernels.js';
import { allocF32 } from '../../tensor/pool.js';
import { checkMoe } from '../ts/moe.js';
import type { MoeOperands, NativeAddon } from './addon.js';
import { isF32, out32, ref } from './util.js';

const allF32 = (experts: readonly ExpertWeights[]) => experts.every((e) => isF32(e.w1) && isF32(e.w3) && isF32(e.w2));

/** Group starts (groups + 1 row offsets) from the group sizes. */
function startsOf(a: MoeAttrs): Int32Array {
  const s = new Int32Array(a.sizes.length + 1);
  a.sizes.forEach((n, i) => {
    s[i + 1] = s[i] + n;
  });
  return s;
}

const f32s = (experts: readonly ExpertWeights[], key: keyof ExpertWeights) =>
  experts.map((e) => e[key].data as Float32Array);

/** The addon's shared operands (float32 checked by the caller). */
function operands(
  xs: TensorData,
  weights: TensorData,
  experts: readonly ExpertWeights[],
  a: MoeAttrs,
  D: number,
  I: number,
): MoeOperands {
  const x = xs.data as Float32Array;
  const w = weights.data as Float32Array;
  return [
    x,
    w,
    startsOf(a),
    a.tokens,
    a.slots,
    f32s(experts, 'w1'),
    f32s(experts, 'w3'),
    f32s(experts, 'w2'),
    D,
    I,
    a.nTokens,
  ];
}

export function moeKernels(addon: NativeAddon): Partial<Kernels> {
  return {
    moeExperts: (xs, weights, experts, a) => {
      if (!isF32(xs) || !isF32(weights) || !allF32(experts)) return ref('moeExperts')(xs, weights, experts, a);
      const { M, D, I } = checkMoe(xs, weights, experts, a);
      // every output is written whole by the kernel (y zeroed there)
      const out = (rows: number, w: number) => out32([rows, w], false);
      const r = { y: out(a.nTokens, D), h1: out(M, I), h3: out(M, I), act: out(M, I), o: out(M, D) };
      const scratch = allocF32(M + M * D, false); // each row's gate weight, then the scaled outputs
      addon.moeExperts(
        ...operands(xs, weights, experts, a, D, I),
        r.y.data,
        r.h1.data,
        r.h3.data,
        r.act.data,
        r.o.data,
        scratch,
      );
      return r;
    },

    moeExpertsBackward: (dy, xs, weights, experts, saved, a, need) => {
      const ok =
        isF32(dy) &&
        isF32(xs) &&
        isF32(weights) &&
        allF32(experts) &&
        isF32(saved.h1) &&
        isF32(saved.h3) &&
        isF32(saved.act) &&
        isF32(saved.o);
      const { M, D, I } = checkMoe(xs, weights, experts, a);
      const savedOk =
        saved.h1.data.length === M * I &&
        saved.h3.data.length === M * I &&
        saved.act.data.length === M * I &&
        saved.o.data.length === M * D &&
        dy.data.length === a.nTokens * D &&
        dy.shape.length === 2;
      if (!ok || !savedOk) return ref('moeExpertsBackward')(dy, xs, weights, experts, saved, a, need);
      const mat = (r: number, c: number) => out32([r, c], false);
      const dxs = need.xs ? mat(M, D) : null;
      const dweights = out32(weights.shape, false);
      const dw1 = experts.map((_, e) => (need.experts[e] ? mat(I, D) : null));
      const dw3 = experts.map((_, e) => (need.experts[e] ? mat(I, D) : null));
      const dw2 = experts.map((_, e) => (need.experts[e] ? mat(D, I) : null));
      // per row: its gate weight and that weight's gradient, then three (M, D) and three (M, I) blocks (native/moe.cc)
      const scratch = allocF32(2 * M + M * (3 * D + 3 * I), false);
      addon.moeExpertsBackward(
        dy.data as Float32Array,
        ...operands(xs, weights, experts, a, D, I),
        saved.h1.data as Float32Array,
        saved.h3.data as Float32Array,
        saved.act.data as Float32Array,
        saved.o.data as Float32Array,
        dxs?.data ?? null,
        dweights.data,
        dw1.map((t) => t?.data ?? null),
        dw3.map((t) => t?.data ?? null),
        dw2.map((t) => t?.data ?? null),
        scratch,
      );
      return { dxs, dweights, dw1, dw3, dw2 };
    },
  };
}
