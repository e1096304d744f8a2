/**
 * Neural-network ops with autograd: softmax / logSoftmax, crossEntropy, rmsNorm, rope, dropout, topk, and causal
 * scaled-dot-product attention. The fused ones call a forward and a backward kernel so a fast backend can replace both.
 */
import type { AttentionLayout } from '../../backend/kernels.js';
import { runKernel } from '../../backend/registry.js';
import { type Generator, getDefaultGenerator } from '../random.js';
import { normAxis, sameShape, shapeStr } from '../shape.js';
import { Tensor, record } from '../tensor.js';
import { mul } from './elementwise.js';
import { wrap, zerosOf } from './util.js';

/** Softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis(axis, x.ndim, 'softmax');
  const out = wrap(runKernel('softmax', x, { axis: a }));
  return record(out, 'softmax', [x], (g) => [wrap(runKernel('softmaxBackward', out, g, { axis: a }))]);
}

/** log(softmax(x)) along `axis` (default last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis(axis, x.ndim, 'logSoftmax');
  const out = wrap(runKernel('logSoftmax', x, { axis: a }));
  return record(out, 'logSoftmax', [x], (g) => [wrap(runKernel('logSoftmaxBackward', out, g, { axis: a }))]);
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (no loss, no gradient, not counted in the mean). Default -100. */
  ignoreIndex?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (per-target losses, 0 where ignored). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Cross-entropy between logits (..., C) and int32 class targets (...). With 'mean' and every target ignored the loss
 * is 0 (PyTorch gives NaN); the gradient is then 0 too.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  if (targets.dtype !== 'int32') throw new TypeError(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  if (logits.ndim < 1 || !sameShape(logits.shape.slice(0, -1), targets.shape)) {
    throw new RangeError(
      `crossEntropy: logits ${shapeStr(logits.shape)} do not match targets ${shapeStr(targets.shape)} (expected logits [...targets, C])`,
    );
  }
  const C = logits.shape[logits.ndim - 1];
  const N = targets.size;
  const flat = new Tensor(logits.data, [N, C], logits.dtype);
  const flatT = new Tensor(targets.data, [N], 'int32');
  const { loss, lse } = runKernel('crossEntropy', flat, flatT, { ignoreIndex });
  let count = 0;
  for (let i = 0; i < N; i++) if (targets.data[i] !== ignoreIndex) count++;
  const rows = loss.data;
  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(rows, targets.shape, logits.dtype);
  } else {
    let s = 0;
    for (let i = 0; i < N; i++) s += rows[i];
    const v = reduction === 'mean' ? (count > 0 ? s / count : 0) : s;
    out = zerosOf([], logits.dtype);
    out.data[0] = v;
  }
  return record(out, 'crossEntropy', [logits], (g) => {
    // dloss per row: g itself ('none'), or the scalar g spread as g (sum) or g / count (mean).
    let dloss: Tensor;
    if (reduction === 'none') dloss = new Tensor(g.data, [N], g.dtype);
    else {
      dloss = zerosOf([N], g.dtype);
      dloss.data.fill(reduction === 'mean' ? (count > 0 ? g.data[0] / count : 0) : g.data[0]);
    }
    const d = runKernel('crossEntropyBackward', flat, flatT, lse, dloss, { ignoreIndex });
    return [new Tensor(d.data, logits.shape, logits.dtype)];
  });
}

/** RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * weight (weight optional). */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  const { y, rstd } = runKernel('rmsNorm', x, weight, { eps });
  const inputs = weight ? [x, weight] : [x];
  return record(wrap(y), 'rmsNorm', inputs, (g) => {
    const { dx, dweight } = runKernel('rmsNormBackward', x, weight, rstd, g);
    return weight ? [wrap(dx), dweight && wrap(dweight)] : [wrap(dx)];
  });
}

export interface RopeOptions {
  /** Pairs (2i, 2i+1) as in DeepSeek-V3's reference code (true), or (i, i + D/2) as in Llama/HF (false). */
  interleaved: boolean;
  /**
   * The first `pass` features of the last dim go through unrotated and D is the rest (default 0): MLA's query heads,
   * [no-RoPE part, RoPE part], in one op instead of a split, a rope and a concat (the same numbers).
   */
  pass?: number;
}

/**
 * Rotary position embedding over the last dim D of x. `cos` and `sin` hold one angle per pair (last dim D/2) and
 * broadcast over x's leading dims: e.g. x (B, T, H, D) with cos (T, 1, D/2), or x (B, H, T, D) with cos (T, D/2).
 * cos and sin are constants (no gradient).
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor, opts: RopeOptions): Tensor {
  const { interleaved, pass = 0 } = opts;
  const out = wrap(runKernel('rope', x, cos, sin, { interleaved, inverse: false, pass }));
  return record(out, 'rope', [x], (g) => [wrap(runKernel('rope', g, cos, sin, { interleaved, inverse: true, pass }))]);
}

export interface DropoutOptions {
  /** Only active when training (default true). */
  training?: boolean;
  generator?: Generator;
}

/** Zeroes each element with probability p and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (opts.training === false || p === 0) return x;
  const u = (opts.generator ?? getDefaultGenerator()).uniform(x.size, 'float64');
  const m = zerosOf(x.shape, x.dtype === 'float64' ? 'float64' : 'float32');
  const keep = p === 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < u.length; i++) m.data[i] = u[i] >= p ? keep : 0;
  return mul(x, m);
}

/** The k largest (or smallest) entries along `axis` (default last), sorted, with their int32 indices. */
export function topk(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  const a = normAxis(axis, x.ndim, 'topk');
  const r = runKernel('topk', x, { k, axis: a, largest });
  const indices = wrap(r.indices);
  const xs = x.shape; // backward closures capture shapes, not the input (../tensor.ts header)
  const values = record(wrap(r.values), 'topk', [x], (g) => [
    wrap(runKernel('scatterAdd', zerosOf(xs, g.dtype), indices, g, { axis: a })),
  ]);
  return { values, indices };
}

export interface AttentionOptions {
  /** Causal mask aligned to the end of the keys (default true). */
  causal?: boolean;
  /** Score scale; default 1/sqrt(Dk). */
  scale?: number;
  /**
   * int32 (B, Tq): the first key each query may see (default 0). Packed samples pass each token's sample start, so
   * attention never crosses from one sample into another.
   */
  keyStart?: Tensor | null;
  /**
   * 'bhtd' (default): q (B, H, Tq, Dk) and so on, out (B, H, Tq, Dv). 'bthd': q (B, Tq, H, Dk), k (B, Tk, Hk, Dk),
   * v (B, Tk, Hk, Dv), out (B, Tq, H, Dv): a projection's output reshaped, read and written in place without the
   * transposes (copies) around the kernel; the same numbers.
   */
  layout?: AttentionLayout;
}

/**
 * Scaled dot-product attention: softmax(q k^T * scale) v, with q (B, H, Tq, Dk), k (B, Hk, Tk, Dk), v (B, Hk, Tk, Dv)
 * (or each with its head and token dims swapped: `layout: 'bthd'`). Dk may differ from Dv (MLA: 192 vs 128); H may be
 * a multiple of Hk (grouped-query attention).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const causal = opts.causal ?? true;
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]);
  const attrs = { causal, scale, keyStart: opts.keyStart ?? null, layout: opts.layout ?? 'bhtd' };
  const { out, lse } = runKernel('attention', q, k, v, attrs);
  const o = wrap(out);
  return record(o, 'attention', [q, k, v], (g) => {
    const { dq, dk, dv } = runKernel('attentionBackward', q, k, v, o, lse, g, attrs);
    return [wrap(dq), wrap(dk), wrap(dv)];
  });
}

/**
 * Multi-head Latent Attention's naive (training) attention from its projections, without building keys and values:
 * q (B, Tq, H, nope + R), kv (B, Tk, H, nope + Dv) = `wkv_b`'s output (per head a key's first part, then the value)
 * and kPe (B, Tk, R), the decoupled RoPE key that every head shares. The numbers (and gradients) of
 * `scaledDotProductAttention(q, concat([kv[..., :nope], expand(kPe)]), kv[..., nope:], { layout: 'bthd' })`, bit for
 * bit, with the kernel reading keys and values where they are; kPe's gradient sums the heads' as `expand`'s does.
 */
export function mlaAttention(
  q: Tensor,
  kv: Tensor,
  kPe: Tensor,
  opts: Omit<AttentionOptions, 'layout'> & { nope: number },
): Tensor {
  const attrs = {
    causal: opts.causal ?? true,
    scale: opts.scale ?? 1 / Math.sqrt(q.shape[q.ndim - 1]),
    keyStart: opts.keyStart ?? null,
    nope: opts.nope,
  };
  const { out, lse } = runKernel('mlaAttention', q, kv, kPe, attrs);
  const o = wrap(out);
  return record(o, 'mlaAttention', [q, kv, kPe], (g) => {
    const { dq, dkv, dkPe } = runKernel('mlaAttentionBackward', q, kv, kPe, o, lse, g, attrs);
    return [wrap(dq), wrap(dkv), wrap(runKernel('sum', dkPe, { axes: [2], keepdim: false }))];
  });
}
