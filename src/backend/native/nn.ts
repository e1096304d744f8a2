/**
 * Native matmul, fused NN kernels and row gathers: batched sgemm (transposes read in place, broadcast batch dims),
 * softmax / log-softmax, cross-entropy, RMSNorm, RoPE and attention (forward and backward), index-select and
 * index-add; float32 rows times bfloat16 weights (`matmulBf16`). float32 only; invalid arguments and other dtypes go
 * to the reference kernel, so errors read the same.
 */
import { type AttentionLayout, type Kernels, type TensorData, matmulDims } from '../kernels.js';
import { broadcastShapes, broadcastStrides, sameShape } from '../../tensor/shape.js';
import { around, stridedOffsets } from '../ts/util.js';
import { attentionShape, checkAttendRows, keyStartOf, mlaShape } from '../ts/attention.js';
import { indexParts } from '../ts/indexing.js';
import { linearIntoDims, matmulBf16Dims } from '../ts/linalg.js';

/** The element offset of a single product's operands. */
const ZERO_OFFSET = new Int32Array(1);
import type { NativeAddon } from './addon.js';
import { f32, isF32, out32, ref } from './util.js';

/**
 * The addon's dims [B, H, Hk, Tq, Tk, Dk, Dv, layout] when the contract's shape rules for attention hold (else null:
 * the reference throws its error), with out's shape.
 */
function attentionDims(
  q: TensorData,
  k: TensorData,
  v: TensorData,
  layout: AttentionLayout = 'bhtd',
): { dims: Int32Array; outShape: number[] } | null {
  let d: ReturnType<typeof attentionShape>;
  try {
    d = attentionShape(q, k, v, layout);
  } catch {
    return null;
  }
  const dims = Int32Array.from([d.B, d.H, d.Hk, d.Tq, d.Tk, d.Dk, d.Dv, layout === 'bthd' ? 1 : 0]);
  return { dims, outShape: d.outShape };
}

function indexOk(index: TensorData, n: number): boolean {
  if (index.dtype !== 'int32' || !(index.data instanceof Int32Array)) return false;
  const d = index.data;
  for (let i = 0; i < d.length; i++) if (d[i] < 0 || d[i] >= n) return false;
  return true;
}

function softmaxKernel(addon: NativeAddon, log: boolean): Kernels['softmax'] {
  const name = log ? 'logSoftmax' : 'softmax';
  return (x, attrs) => {
    if (!isF32(x)) return ref(name)(x, attrs);
    const { outer, n, inner } = around(x.shape, attrs.axis);
    const o = out32(x.shape);
    addon.softmax(log, x.data, o.data, outer, n, inner);
    return o;
  };
}

function softmaxBackwardKernel(addon: NativeAddon, log: boolean): Kernels['softmaxBackward'] {
  const name = log ? 'logSoftmaxBackward' : 'softmaxBackward';
  return (y, dy, attrs) => {
    if (!isF32(y) || !isF32(dy) || !sameShape(y.shape, dy.shape)) return ref(name)(y, dy, attrs);
    const { outer, n, inner } = around(y.shape, attrs.axis);
    const o = out32(y.shape);
    addon.softmaxBackward(log, y.data, dy.data, o.data, outer, n, inner);
    return o;
  };
}

/** The operands attention's and MLA attention's addon calls start with. */
function operands(
  q: TensorData,
  k: TensorData,
  v: TensorData,
  dims: Int32Array,
  attrs: { causal: boolean; scale: number },
): [Float32Array, Float32Array, Float32Array, Int32Array, boolean, number] {
  return [f32(q), f32(k), f32(v), dims, attrs.causal, attrs.scale];
}

/** What the backward calls take after the operands: out, lse, dout, the three gradients (written whole), keyStart. */
function grads(
  out: TensorData,
  lse: TensorData,
  dout: TensorData,
  outs: readonly (TensorData & { data: Float32Array })[],
  keyStart: Int32Array | null,
): [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Int32Array | null] {
  return [f32(out), f32(lse), f32(dout), outs[0].data, outs[1].data, outs[2].data, keyStart];
}

export function nnKernels(addon: NativeAddon): Partial<Kernels> {
  return {
    matmul: (a, b, attrs) => {
      const { transA, transB } = attrs;
      if (!isF32(a) || !isF32(b) || a.shape.length < 2 || b.shape.length < 2) return ref('matmul')(a, b, attrs);
      const { M, K, Kb, N } = matmulDims(a, b, transA, transB);
      if (K !== Kb) return ref('matmul')(a, b, attrs);
      const batchA = a.shape.slice(0, -2);
      const batchB = b.shape.slice(0, -2);
      const batch = broadcastShapes(batchA, batchB, 'matmul');
      const c = out32([...batch, M, N], false); // the GEMM writes all of C (C = A B, no accumulation)
      const offA = stridedOffsets(
        batch,
        broadcastStrides(batchA, batch).map((s) => s * M * K),
      );
      const offB = stridedOffsets(
        batch,
        broadcastStrides(batchB, batch).map((s) => s * K * N),
      );
      if (c.data.length > 0) addon.matmul(a.data, offA, b.data, offB, c.data, offA.length, M, N, K, transA, transB);
      return c;
    },

    linearInto: (x, w, out) => {
      if (!isF32(x) || !isF32(w)) return ref('linearInto')(x, w, out); // the reference throws its error
      const { M, K, N } = linearIntoDims(x, w, out);
      if (M * N > 0) addon.matmul(x.data, ZERO_OFFSET, w.data, ZERO_OFFSET, out, 1, M, N, K, false, true);
    },

    matmulBf16: (x, w) => {
      const { M, K, N } = matmulBf16Dims(x, w);
      if (!isF32(x) || !(w.data instanceof Uint16Array)) return ref('matmulBf16')(x, w);
      const c = out32([M, N]);
      if (c.data.length > 0) addon.matmulBf16(x.data, w.data, c.data, M, N, K);
      return c;
    },

    softmax: softmaxKernel(addon, false),
    logSoftmax: softmaxKernel(addon, true),
    softmaxBackward: softmaxBackwardKernel(addon, false),
    logSoftmaxBackward: softmaxBackwardKernel(addon, true),

    crossEntropy: (logits, targets, attrs) => {
      const { ignoreIndex } = attrs;
      if (!isF32(logits) || logits.shape.length !== 2 || !(targets.data instanceof Int32Array)) {
        return ref('crossEntropy')(logits, targets, attrs);
      }
      const [N, C] = logits.shape;
      if (targets.data.length !== N) return ref('crossEntropy')(logits, targets, attrs);
      for (let r = 0; r < N; r++) {
        const t = targets.data[r];
        if (t !== ignoreIndex && (t < 0 || t >= C)) return ref('crossEntropy')(logits, targets, attrs); // throws
      }
      const loss = out32([N]);
      const lse = out32([N]);
      addon.crossEntropy(logits.data, targets.data, N, C, ignoreIndex, loss.data, lse.data);
      return { loss, lse };
    },
    crossEntropyBackward: (logits, targets, lse, dloss, attrs) => {
      const ok =
        isF32(logits) && logits.shape.length === 2 && targets.data instanceof Int32Array && isF32(lse) && isF32(dloss);
      if (!ok || targets.data.length !== logits.shape[0])
        return ref('crossEntropyBackward')(logits, targets, lse, dloss, attrs);
      const [N, C] = logits.shape;
      const o = out32(logits.shape, false); // every row written (ignored rows as zeros)
      addon.crossEntropyBackward(
        f32(logits),
        targets.data as Int32Array,
        f32(lse),
        f32(dloss),
        N,
        C,
        attrs.ignoreIndex,
        o.data,
      );
      return o;
    },

    rmsNorm: (x, weight, attrs) => {
      const D = x.shape[x.shape.length - 1];
      const wOk = weight === null || (isF32(weight) && weight.shape.length === 1 && weight.shape[0] === D);
      if (!isF32(x) || !wOk || x.shape.length === 0 || D === 0) return ref('rmsNorm')(x, weight, attrs);
      const rows = x.data.length / D;
      const y = out32(x.shape, false);
      const rstd = out32(x.shape.slice(0, -1), false);
      addon.rmsNorm(x.data, weight ? f32(weight) : null, rows, D, attrs.eps, y.data, rstd.data);
      return { y, rstd };
    },
    rmsNormBackward: (x, weight, rstd, dy) => {
      const D = x.shape[x.shape.length - 1];
      const wOk = weight === null || (isF32(weight) && weight.data.length === D);
      if (!isF32(x) || !isF32(rstd) || !isF32(dy) || !wOk || x.shape.length === 0 || D === 0) {
        return ref('rmsNormBackward')(x, weight, rstd, dy);
      }
      const rows = x.data.length / D;
      const dx = out32(x.shape, false);
      const dweight = weight ? out32(weight.shape, false) : null; // dweight[j] = the sum of the chunks' partial sums
      addon.rmsNormBackward(
        x.data,
        weight ? f32(weight) : null,
        rstd.data,
        dy.data,
        rows,
        D,
        dx.data,
        dweight ? dweight.data : null,
      );
      return { dx, dweight };
    },

    rope: (x, cos, sin, attrs) => {
      const pass = attrs.pass ?? 0;
      const D = x.shape[x.shape.length - 1] - pass;
      const half = D / 2;
      const lead = x.shape.slice(0, -1);
      const cLead = cos.shape.slice(0, -1);
      const ok =
        isF32(x) &&
        isF32(cos) &&
        isF32(sin) &&
        x.shape.length > 0 &&
        Number.isInteger(pass) &&
        pass >= 0 &&
        D >= 0 &&
        D % 2 === 0 &&
        sameShape(cos.shape, sin.shape) &&
        cos.shape[cos.shape.length - 1] === half &&
        cLead.length <= lead.length &&
        cLead.every((d, i) => d === 1 || d === lead[lead.length - cLead.length + i]);
      if (!ok || x.data.length === 0) return ref('rope')(x, cos, sin, attrs);
      const rowOff = stridedOffsets(
        lead,
        broadcastStrides(cLead, lead).map((s) => s * half),
      );
      const o = out32(x.shape, false);
      addon.rope(f32(x), f32(cos), f32(sin), rowOff, rowOff.length, D, attrs.interleaved, attrs.inverse, o.data, pass);
      return o;
    },

    attention: (q, k, v, attrs) => {
      const shape = isF32(q) && isF32(k) && isF32(v) ? attentionDims(q, k, v, attrs.layout) : null;
      if (!shape) return ref('attention')(q, k, v, attrs);
      const { dims, outShape } = shape;
      const [B, H, , Tq] = dims;
      const ks = keyStartOf(attrs, B, Tq);
      const out = out32(outShape, false);
      const lse = out32([B, H, Tq], false);
      addon.attention(...operands(q, k, v, dims, attrs), out.data, lse.data, ks);
      return { out, lse };
    },
    attendRows: (a, out) => {
      checkAttendRows(a, out); // the reference's errors; the addon checks the bounds again before it reads
      if (a.rows * a.H * a.Dv === 0) return;
      addon.attendRows(
        a.q,
        a.k,
        a.v,
        a.kOff,
        a.vOff,
        a.len,
        a.rows,
        a.H,
        a.Dk,
        a.Dv,
        a.kStride,
        a.vStride,
        a.scale,
        out,
      );
    },
    attentionBackward: (q, k, v, out, lse, dout, attrs) => {
      const all = [q, k, v, out, lse, dout].every(isF32);
      const shape = all ? attentionDims(q, k, v, attrs.layout) : null;
      if (!shape || !sameShape(out.shape, shape.outShape) || !sameShape(out.shape, dout.shape))
        return ref('attentionBackward')(q, k, v, out, lse, dout, attrs);
      const { dims } = shape;
      const ks = keyStartOf(attrs, dims[0], dims[3]);
      const dq = out32(q.shape, false);
      const dk = out32(k.shape, false);
      const dv = out32(v.shape, false);
      addon.attentionBackward(...operands(q, k, v, dims, attrs), ...grads(out, lse, dout, [dq, dk, dv], ks));
      return { dq, dk, dv };
    },

    mlaAttention: (q, kv, kPe, attrs) => {
      if (!isF32(q) || !isF32(kv) || !isF32(kPe)) return ref('mlaAttention')(q, kv, kPe, attrs);
      const { B, Tq, H, Tk, R, Dv } = mlaShape(q, kv, kPe, attrs.nope);
      const out = out32([B, Tq, H, Dv], false);
      const lse = out32([B, H, Tq], false);
      const dims = Int32Array.of(B, H, Tq, Tk, attrs.nope, R, Dv);
      addon.mlaAttention(...operands(q, kv, kPe, dims, attrs), out.data, lse.data, keyStartOf(attrs, B, Tq));
      return { out, lse };
    },
    mlaAttentionBackward: (q, kv, kPe, out, lse, dout, attrs) => {
      const all = [q, kv, kPe, out, lse, dout].every(isF32);
      const s = all ? mlaShape(q, kv, kPe, attrs.nope) : null;
      if (!s || !sameShape(out.shape, [s.B, s.Tq, s.H, s.Dv]) || !sameShape(out.shape, dout.shape))
        return ref('mlaAttentionBackward')(q, kv, kPe, out, lse, dout, attrs);
      const { B, Tq, H, Tk, R, Dv } = s;
      const dq = out32(q.shape, false);
      const dkv = out32(kv.shape, false);
      const dkPe = out32([B, Tk, H, R], false);
      const dims = Int32Array.of(B, H, Tq, Tk, attrs.nope, R, Dv);
      addon.mlaAttentionBackward(
        ...operands(q, kv, kPe, dims, attrs),
        ...grads(out, lse, dout, [dq, dkv, dkPe], keyStartOf(attrs, B, Tq)),
      );
      return { dq, dkv, dkPe };
    },

    indexSelect: (x, index, attrs) => {
      const { outer, n, inner } = around(x.shape, attrs.axis);
      if (!isF32(x) || !indexOk(index, n)) return ref('indexSelect')(x, index, attrs);
      const m = index.data.length;
      const shape = [...x.shape];
      shape[attrs.axis] = m;
      const o = out32(shape, false);
      if (o.data.length > 0) addon.indexSelect(x.data, index.data as Int32Array, outer, n, inner, m, o.data);
      return o;
    },
    indexAdd: (x, index, src, attrs) => {
      const { outer, n, inner } = around(x.shape, attrs.axis);
      const m = index.data.length;
      if (!isF32(x) || !isF32(src) || !indexOk(index, n) || src.data.length !== outer * m * inner) {
        return ref('indexAdd')(x, index, src, attrs);
      }
      const o = out32(x.shape, false);
      o.data.set(x.data);
      if (m > 0 && inner > 0) addon.indexAdd(o.data, index.data as Int32Array, src.data, outer, n, inner, m);
      return o;
    },
    indexAddParts: (x, index, parts, attrs) => {
      const { outer, n, inner } = around(x.shape, attrs.axis);
      const m = index.data.length;
      const sizes = indexParts('indexAddParts', x, parts, attrs.axis, m); // the reference's errors
      if (!isF32(x) || !parts.every(isF32) || !indexOk(index, n)) return ref('indexAddParts')(x, index, parts, attrs);
      const o = out32(x.shape, false);
      o.data.set(x.data);
      const idx = index.data as Int32Array;
      let j0 = 0;
      parts.forEach((p, i) => {
        // one part after the other: each row's sums in index order, as over the joined parts
        if (sizes[i] > 0 && inner > 0)
          addon.indexAdd(o.data, idx.subarray(j0, j0 + sizes[i]), f32(p), outer, n, inner, sizes[i]);
        j0 += sizes[i];
      });
      return o;
    },
  };
}
