/**
 * Reference of the grouped routed-experts kernels (`moeExperts`, `moeExpertsBackward`): one expert after the other,
 * each step one of the reference's own kernels (matmul, swiglu, mul, sum, add, indexSelect, indexAddParts), the
 * calls that the unfused ops (three Linears, `swiglu`, a `mul` by the gate weights, the gathers and the combine) make,
 * so a model gives the same bits through either path. The native backend does the same steps in one call.
 */
import type { ExpertWeights, Kernels, MoeAttrs, MoeNeed, MoeSaved, TensorData } from '../kernels.js';
import { shapeStr } from '../../tensor/shape.js';
import { elementwiseKernels } from './elementwise.js';
import { indexingKernels } from './indexing.js';
import { linalgKernels } from './linalg.js';
import { reduceKernels } from './reduce.js';
import { floatOut, requireFloat } from './util.js';

/** Sizes of a `moeExperts` call (checked): rows M, hidden D, expert width I. */
export interface MoeDims {
  M: number;
  D: number;
  I: number;
}

/** Checks a `moeExperts` call's operands (one line naming what is wrong) and returns its sizes. */
export function checkMoe(xs: TensorData, weights: TensorData, experts: readonly ExpertWeights[], a: MoeAttrs): MoeDims {
  const fail = (what: string): never => {
    throw new RangeError(`moeExperts: ${what}`);
  };
  if (xs.shape.length !== 2) fail(`xs must be (rows, hidden), got ${shapeStr(xs.shape)}`);
  const [M, D] = xs.shape;
  if (experts.length !== a.sizes.length) fail(`${experts.length} experts for ${a.sizes.length} group sizes`);
  if (experts.length === 0) fail('no experts');
  let total = 0;
  for (const n of a.sizes) {
    if (!Number.isInteger(n) || n < 1) fail(`group sizes must be whole numbers >= 1, got [${a.sizes.join(', ')}]`);
    total += n;
  }
  if (total !== M) fail(`group sizes sum to ${total}, xs has ${M} rows`);
  if (a.tokens.length !== M || a.slots.length !== M) fail(`tokens and slots need ${M} entries each`);
  if (!Number.isInteger(a.nTokens) || a.nTokens < 0) fail(`nTokens must be a whole number, got ${a.nTokens}`);
  const nw = weights.data.length;
  for (let r = 0; r < M; r++) {
    if (!(a.tokens[r] >= 0 && a.tokens[r] < a.nTokens))
      fail(`token ${a.tokens[r]} of row ${r} is not in [0, ${a.nTokens})`);
    if (!(a.slots[r] >= 0 && a.slots[r] < nw)) fail(`slot ${a.slots[r]} of row ${r} is not in [0, ${nw})`);
  }
  const I = experts[0].w1.shape[0];
  experts.forEach((e, i) => {
    const ok = (t: TensorData, r: number, c: number) => t.shape.length === 2 && t.shape[0] === r && t.shape[1] === c;
    if (!ok(e.w1, I, D) || !ok(e.w3, I, D) || !ok(e.w2, D, I)) {
      fail(
        `expert ${i}: w1 ${shapeStr(e.w1.shape)}, w3 ${shapeStr(e.w3.shape)}, w2 ${shapeStr(e.w2.shape)} ` +
          `do not fit hidden ${D} and width ${I} (w1, w3 (I, D); w2 (D, I))`,
      );
    }
    for (const t of [e.w1, e.w3, e.w2])
      if (t.dtype !== xs.dtype) fail(`expert ${i}'s weights are ${t.dtype}, xs is ${xs.dtype}`);
  });
  if (weights.dtype !== xs.dtype) fail(`gate weights are ${weights.dtype}, xs is ${xs.dtype}`);
  return { M, D, I };
}

const k = { ...linalgKernels, ...elementwiseKernels, ...reduceKernels, ...indexingKernels } as Kernels;

/** Rows r0 .. r0 + n of a (rows, w) buffer, as a view. */
function rows(t: TensorData, r0: number, n: number, w: number): TensorData {
  return { data: t.data.subarray(r0 * w, (r0 + n) * w), shape: [n, w], dtype: t.dtype };
}

/** Buffers of the expert groups stacked into one (M, w). */
function stack(parts: readonly TensorData[], M: number, w: number, like: TensorData): TensorData {
  const out = floatOut(like, [M, w]);
  let at = 0;
  for (const p of parts) {
    out.data.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

const int32 = (a: Int32Array): TensorData => ({ data: a, shape: [a.length], dtype: 'int32' });

/** Each group's row range, its tokens' and slots' indices (int32 tensors) and its gate weights (n, 1). */
function groups(weights: TensorData, a: MoeAttrs) {
  const flatW: TensorData = { data: weights.data, shape: [weights.data.length, 1], dtype: weights.dtype };
  let r0 = 0;
  return a.sizes.map((n) => {
    const g = {
      r0,
      n,
      tokens: int32(a.tokens.subarray(r0, r0 + n)),
      slots: int32(a.slots.subarray(r0, r0 + n)),
      gate: k.indexSelect(flatW, int32(a.slots.subarray(r0, r0 + n)), { axis: 0 }),
    };
    r0 += n;
    return g;
  });
}

export const moeKernels: Partial<Kernels> = {
  moeExperts: (xs, weights, experts, a) => {
    requireFloat('moeExperts', xs, weights);
    const { M, D, I } = checkMoe(xs, weights, experts, a);
    const h1s: TensorData[] = [];
    const h3s: TensorData[] = [];
    const acts: TensorData[] = [];
    const os: TensorData[] = [];
    const ms: TensorData[] = [];
    groups(weights, a).forEach((g, e) => {
      const x = rows(xs, g.r0, g.n, D);
      const h1 = k.matmul(x, experts[e].w1, { transA: false, transB: true });
      const h3 = k.matmul(x, experts[e].w3, { transA: false, transB: true });
      const act = k.swiglu(h1, h3);
      const o = k.matmul(act, experts[e].w2, { transA: false, transB: true });
      h1s.push(h1);
      h3s.push(h3);
      acts.push(act);
      os.push(o);
      ms.push(k.mul(o, g.gate));
    });
    const y = k.indexAddParts(floatOut(xs, [a.nTokens, D]), int32(a.tokens), ms, { axis: 0 });
    return {
      y,
      h1: stack(h1s, M, I, xs),
      h3: stack(h3s, M, I, xs),
      act: stack(acts, M, I, xs),
      o: stack(os, M, D, xs),
    };
  },

  moeExpertsBackward: (dy, xs, weights, experts, saved: MoeSaved, a, need: MoeNeed) => {
    requireFloat('moeExpertsBackward', dy, xs, weights);
    const { M, D, I } = checkMoe(xs, weights, experts, a);
    if (dy.shape.length !== 2 || dy.shape[0] !== a.nTokens || dy.shape[1] !== D)
      throw new RangeError(`moeExpertsBackward: dy ${shapeStr(dy.shape)}, expected [${a.nTokens}, ${D}]`);
    const dxs: TensorData[] = [];
    const dgs: TensorData[] = [];
    const dw1: (TensorData | null)[] = [];
    const dw3: (TensorData | null)[] = [];
    const dw2: (TensorData | null)[] = [];
    groups(weights, a).forEach((g, e) => {
      const { w1, w3, w2 } = experts[e];
      const x = rows(xs, g.r0, g.n, D);
      const h1 = rows(saved.h1, g.r0, g.n, I);
      const h3 = rows(saved.h3, g.r0, g.n, I);
      const act = rows(saved.act, g.r0, g.n, I);
      const o = rows(saved.o, g.r0, g.n, D);
      // y[token] += o * gate: the combine's gradient is dy's rows, the scale's as `mul`'s backward computes it.
      const dm = k.indexSelect(dy, g.tokens, { axis: 0 });
      const dout = k.mul(dm, g.gate);
      dgs.push(k.sum(k.mul(dm, o), { axes: [1], keepdim: true }));
      // o = act w2ᵀ, act = silu(h1) h3, h1 = x w1ᵀ, h3 = x w3ᵀ: as `matmul`'s and `swiglu`'s backward.
      const dact = k.matmul(dout, w2, { transA: false, transB: false });
      const w = need.experts[e];
      dw2.push(w ? k.matmul(dout, act, { transA: true, transB: false }) : null);
      const { da: dh1, db: dh3 } = k.swigluBackward(h1, h3, dact);
      if (need.xs) {
        const d1 = k.matmul(dh1, w1, { transA: false, transB: false });
        dxs.push(k.add(d1, k.matmul(dh3, w3, { transA: false, transB: false })));
      }
      dw1.push(w ? k.matmul(dh1, x, { transA: true, transB: false }) : null);
      dw3.push(w ? k.matmul(dh3, x, { transA: true, transB: false }) : null);
    });
    const nw = weights.data.length;
    const dflat = k.indexAddParts(floatOut(weights, [nw, 1]), int32(a.slots), dgs, { axis: 0 });
    return {
      dxs: need.xs ? stack(dxs, M, D, xs) : null,
      dweights: { data: dflat.data, shape: [...weights.shape], dtype: weights.dtype },
      dw1,
      dw3,
      dw2,
    };
  },
};
