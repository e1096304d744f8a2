/**
 * The flat-buffer machinery of the fast decoders: the inference forward written as plain loops over Float32Array
 * buffers, in the style of llm.c — no tensors, no autograd records, no allocation per op, caches pre-allocated and
 * grown by doubling. `FastDecoder` drives the shared parts (token embedding, pre-norm residual blocks, final norm and
 * head, the caches); each family supplies its attention and feed-forward (./deepseek_v3_decode.ts, ./dense_decode.ts).
 * They read a model's live parameters (no copy) and are tested against the model's own `forward` with a cache (same
 * logits to float32 rounding, same greedy tokens).
 *
 * With a faster backend active (native SIMD), matrix products, attention and the SwiGLU gate run on its kernels
 * (looked up with `acceleratedKernel`, as the model's own forward uses them); otherwise loops that sum in the reference kernels' order. Dot products accumulate in double,
 * as the reference kernels do.
 *
 * Not here: sampling and the decoding loop (src/infer/generate.ts).
 */
import type { Linear, RMSNorm } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { acceleratedKernel, runKernel } from '../backend/registry.js';
import type { Kernels } from '../backend/kernels.js';
import type { BatchDecoder, DecodeStep, DecodeStepOptions } from './causal_lm.js';
import { ropeCosSinAt, type RopeTables } from './rope.js';

/** The parts of a Linear layer the loops read. */
export type Lin = Pick<Linear, 'weight' | 'bias' | 'outFeatures' | 'inFeatures'>;

/** Weights at least this large (O * I) go to the active backend's matmul when it is not the reference ('ts'). */
const BACKEND_MATMUL_MIN = 1024;

/**
 * out (N, O) = x (N, I) W^T + b, for W (O, I) row-major. A bfloat16 W (inference-only weights) runs the
 * `matmulBf16` kernel of the active backend (the reference sums in the same order as the loops below). With a faster
 * backend active (native SIMD), float32 layers of at
 * least BACKEND_MATMUL_MIN weights run on its `linearInto` kernel, matmul's numbers written straight into `out`
 * (chosen by weight size, never by N, so a row's result does not depend on the batch it is in). Otherwise four rows
 * share each weight load; every output is still one left-to-right sum over i, as in the reference matmul, so results
 * are identical to it.
 */
export function linearRows(out: Float32Array, x: Float32Array, N: number, l: Lin): void {
  const O = l.outFeatures;
  const I = l.inFeatures;
  const into = O * I >= BACKEND_MATMUL_MIN ? acceleratedKernel('linearInto') : undefined;
  const bf16 = l.weight.dtype === 'bfloat16';
  if (bf16 || (into && l.weight.dtype === 'float32')) {
    const xs = { data: x.subarray(0, N * I), shape: [N, I], dtype: 'float32' as const };
    let y: Float32Array;
    if (bf16) y = runKernel('matmulBf16', xs, l.weight).data as Float32Array;
    else if (out.buffer !== x.buffer) {
      // straight into the caller's buffer: no output array, no copy (most of a small product's cost at batch 1)
      into!(xs, l.weight, out);
      if (l.bias) {
        const b = l.bias.data;
        for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) out[n * O + o] += b[o];
      }
      return;
    } else {
      y = new Float32Array(N * O);
      into!(xs, l.weight, y);
    }
    if (l.bias) {
      const b = l.bias.data;
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) out[n * O + o] = y[n * O + o] + b[o];
    } else out.set(y.subarray(0, N * O));
    return;
  }
  const W = l.weight.data as Float32Array;
  const bias = l.bias ? (l.bias.data as Float32Array) : null;
  let n = 0;
  for (; n + 3 < N; n += 4) {
    const x0 = n * I;
    const x1 = x0 + I;
    const x2 = x1 + I;
    const x3 = x2 + I;
    for (let o = 0; o < O; o++) {
      const wo = o * I;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < I; i++) {
        const w = W[wo + i];
        a0 += x[x0 + i] * w;
        a1 += x[x1 + i] * w;
        a2 += x[x2 + i] * w;
        a3 += x[x3 + i] * w;
      }
      const b0 = bias ? bias[o] : 0;
      out[n * O + o] = a0 + b0;
      out[(n + 1) * O + o] = a1 + b0;
      out[(n + 2) * O + o] = a2 + b0;
      out[(n + 3) * O + o] = a3 + b0;
    }
  }
  for (; n < N; n++) {
    const xo = n * I;
    for (let o = 0; o < O; o++) {
      const wo = o * I;
      let acc = 0;
      for (let i = 0; i < I; i++) acc += x[xo + i] * W[wo + i];
      out[n * O + o] = acc + (bias ? bias[o] : 0);
    }
  }
}

/**
 * Batched product C (batch, M, N) = A (batch, M, K) B (batch, K, N), or A B^T with B (batch, N, K) when transB: the
 * active backend's matmul when it is not the reference, else loops that sum over K in order as the reference does.
 */
export function bmm(
  a: Float32Array,
  b: Float32Array,
  batch: number,
  M: number,
  K: number,
  N: number,
  transB: boolean,
): Float32Array {
  const mm = acceleratedKernel('matmul');
  if (mm) {
    const A = { data: a.subarray(0, batch * M * K), shape: [batch, M, K], dtype: 'float32' as const };
    const B = {
      data: b.subarray(0, batch * K * N),
      shape: transB ? [batch, N, K] : [batch, K, N],
      dtype: 'float32' as const,
    };
    return mm(A, B, { transA: false, transB }).data as Float32Array;
  }
  const c = new Float32Array(batch * M * N);
  const row = new Float64Array(N);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < M; i++) {
      const ai = (z * M + i) * K;
      if (transB) {
        for (let j = 0; j < N; j++) {
          const bj = (z * N + j) * K;
          let acc = 0;
          for (let p = 0; p < K; p++) acc += a[ai + p] * b[bj + p];
          c[(z * M + i) * N + j] = acc;
        }
      } else {
        row.fill(0);
        for (let p = 0; p < K; p++) {
          const ap = a[ai + p];
          const bp = (z * K + p) * N;
          for (let j = 0; j < N; j++) row[j] += ap * b[bp + j];
        }
        for (let j = 0; j < N; j++) c[(z * M + i) * N + j] = row[j];
      }
    }
  }
  return c;
}

/** Copies blocks of `width` floats from layout (P, Q, width) to (Q, P, width). */
export function swapBlocks(
  src: Float32Array,
  dst: Float32Array,
  P: number,
  Q: number,
  width: number,
  srcStride = width,
  srcOff = 0,
): void {
  for (let p = 0; p < P; p++) {
    for (let q = 0; q < Q; q++) copyFloats(dst, (q * P + p) * width, src, (p * Q + q) * srcStride + srcOff, width);
  }
}

/**
 * dst[to : to + n] = src[from : from + n]: an element loop for short runs (a subarray and a set cost more than
 * copying a few dozen floats one by one), `set` for long ones.
 */
export function copyFloats(dst: Float32Array, to: number, src: Float32Array, from: number, n: number): void {
  if (n > 64) dst.set(src.subarray(from, from + n), to);
  else for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}

/** RMSNorm of N rows of width D (row stride `stride`, starting at `off`) into out (N, D). */
export function rmsRows(
  out: Float32Array,
  x: Float32Array,
  N: number,
  D: number,
  norm: RMSNorm,
  stride = D,
  off = 0,
): void {
  const eps = norm.eps;
  runKernel('rmsRows', x, norm.weight.data as Float32Array, out, { rows: N, dim: D, stride, offset: off, eps });
}

/** Rotates x[off, off + D) in place by the angles of cos/sin row `c` (D/2 entries each). */
export function ropeAt(
  x: Float32Array,
  off: number,
  D: number,
  cos: Float32Array,
  sin: Float32Array,
  c: number,
  interleaved: boolean,
): void {
  const half = D / 2;
  for (let i = 0; i < half; i++) {
    const ia = interleaved ? off + 2 * i : off + i;
    const ib = interleaved ? ia + 1 : ia + half;
    const a = x[ia];
    const b = x[ib];
    const co = cos[c * half + i];
    const si = sin[c * half + i];
    x[ia] = a * co - b * si;
    x[ib] = a * si + b * co;
  }
}

/** silu(a) * b elementwise into a. */
export function swigluInPlace(a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
}

/** Scratch buffers by name that grow to the largest request (float32, or float64 for scores and accumulators). */
export class Pool {
  private readonly bufs = new Map<string, Float32Array | Float64Array>();
  private take<A extends Float32Array | Float64Array>(name: string, n: number, make: (n: number) => A): A {
    let b = this.bufs.get(name) as A | undefined;
    if (!b || b.length < n) {
      b = make(Math.max(n, 2 * (b?.length ?? 0)));
      this.bufs.set(name, b);
    }
    return b;
  }
  get(name: string, n: number): Float32Array {
    return this.take(name, n, (k) => new Float32Array(k));
  }
  get64(name: string, n: number): Float64Array {
    return this.take(`${name}:f64`, n, (k) => new Float64Array(k));
  }
}

/**
 * A growable cache of `dim` floats per token and head for `B` rows, laid out (B, heads, cap, dim): the positions of
 * one (row, head) are contiguous, so attention reads them in order and a kernel reads them in place (one head) or with
 * one copy. Rows are added at the end (continuous batching) into room that grows by doubling.
 */
export class FlatCache {
  data: Float32Array;
  cap: number;
  constructor(
    public B: number,
    readonly heads: number,
    readonly dim: number,
    cap: number,
  ) {
    this.cap = cap;
    this.data = new Float32Array(B * heads * cap * dim);
  }
  /** Makes room for `need` positions. */
  reserve(need: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, 2 * this.cap);
    const next = new Float32Array(this.B * this.heads * cap * this.dim);
    const old = this.cap * this.dim;
    for (let r = 0; r < this.B * this.heads; r++)
      next.set(this.data.subarray(r * old, (r + 1) * old), r * cap * this.dim);
    this.data = next;
    this.cap = cap;
  }
  /** Offset of (row b, head h, position t). */
  at(b: number, h: number, t: number): number {
    return ((b * this.heads + h) * this.cap + t) * this.dim;
  }
  /** The new rows are old rows `rows` (any order, repeats allowed); ascending selections move in place. */
  select(rows: readonly number[]): void {
    const stride = this.heads * this.cap * this.dim;
    if (rows.every((r, j) => j === 0 || r > rows[j - 1])) {
      rows.forEach((r, j) => {
        if (r !== j) this.data.copyWithin(j * stride, r * stride, (r + 1) * stride);
      });
    } else {
      const next = new Float32Array(rows.length * stride);
      rows.forEach((r, j) => next.set(this.data.subarray(r * stride, (r + 1) * stride), j * stride));
      this.data = next;
    }
    this.B = rows.length;
  }
  /** Appends `n` rows (their contents are never read before they are written). */
  addRows(n: number): void {
    const stride = this.heads * this.cap * this.dim;
    const need = (this.B + n) * stride;
    if (need > this.data.length) {
      const next = new Float32Array(Math.max(need, 2 * this.data.length));
      next.set(this.data.subarray(0, this.B * stride));
      this.data = next;
    }
    this.B += n;
  }
}

/**
 * Where the keys and values of a cached attention live. Without `v`, the values are the first `vDim` floats of each key
 * (MLA: a key is [latent ; k_pe] and the value is the latent), read in place from the key cache.
 */
export type KV = { k: FlatCache; v: FlatCache } | { k: FlatCache; v: null; vDim: number };

/** The cache, offset and floats per position of the values of (row b, head h) from position 0 on. */
function valuesOf(kv: KV, b: number, h: number): { cache: FlatCache; off: number; stride: number; dim: number } {
  if (kv.v) return { cache: kv.v, off: kv.v.at(b, h, 0), stride: kv.v.dim, dim: kv.v.dim };
  return { cache: kv.k, off: kv.k.at(b, h, 0), stride: kv.k.dim, dim: kv.vDim };
}

/**
 * Where the tokens of one step are: row b feeds counts[b] tokens (rows after rows, starting at starts[b] of the N)
 * after the past[b] it holds, so its token t sits at position past[b] + t and sees keys 0..past[b]+t of its own row.
 */
export interface StepLayout {
  B: number;
  /** Tokens fed in all (the sum of counts). */
  N: number;
  starts: Int32Array;
  counts: Int32Array;
  past: Int32Array;
  /** Every row feeds the same count after the same past (plain batched generation): attention runs as one batch. */
  uniform: boolean;
}

/** The layout of a step that feeds `counts` tokens to rows holding `past`. */
export function stepLayout(counts: readonly number[], past: readonly number[]): StepLayout {
  const B = counts.length;
  const starts = new Int32Array(B);
  let N = 0;
  for (let b = 0; b < B; b++) {
    starts[b] = N;
    N += counts[b];
  }
  const uniform = counts.every((c) => c === counts[0]) && past.every((p) => p === past[0]);
  return { B, N, starts, counts: Int32Array.from(counts), past: Int32Array.from(past), uniform };
}

/**
 * Causal attention of queries q (N rows, H heads, dk) over each row's own cached keys, into out (N, H, dv): token t of
 * row b sees keys 0..past[b]+t. Query head h uses key/value head floor(h / (H / heads)). JS loops; scores and sums in
 * double as the reference.
 */
function attendLoops(q: Float32Array, out: Float32Array, H: number, kv: KV, scale: number, pool: Pool, s: StepLayout) {
  const { k } = kv;
  const { heads, dim: dk } = k;
  const dv = kv.v ? kv.v.dim : kv.vDim;
  const group = H / heads;
  let most = 0;
  for (let b = 0; b < s.B; b++) most = Math.max(most, s.past[b] + s.counts[b]);
  const scores = pool.get64('scores', most);
  const acc = pool.get64('acc', dv);
  for (let b = 0; b < s.B; b++) {
    for (let t = 0; t < s.counts[b]; t++) {
      const row = s.starts[b] + t;
      const keys = s.past[b] + t + 1;
      for (let h = 0; h < H; h++) {
        const qo = (row * H + h) * dk;
        const kh = Math.floor(h / group);
        let mx = -Infinity;
        for (let j = 0; j < keys; j++) {
          const ko = k.at(b, kh, j);
          let dot = 0;
          for (let d = 0; d < dk; d++) dot += q[qo + d] * k.data[ko + d];
          scores[j] = dot * scale;
          if (scores[j] > mx) mx = scores[j];
        }
        let sum = 0;
        acc.fill(0, 0, dv);
        const vals = valuesOf(kv, b, kh);
        for (let j = 0; j < keys; j++) {
          const p = Math.exp(scores[j] - mx);
          sum += p;
          const vo = vals.off + j * vals.stride;
          for (let d = 0; d < dv; d++) acc[d] += p * vals.cache.data[vo + d];
        }
        const oo = (row * H + h) * dv;
        for (let d = 0; d < dv; d++) out[oo + d] = acc[d] / sum;
      }
    }
  }
}

/** A float32 tensor over the first (product of shape) elements of `data` (a view, no copy). */
function f32View(data: Float32Array, shape: number[]) {
  return {
    data: data.subarray(
      0,
      shape.reduce((x, y) => x * y, 1),
    ),
    shape,
    dtype: 'float32' as const,
  };
}

/** Copies B rows of T tokens each, token-major (token, H, d) from token `t0` of `src`, to head-major dst (B, H, T, d). */
function tokensToHeads(src: Float32Array, dst: Float32Array, t0: number, B: number, T: number, H: number, d: number) {
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const from = ((t0 + b * T + t) * H + h) * d;
        dst.set(src.subarray(from, from + d), ((b * H + h) * T + t) * d);
      }
}

/** The reverse of `tokensToHeads`: head-major src (B, H, T, d) to token-major dst from token `t0`. */
function headsToTokens(src: Float32Array, dst: Float32Array, t0: number, B: number, T: number, H: number, d: number) {
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++) {
        const from = ((b * H + h) * T + t) * d;
        dst.set(src.subarray(from, from + d), ((t0 + b * T + t) * H + h) * d);
      }
}

/**
 * `attendRows` for a cache of one key/value head (MLA's latent): every fed token of every row is one query over its
 * row's keys up to and including its own position, read in place; one kernel call per step. A query's numbers depend
 * only on its row's cache, so a row decodes the same whether it feeds one token or several (a speculative draft) and
 * whatever the other rows do.
 */
function attendEachQuery(
  kernel: Kernels['attendRows'],
  q: Float32Array,
  out: Float32Array,
  s: StepLayout,
  H: number,
  kv: KV,
  scale: number,
): void {
  const { k } = kv;
  const kOff = new Int32Array(s.N);
  const vOff = new Int32Array(s.N);
  const len = new Int32Array(s.N);
  let vals = valuesOf(kv, 0, 0);
  for (let b = 0; b < s.B; b++) {
    vals = valuesOf(kv, b, 0);
    for (let i = 0; i < s.counts[b]; i++) {
      const j = s.starts[b] + i;
      kOff[j] = k.at(b, 0, 0);
      vOff[j] = vals.off;
      len[j] = s.past[b] + i + 1;
    }
  }
  const Dk = k.dim;
  kernel(
    {
      q,
      k: k.data,
      v: vals.cache.data,
      kOff,
      vOff,
      len,
      rows: s.N,
      H,
      Dk,
      Dv: vals.dim,
      kStride: Dk,
      vStride: vals.stride,
      scale,
    },
    out,
  );
}

/**
 * The same attention on a backend kernel (native SIMD) for `B` rows from cache row `b0` that each feed T tokens after
 * `len` (their queries from row `q0` of q on): queries, keys and values are copied into the kernel's dense (B, heads,
 * T, d) layout (one block copy per row and head), then the output back.
 */
function attendKernel(
  kernel: Kernels['attention'],
  q: Float32Array,
  out: Float32Array,
  b0: number,
  B: number,
  T: number,
  H: number,
  len: number,
  kv: KV,
  scale: number,
  pool: Pool,
  q0: number,
): void {
  const { k } = kv;
  const { heads, dim: dk } = k;
  const dv = kv.v ? kv.v.dim : kv.vDim;
  const Tk = len + T;
  const Q = pool.get('att.q', B * H * T * dk);
  const K = pool.get('att.k', B * heads * Tk * dk);
  const Vv = pool.get('att.v', B * heads * Tk * dv);
  tokensToHeads(q, Q, q0, B, T, H, dk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      K.set(k.data.subarray(k.at(b0 + b, h, 0), k.at(b0 + b, h, Tk)), (b * heads + h) * Tk * dk);
      const vals = valuesOf(kv, b0 + b, h);
      if (vals.stride === dv) Vv.set(vals.cache.data.subarray(vals.off, vals.off + Tk * dv), (b * heads + h) * Tk * dv);
      else
        for (let t = 0; t < Tk; t++) {
          const o = vals.off + t * vals.stride;
          Vv.set(vals.cache.data.subarray(o, o + dv), ((b * heads + h) * Tk + t) * dv);
        }
    }
  }
  const o = kernel(f32View(Q, [B, H, T, dk]), f32View(K, [B, heads, Tk, dk]), f32View(Vv, [B, heads, Tk, dv]), {
    causal: true,
    scale,
  }).out.data as Float32Array;
  headsToTokens(o, out, q0, B, T, H, dv);
}

/** The SwiGLU MLP weights the loops read (w2(silu(w1 x) * w3 x)). */
export interface MlpWeights {
  w1: Lin;
  w2: Lin;
  w3: Lin;
}

/** SwiGLU MLP over N rows of x (N, D) into out (N, D). */
export function mlpRows(out: Float32Array, x: Float32Array, N: number, m: MlpWeights, pool: Pool): void {
  const inter = m.w1.outFeatures;
  const a = pool.get('mlp.a', N * inter);
  const b = pool.get('mlp.b', N * inter);
  linearRows(a, x, N, m.w1);
  linearRows(b, x, N, m.w3);
  const kernel = acceleratedKernel('swiglu');
  if (kernel) {
    const shape = [N * inter];
    const g = kernel(
      { data: a.subarray(0, N * inter), shape, dtype: 'float32' },
      { data: b.subarray(0, N * inter), shape, dtype: 'float32' },
    );
    linearRows(out, g.data as Float32Array, N, m.w2);
  } else {
    swigluInPlace(a, b, N * inter);
    linearRows(out, a, N, m.w2);
  }
}

/** What the shared driver reads of a model: embedding, final norm, head (null = tied), RoPE tables, sizes. */
export interface DecodableModel {
  readonly config: { hidden_size: number; vocab_size: number };
  readonly embed: { weight: Tensor };
  readonly norm: RMSNorm;
  readonly head: Linear | null;
  readonly ropeTables: RopeTables;
}

/** A pre-norm block's two norms (its attention and feed-forward are the family's). */
export interface NormPair {
  attn_norm: RMSNorm;
  ffn_norm: RMSNorm;
}

/**
 * Shared driver: token embedding, the pre-norm residual blocks, final norm and head, and the caches (a list of
 * FlatCaches whose widths the family gives); subclasses supply the attention and the feed-forward. Each row holds its
 * own number of tokens (`lengths()`); a step feeds every row one or more tokens (`feedRows`). When every row feeds the
 * same count after the same past, the arithmetic is exactly that of one batched call; otherwise attention runs row by
 * row on each row's own keys. Either way a row's numbers do not depend on the other rows.
 */
export abstract class FastDecoder implements BatchDecoder {
  readonly vocabSize: number;
  /** Tokens held per row. */
  protected lens: number[] = [];
  /** Whether rows were ever added (the first `feed` adds its B rows). */
  private started = false;
  protected caches: FlatCache[] = [];
  protected readonly pool = new Pool();
  constructor(
    protected readonly model: DecodableModel,
    private readonly blocks: readonly NormPair[],
    private readonly finalNorm: RMSNorm = model.norm,
  ) {
    this.vocabSize = model.config.vocab_size;
  }
  /** [heads, floats per head] of each cache (one list for all layers). */
  protected abstract cacheShapes(): [number, number][];
  /**
   * Attention of layer li over normed rows n (N, D) into out, appending this step's keys to the caches. cos/sin hold
   * one row of RoPE angles per token (N, rope/2), at the token's own position.
   */
  protected abstract attention(
    li: number,
    n: Float32Array,
    out: Float32Array,
    s: StepLayout,
    cos: Float32Array,
    sin: Float32Array,
  ): void;
  /** Feed-forward of layer li over normed rows n (N, D) into out (N, D). */
  protected abstract feedForward(li: number, n: Float32Array, out: Float32Array, N: number): void;
  /** A draft decoder over the model's MTP module, when the family has one. */
  abstract createDraftDecoder(): BatchDecoder | null;

  /** The first block's input rows x (N, D) for `ids`: the token embedding (a draft decoder mixes in `prevHidden`). */
  protected inputRows(x: Float32Array, ids: Int32Array, N: number, opts: DecodeStepOptions): void {
    if (opts.prevHidden) throw new RangeError('fast decoder: prevHidden is for a draft decoder');
    const D = this.model.config.hidden_size;
    const V = this.vocabSize;
    const w = this.model.embed.weight;
    for (let n = 0; n < N; n++) {
      const id = ids[n];
      if (!(id >= 0 && id < V)) throw new RangeError(`fast decoder: token id ${id} outside the vocabulary [0, ${V})`);
    }
    if (w.dtype === 'bfloat16') {
      const idt = { data: ids.subarray(0, N), shape: [N], dtype: 'int32' as const };
      x.set(runKernel('bf16Rows', w, idt).data as Float32Array);
      return;
    }
    const emb = w.data as Float32Array;
    for (let n = 0; n < N; n++) x.set(emb.subarray(ids[n] * D, (ids[n] + 1) * D), n * D);
  }

  lengths(): number[] {
    return [...this.lens];
  }

  addRows(n: number): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`fast decoder: cannot add ${n} rows`);
    if (this.caches.length === 0) this.caches = this.cacheShapes().map(([h, d]) => new FlatCache(0, h, d, 64));
    for (const c of this.caches) c.addRows(n);
    for (let i = 0; i < n; i++) this.lens.push(0);
    this.started = true;
  }

  feed(ids: Int32Array, B: number, T: number): Float32Array {
    if (!this.started) this.addRows(B);
    if (B !== this.lens.length)
      throw new RangeError(`fast decoder: fed ${B} rows, the cache holds ${this.lens.length}`);
    return this.feedRows(ids, new Array<number>(B).fill(T)).logits;
  }

  feedRows(ids: Int32Array, counts: readonly number[], opts: DecodeStepOptions = {}): DecodeStep {
    const B = this.lens.length;
    if (counts.length !== B) throw new RangeError(`fast decoder: ${counts.length} counts for ${B} rows`);
    for (const c of counts)
      if (!(Number.isInteger(c) && c >= 1))
        throw new RangeError(`fast decoder: a row must be fed >= 1 tokens, got ${c}`);
    const s = stepLayout(counts, this.lens);
    const { N } = s;
    if (ids.length !== N) throw new RangeError(`fast decoder: ${ids.length} ids for ${N} tokens`);
    const c = this.model.config;
    const D = c.hidden_size;
    const V = c.vocab_size;
    if (opts.prevHidden && opts.prevHidden.length < N * D)
      throw new RangeError(`fast decoder: prevHidden holds ${opts.prevHidden.length / D} rows for ${N} tokens`);
    let most = 0;
    for (let b = 0; b < B; b++) most = Math.max(most, s.past[b] + s.counts[b]);
    for (const cache of this.caches) cache.reserve(most);
    const x = this.pool.get('x', N * D);
    this.inputRows(x, ids, N, opts);
    const pos = new Int32Array(N);
    for (let b = 0; b < B; b++) for (let t = 0; t < s.counts[b]; t++) pos[s.starts[b] + t] = s.past[b] + t;
    const { cos, sin } = ropeCosSinAt(this.model.ropeTables, pos);
    const n = this.pool.get('n', N * D);
    const y = this.pool.get('y', N * D);
    this.blocks.forEach((blk, li) => {
      rmsRows(n, x, N, D, blk.attn_norm);
      this.attention(li, n, y, s, cos.data as Float32Array, sin.data as Float32Array);
      runKernel('addInto', x, y, N * D);
      rmsRows(n, x, N, D, blk.ffn_norm);
      this.feedForward(li, n, y, N);
      runKernel('addInto', x, y, N * D);
    });
    for (let b = 0; b < B; b++) this.lens[b] += s.counts[b];
    const hidden = opts.hidden ? x.slice(0, N * D) : null;
    // Final norm and head on every position, or on each row's last one only.
    const M = opts.allPositions ? N : B;
    const last = this.pool.get('last', M * D);
    if (opts.allPositions) rmsRows(last, x, N, D, this.finalNorm);
    else if (s.uniform) rmsRows(last, x, B, D, this.finalNorm, s.counts[0] * D, (s.counts[0] - 1) * D);
    else
      for (let b = 0; b < B; b++)
        rmsRows(last.subarray(b * D), x, 1, D, this.finalNorm, D, (s.starts[b] + s.counts[b] - 1) * D);
    const logits = new Float32Array(M * V);
    const head = this.model.head;
    if (head) linearRows(logits, last, M, head);
    else linearRows(logits, last, M, { weight: this.model.embed.weight, bias: null, outFeatures: V, inFeatures: D });
    return { logits, hidden };
  }

  /** Attention of q (N, H, dk) over the caches into out (N, H, dv): the active backend's kernel when it is not the reference. */
  protected attend(q: Float32Array, out: Float32Array, s: StepLayout, H: number, kv: KV, scale: number): void {
    const rows = kv.k.heads === 1 ? acceleratedKernel('attendRows') : undefined;
    // attendRows takes int32 offsets: a cache of 2^31 floats or more (8 GiB) takes the copying path, whose sums run
    // in another order, so there a row's numbers can change when the batch grows past that size
    if (rows && kv.k.data.length < 2 ** 31 && (kv.v?.data.length ?? 0) < 2 ** 31) {
      attendEachQuery(rows, q, out, s, H, kv, scale);
      return;
    }
    const kernel = acceleratedKernel('attention');
    if (!kernel) attendLoops(q, out, H, kv, scale, this.pool, s);
    else if (s.uniform) attendKernel(kernel, q, out, 0, s.B, s.counts[0], H, s.past[0], kv, scale, this.pool, 0);
    else
      for (let b = 0; b < s.B; b++)
        attendKernel(kernel, q, out, b, 1, s.counts[b], H, s.past[b], kv, scale, this.pool, s.starts[b]);
  }

  selectRows(rows: readonly number[]): void {
    const B = this.lens.length;
    for (const r of rows)
      if (!(Number.isInteger(r) && r >= 0 && r < B))
        throw new RangeError(`fast decoder: row ${r} is not in the cache (${B} rows)`);
    for (const c of this.caches) c.select(rows);
    this.lens = rows.map((r) => this.lens[r]);
  }

  truncate(row: number, length: number): void {
    const held = this.lens[row];
    if (held === undefined)
      throw new RangeError(`fast decoder: row ${row} is not in the cache (${this.lens.length} rows)`);
    if (!(Number.isInteger(length) && length >= 0 && length <= held))
      throw new RangeError(`fast decoder: row ${row} holds ${held} tokens, cannot keep ${length}`);
    this.lens[row] = length;
  }
}
