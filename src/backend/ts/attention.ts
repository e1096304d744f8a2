/**
 * Reference scaled-dot-product attention, forward and backward, one query row at a time. Supports different q/k and v
 * head dims (MLA: 192 vs 128), grouped-query heads (H a multiple of Hk) and a causal mask aligned to the end of the keys
 * (query i of Tq sees keys j <= i + Tk - Tq), which is what decoding with a KV cache needs. An optional per-query first
 * key (`keyStart`) keeps packed samples apart: a query sees only keys of its own sample.
 */
import type {
  AttendRowsArgs,
  AttentionAttrs,
  AttentionLayout,
  Kernels,
  MlaAttentionAttrs,
  TensorData,
} from '../kernels.js';
import { shapeStr } from '../../tensor/shape.js';
import { floatOut, requireFloat } from './util.js';

/** Element strides of (batch, head, token) of a (B, Hn, T, D) tensor, or of a (B, T, Hn, D) one for 'bthd'. */
export interface AttnStrides {
  b: number;
  h: number;
  t: number;
}

function strides(layout: AttentionLayout, Hn: number, T: number, D: number): AttnStrides {
  return layout === 'bthd' ? { b: T * Hn * D, h: D, t: Hn * D } : { b: Hn * T * D, h: T * D, t: D };
}

/** The sizes of attention's operands, checked, in either layout (see `AttentionAttrs.layout`). */
export function attentionShape(q: TensorData, k: TensorData, v: TensorData, layout: AttentionLayout = 'bhtd') {
  const bthd = layout === 'bthd';
  const bad = (why: string) =>
    new RangeError(`attention: q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}: ${why}`);
  if (layout !== 'bhtd' && layout !== 'bthd') throw new RangeError(`attention: unknown layout ${String(layout)}`);
  if (q.shape.length !== 4 || k.shape.length !== 4 || v.shape.length !== 4) {
    throw bad(bthd ? 'expected (B, T, H, D) tensors' : 'expected (B, H, T, D) tensors');
  }
  const hd = (s: readonly number[]) => (bthd ? [s[0], s[2], s[1], s[3]] : s);
  const [B, H, Tq, Dk] = hd(q.shape);
  const [Bk, Hk, Tk, Dk2] = hd(k.shape);
  const [Bv, Hv, Tv, Dv] = hd(v.shape);
  if (B !== Bk || B !== Bv) throw bad('batch sizes differ');
  if (Hk !== Hv || H % Hk !== 0) throw bad(`heads ${H} must be a multiple of key/value heads ${Hk} (= ${Hv})`);
  if (Tk !== Tv) throw bad('k and v lengths differ');
  if (Dk !== Dk2) throw bad(`q and k head dims ${Dk} != ${Dk2}`);
  return {
    B,
    H,
    Tq,
    Dk,
    Hk,
    Tk,
    Dv,
    group: H / Hk,
    /** out's shape in this layout */
    outShape: bthd ? [B, Tq, H, Dv] : [B, H, Tq, Dv],
    qs: strides(layout, H, Tq, Dk),
    ks: strides(layout, Hk, Tk, Dk),
    vs: strides(layout, Hk, Tk, Dv),
    os: strides(layout, H, Tq, Dv),
  };
}

/** The first key each query sees: keyStart (B, Tq) when given (checked), else none (all zeros). */
export function keyStartOf(attrs: AttentionAttrs, B: number, Tq: number): Int32Array | null {
  const ks = attrs.keyStart;
  if (!ks) return null;
  if (ks.dtype !== 'int32' || ks.shape.length !== 2 || ks.shape[0] !== B || ks.shape[1] !== Tq) {
    throw new RangeError(`attention: keyStart must be int32 (${B}, ${Tq}), got ${ks.dtype} ${shapeStr(ks.shape)}`);
  }
  const d = ks.data as Int32Array;
  for (let i = 0; i < d.length; i++) {
    if (!(d[i] >= 0)) throw new RangeError(`attention: keyStart[${i}] = ${d[i]} must be >= 0`);
  }
  return d;
}

/** Checks attendRows' operands (sizes, offsets, lengths): the native addon checks the same before it reads. */
export function checkAttendRows(a: AttendRowsArgs, out: Float32Array): void {
  const { rows, H, Dk, Dv, kStride, vStride } = a;
  for (const [name, n] of Object.entries({ rows, H, Dk, Dv, kStride, vStride }))
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`attendRows: ${name} must be an integer >= 0, got ${n}`);
  if (a.q.length < rows * H * Dk)
    throw new RangeError(`attendRows: q holds ${a.q.length} floats, needs ${rows * H * Dk}`);
  if (out.length < rows * H * Dv)
    throw new RangeError(`attendRows: out holds ${out.length} floats, needs ${rows * H * Dv}`);
  if (a.kOff.length < rows || a.vOff.length < rows || a.len.length < rows)
    throw new RangeError(`attendRows: kOff, vOff and len need ${rows} entries each`);
  for (let r = 0; r < rows; r++) {
    const n = a.len[r];
    if (n < 0 || a.kOff[r] < 0 || a.vOff[r] < 0)
      throw new RangeError(`attendRows: row ${r}: negative length or offset`);
    if (n > 0 && a.kOff[r] + (n - 1) * kStride + Dk > a.k.length)
      throw new RangeError(`attendRows: row ${r}: keys past the end of k`);
    if (n > 0 && a.vOff[r] + (n - 1) * vStride + Dv > a.v.length)
      throw new RangeError(`attendRows: row ${r}: values past the end of v`);
  }
}

/** The sizes of `mlaAttention`'s operands, checked (one line naming them). */
export function mlaShape(q: TensorData, kv: TensorData, kPe: TensorData, nope: number) {
  const bad = (why: string) =>
    new RangeError(
      `mlaAttention: q ${shapeStr(q.shape)}, kv ${shapeStr(kv.shape)}, kPe ${shapeStr(kPe.shape)}, nope ${nope}: ${why}`,
    );
  if (q.shape.length !== 4 || kv.shape.length !== 4 || kPe.shape.length !== 3)
    throw bad('expected q (B, Tq, H, nope + R), kv (B, Tk, H, nope + Dv), kPe (B, Tk, R)');
  const [B, Tq, H, Dq] = q.shape;
  const [Bk, Tk, Hk, Dkv] = kv.shape;
  const R = Dq - nope;
  if (!Number.isInteger(nope) || nope < 1 || R < 1 || Dkv <= nope) throw bad('nope must leave R >= 1 and Dv >= 1');
  if (Bk !== B || Hk !== H || kPe.shape[0] !== B || kPe.shape[1] !== Tk || kPe.shape[2] !== R)
    throw bad('batch, heads, keys or R do not match');
  if (kv.dtype !== q.dtype || kPe.dtype !== q.dtype) throw bad('dtypes differ');
  return { B, Tq, H, Tk, R, Dv: Dkv - nope };
}

/** MLA's keys [kv[..., :nope] ; kPe] (B, Tk, H, nope + R) and values kv[..., nope:] (B, Tk, H, Dv), built. */
function mlaKeysValues(kv: TensorData, kPe: TensorData, nope: number, R: number, Dv: number) {
  const [B, Tk, H] = kv.shape;
  const k = floatOut(kv, [B, Tk, H, nope + R]);
  const v = floatOut(kv, [B, Tk, H, Dv]);
  for (let bt = 0; bt < B * Tk; bt++) {
    for (let h = 0; h < H; h++) {
      const src = (bt * H + h) * (nope + Dv);
      const kd = (bt * H + h) * (nope + R);
      for (let d = 0; d < nope; d++) k.data[kd + d] = kv.data[src + d];
      for (let d = 0; d < R; d++) k.data[kd + nope + d] = kPe.data[bt * R + d];
      for (let d = 0; d < Dv; d++) v.data[(bt * H + h) * Dv + d] = kv.data[src + nope + d];
    }
  }
  return { k, v };
}

export const attentionKernels: Partial<Kernels> = {
  attendRows: (a, out) => {
    checkAttendRows(a, out);
    const { rows, H, Dk, Dv, kStride, vStride, scale, q, k, v } = a;
    for (let r = 0; r < rows; r++) {
      const len = a.len[r];
      const p = new Float64Array(len);
      for (let h = 0; h < H; h++) {
        const q0 = (r * H + h) * Dk;
        const o0 = (r * H + h) * Dv;
        if (len === 0) {
          out.fill(0, o0, o0 + Dv);
          continue;
        }
        let mx = -Infinity;
        for (let t = 0; t < len; t++) {
          const k0 = a.kOff[r] + t * kStride;
          let s = 0;
          for (let d = 0; d < Dk; d++) s += q[q0 + d] * k[k0 + d];
          p[t] = s * scale;
          if (p[t] > mx) mx = p[t];
        }
        let sum = 0;
        for (let t = 0; t < len; t++) {
          p[t] = Math.exp(p[t] - mx);
          sum += p[t];
        }
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let t = 0; t < len; t++) acc += p[t] * v[a.vOff[r] + t * vStride + d];
          out[o0 + d] = acc / sum;
        }
      }
    }
  },

  attention: (q, k, v, attrs) => {
    const { causal, scale } = attrs;
    requireFloat('attention', q, k, v);
    const { B, H, Tq, Dk, Tk, Dv, group, outShape, qs, ks: kst, vs, os } = attentionShape(q, k, v, attrs.layout);
    const ks = keyStartOf(attrs, B, Tq);
    const out = floatOut(q, outShape);
    const lse = floatOut(q, [B, H, Tq]);
    const s = new Float64Array(Tk);
    const acc = new Float64Array(Dv);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / group);
        const kBase = b * kst.b + kh * kst.h;
        const vBase = b * vs.b + kh * vs.h;
        for (let i = 0; i < Tq; i++) {
          const qo = b * qs.b + h * qs.h + i * qs.t;
          const last = causal ? Math.min(Tk - 1, i + Tk - Tq) : Tk - 1;
          const first = ks ? ks[b * Tq + i] : 0;
          const row = (b * H + h) * Tq + i;
          if (last < first) {
            lse.data[row] = -Infinity;
            continue;
          }
          let m = -Infinity;
          for (let j = first; j <= last; j++) {
            const ko = kBase + j * kst.t;
            let dot = 0;
            for (let d = 0; d < Dk; d++) dot += q.data[qo + d] * k.data[ko + d];
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
          }
          let sum = 0;
          acc.fill(0);
          for (let j = first; j <= last; j++) {
            const p = Math.exp(s[j] - m);
            sum += p;
            const vo = vBase + j * vs.t;
            for (let d = 0; d < Dv; d++) acc[d] += p * v.data[vo + d];
          }
          const oo = b * os.b + h * os.h + i * os.t;
          for (let d = 0; d < Dv; d++) out.data[oo + d] = acc[d] / sum;
          lse.data[row] = m + Math.log(sum);
        }
      }
    }
    return { out, lse };
  },

  attentionBackward: (q, k, v, out, lse, dout, attrs) => {
    const { causal, scale } = attrs;
    const { B, H, Tq, Dk, Tk, Dv, group, qs, ks: kst, vs, os } = attentionShape(q, k, v, attrs.layout);
    const ks = keyStartOf(attrs, B, Tq);
    const dq = floatOut(q, q.shape);
    const dk = new Float64Array(k.data.length);
    const dv = new Float64Array(v.data.length);
    const dqRow = new Float64Array(Dk);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / group);
        const kBase = b * kst.b + kh * kst.h;
        const vBase = b * vs.b + kh * vs.h;
        for (let i = 0; i < Tq; i++) {
          const row = (b * H + h) * Tq + i;
          const last = causal ? Math.min(Tk - 1, i + Tk - Tq) : Tk - 1;
          const first = ks ? ks[b * Tq + i] : 0;
          if (last < first) continue;
          const qo = b * qs.b + h * qs.h + i * qs.t;
          const oo = b * os.b + h * os.h + i * os.t;
          // D = dout . out  (= sum_j p_j * dP_j)
          let Drow = 0;
          for (let d = 0; d < Dv; d++) Drow += dout.data[oo + d] * out.data[oo + d];
          const l = lse.data[row];
          dqRow.fill(0);
          for (let j = first; j <= last; j++) {
            const ko = kBase + j * kst.t;
            const vo = vBase + j * vs.t;
            let dot = 0;
            for (let d = 0; d < Dk; d++) dot += q.data[qo + d] * k.data[ko + d];
            const p = Math.exp(dot * scale - l);
            let dp = 0;
            for (let d = 0; d < Dv; d++) {
              dp += dout.data[oo + d] * v.data[vo + d];
              dv[vo + d] += p * dout.data[oo + d];
            }
            const ds = p * (dp - Drow) * scale;
            for (let d = 0; d < Dk; d++) {
              dqRow[d] += ds * k.data[ko + d];
              dk[ko + d] += ds * q.data[qo + d];
            }
          }
          for (let d = 0; d < Dk; d++) dq.data[qo + d] = dqRow[d];
        }
      }
    }
    const dkT = floatOut(k, k.shape);
    dkT.data.set(dk);
    const dvT = floatOut(v, v.shape);
    dvT.data.set(dv);
    return { dq, dk: dkT, dv: dvT };
  },

  mlaAttention: (q, kv, kPe, attrs: MlaAttentionAttrs) => {
    requireFloat('mlaAttention', q, kv, kPe);
    const { R, Dv } = mlaShape(q, kv, kPe, attrs.nope);
    const { k, v } = mlaKeysValues(kv, kPe, attrs.nope, R, Dv);
    return attentionKernels.attention!(q, k, v, { ...attrs, layout: 'bthd' });
  },

  mlaAttentionBackward: (q, kv, kPe, out, lse, dout, attrs: MlaAttentionAttrs) => {
    requireFloat('mlaAttentionBackward', q, kv, kPe);
    const { nope } = attrs;
    const { B, H, Tk, R, Dv } = mlaShape(q, kv, kPe, nope);
    const { k, v } = mlaKeysValues(kv, kPe, nope, R, Dv);
    const { dq, dk, dv } = attentionKernels.attentionBackward!(q, k, v, out, lse, dout, { ...attrs, layout: 'bthd' });
    const dkv = floatOut(kv, kv.shape);
    const dkPe = floatOut(kv, [B, Tk, H, R]);
    for (let i = 0; i < B * Tk * H; i++) {
      for (let d = 0; d < nope; d++) dkv.data[i * (nope + Dv) + d] = dk.data[i * (nope + R) + d];
      for (let d = 0; d < Dv; d++) dkv.data[i * (nope + Dv) + nope + d] = dv.data[i * Dv + d];
      for (let d = 0; d < R; d++) dkPe.data[i * R + d] = dk.data[i * (nope + R) + nope + d];
    }
    return { dq, dkv, dkPe };
  },
};
