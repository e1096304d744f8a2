/**
 * The fast decoder: the DeepSeek-V3 and dense models' inference forward written as plain loops over flat Float32Array
 * buffers, in the style of llm.c — no tensors, no autograd records, no allocation per op, caches pre-allocated and
 * grown by doubling. It reads the live parameters of a model (no copy) and is the default runner of generate.ts;
 * the model's own forward (`engine: 'model'`) is the reference it is tested against (same logits to float32
 * rounding, same greedy tokens).
 *
 * DeepSeek-V3: MLA in its absorbed form over the latent cache (per token and layer kv_lora_rank normed latents plus
 * qk_rope_head_dim post-RoPE key values, exactly what MLACache holds); routing reuses the model's own Gate so the
 * selection rules (sigmoid scores, bias for selection only, group limits) cannot drift. Dense: grouped-query attention
 * over a K/V cache. MTP modules are not used when decoding.
 *
 * Dot products accumulate in double, as the reference kernels do.
 */
import type { CausalLM } from '../models/index.js';
import { DeepseekV3, MLP, MoE, type MLA } from '../models/deepseek_v3.js';
import type { DenseLM, GQAttention } from '../models/dense.js';
import { ropeCosSin } from '../models/rope.js';
import type { Linear, RMSNorm } from '../nn/layers.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import type { DecodeRunner } from './generate.js';

/** The parts of a Linear layer the loops read. */
type Lin = Pick<Linear, 'weight' | 'bias' | 'outFeatures' | 'inFeatures'>;

/**
 * out (N, O) = x (N, I) W^T + b, for W (O, I) row-major. Four rows share each weight load; every output is still one
 * left-to-right sum over i, as in the reference matmul, so results are identical to it.
 */
function linearRows(out: Float32Array, x: Float32Array, N: number, l: Lin): void {
  const W = l.weight.data as Float32Array;
  const bias = l.bias ? (l.bias.data as Float32Array) : null;
  const O = l.outFeatures;
  const I = l.inFeatures;
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

/** RMSNorm of N rows of width D (row stride `stride`, starting at `off`) into out (N, D). */
function rmsRows(out: Float32Array, x: Float32Array, N: number, D: number, norm: RMSNorm, stride = D, off = 0): void {
  const w = norm.weight.data;
  for (let n = 0; n < N; n++) {
    const base = off + n * stride;
    let ss = 0;
    for (let j = 0; j < D; j++) ss += x[base + j] * x[base + j];
    const rs = 1 / Math.sqrt(ss / D + norm.eps);
    for (let j = 0; j < D; j++) out[n * D + j] = x[base + j] * rs * w[j];
  }
}

/** Rotates x[off, off + D) in place by the angles of cos/sin row `c` (D/2 entries each). */
function ropeAt(x: Float32Array, off: number, D: number, cos: Float32Array, sin: Float32Array, c: number, interleaved: boolean): void {
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
function swigluInPlace(a: Float32Array, b: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) a[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
}

/** Scratch buffers by name that grow to the largest request (float32, or float64 for scores and accumulators). */
class Pool {
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

/** SwiGLU MLP over N rows of x (N, D) into out (N, D). */
function mlpRows(out: Float32Array, x: Float32Array, N: number, m: MLP, pool: Pool): void {
  const inter = m.w1.outFeatures;
  const a = pool.get('mlp.a', N * inter);
  const b = pool.get('mlp.b', N * inter);
  linearRows(a, x, N, m.w1);
  linearRows(b, x, N, m.w3);
  swigluInPlace(a, b, N * inter);
  linearRows(out, a, N, m.w2);
}

/** DeepSeekMoE over N rows: the model's Gate picks experts; tokens are grouped per expert as in MoE.forward. */
function moeRows(out: Float32Array, x: Float32Array, N: number, moe: MoE, pool: Pool): void {
  const D = moe.c.hidden_size;
  const K = moe.c.num_experts_per_tok;
  const E = moe.c.n_routed_experts;
  const { indices, weights } = noGrad(() => moe.gate.forward(new Tensor(x.subarray(0, N * D), [N, D])));
  const w = weights.data;
  out.fill(0, 0, N * D);
  const rows = pool.get('moe.in', N * D);
  const res = pool.get('moe.out', N * D);
  const tok = new Int32Array(N * K);
  for (let e = 0; e < E; e++) {
    let n = 0;
    for (let i = 0; i < N * K; i++) if (indices[i] === e) tok[n++] = i;
    if (n === 0) continue;
    for (let j = 0; j < n; j++) rows.set(x.subarray(Math.floor(tok[j] / K) * D, (Math.floor(tok[j] / K) + 1) * D), j * D);
    mlpRows(res, rows, n, moe.experts[e], pool);
    for (let j = 0; j < n; j++) {
      const t = Math.floor(tok[j] / K);
      const g = Math.fround(w[tok[j]]);
      for (let d = 0; d < D; d++) out[t * D + d] += Math.fround(res[j * D + d] * g);
    }
  }
  if (moe.shared_experts) {
    const sh = pool.get('moe.shared', N * D);
    mlpRows(sh, x, N, moe.shared_experts, pool);
    for (let i = 0; i < N * D; i++) out[i] += sh[i];
  }
}

/**
 * A growable per-layer cache of `width` floats per token for `B` rows: row r, position t at (r * cap + t) * width.
 */
class FlatCache {
  data: Float32Array;
  cap: number;
  constructor(
    public B: number,
    readonly width: number,
    cap: number,
  ) {
    this.cap = cap;
    this.data = new Float32Array(B * cap * width);
  }
  /** Makes room for `need` positions. */
  reserve(need: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, 2 * this.cap);
    const next = new Float32Array(this.B * cap * this.width);
    for (let r = 0; r < this.B; r++) next.set(this.data.subarray(r * this.cap * this.width, (r + 1) * this.cap * this.width), r * cap * this.width);
    this.data = next;
    this.cap = cap;
  }
  at(r: number, t: number): number {
    return (r * this.cap + t) * this.width;
  }
  /** Keeps rows `rows` (ascending) in order, in place. */
  keep(rows: readonly number[]): void {
    const stride = this.cap * this.width;
    rows.forEach((r, j) => {
      if (r !== j) this.data.copyWithin(j * stride, r * stride, (r + 1) * stride);
    });
    this.B = rows.length;
  }
}

/**
 * exp(scores[j] - max) weights over `keys` positions of row b of `cache`, applied to the `width` values at offset
 * `off` of each position, normalised, written to out[outOff...]. The softmax-weighted sum of attention.
 */
function attendValues(
  scores: Float64Array, keys: number, mx: number, cache: FlatCache, b: number, off: number, width: number,
  acc: Float64Array, out: Float32Array, outOff: number,
): void {
  let sum = 0;
  acc.fill(0, 0, width);
  for (let j = 0; j < keys; j++) {
    const p = Math.exp(scores[j] - mx);
    sum += p;
    const vo = cache.at(b, j) + off;
    for (let d = 0; d < width; d++) acc[d] += p * cache.data[vo + d];
  }
  for (let d = 0; d < width; d++) out[outOff + d] = acc[d] / sum;
}

/** A pre-norm block: its two norms and its FFN (the attention is the runner's). */
interface BlockLike {
  attn_norm: RMSNorm;
  ffn_norm: RMSNorm;
  ffn: MLP | MoE;
}

/**
 * Shared driver: token embedding, the pre-norm residual blocks, final norm and head, and the caches (a list of
 * FlatCaches whose widths the model family gives); subclasses supply the attention.
 */
abstract class FastRunner implements DecodeRunner {
  readonly vocabSize: number;
  protected len = 0;
  protected B = -1;
  protected caches: FlatCache[] = [];
  protected readonly pool = new Pool();
  constructor(
    protected readonly model: CausalLM,
    private readonly blocks: readonly BlockLike[],
  ) {
    this.vocabSize = model.config.vocab_size;
  }
  /** Floats per token of each cache (one list for all layers). */
  protected abstract cacheWidths(): number[];
  /** Attention of layer li over normed rows n (N = B*T, D) into out, appending this step's keys to the caches. */
  protected abstract attention(li: number, n: Float32Array, out: Float32Array, B: number, T: number, cos: Float32Array, sin: Float32Array): void;

  feed(ids: Int32Array, B: number, T: number): Float32Array {
    if (this.B < 0) {
      this.B = B;
      this.caches = this.cacheWidths().map((w) => new FlatCache(B, w, 64));
    }
    if (B !== this.B) throw new RangeError(`fast decoder: fed ${B} rows, the cache holds ${this.B}`);
    const c = this.model.config;
    const D = c.hidden_size;
    const V = c.vocab_size;
    const N = B * T;
    for (const cache of this.caches) cache.reserve(this.len + T);
    const emb = this.model.embed.weight.data as Float32Array;
    const x = this.pool.get('x', N * D);
    for (let n = 0; n < N; n++) {
      const id = ids[n];
      if (!(id >= 0 && id < V)) throw new RangeError(`fast decoder: token id ${id} outside the vocabulary [0, ${V})`);
      x.set(emb.subarray(id * D, (id + 1) * D), n * D);
    }
    const { cos, sin } = ropeCosSin(this.model.ropeTables, this.len, T);
    const n = this.pool.get('n', N * D);
    const y = this.pool.get('y', N * D);
    this.blocks.forEach((blk, li) => {
      rmsRows(n, x, N, D, blk.attn_norm);
      this.attention(li, n, y, B, T, cos.data as Float32Array, sin.data as Float32Array);
      for (let i = 0; i < N * D; i++) x[i] += y[i];
      rmsRows(n, x, N, D, blk.ffn_norm);
      if (blk.ffn instanceof MoE) moeRows(y, n, N, blk.ffn, this.pool);
      else mlpRows(y, n, N, blk.ffn, this.pool);
      for (let i = 0; i < N * D; i++) x[i] += y[i];
    });
    this.len += T;
    // Final norm and head on each row's last position only.
    const last = this.pool.get('last', B * D);
    rmsRows(last, x, B, D, this.model.norm, T * D, (T - 1) * D);
    const logits = new Float32Array(B * V);
    const head = this.model.head;
    if (head) linearRows(logits, last, B, head);
    else linearRows(logits, last, B, { weight: this.model.embed.weight, bias: null, outFeatures: V, inFeatures: D });
    return logits;
  }

  /** Calls f for every query position (b, t) and head h; the query at row b*T + t sees keys 0..len+t. */
  protected eachQuery(B: number, T: number, H: number, f: (b: number, row: number, keys: number, h: number) => void): void {
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) f(b, b * T + t, this.len + t + 1, h);
  }

  keepRows(rows: readonly number[]): void {
    for (let j = 1; j < rows.length; j++) if (!(rows[j] > rows[j - 1])) throw new RangeError('fast decoder: keepRows needs ascending rows');
    for (const c of this.caches) c.keep(rows);
    this.B = rows.length;
  }
}

/** DeepSeek-V3: absorbed MLA over the latent cache (one cache per layer), dense MLP or DeepSeekMoE. */
class FastDeepseek extends FastRunner {
  constructor(private readonly m: DeepseekV3) {
    super(m, m.layers);
  }
  protected cacheWidths(): number[] {
    return this.m.layers.map((l) => l.attn.kvRank + l.attn.rope);
  }

  /** Absorbed MLA: q~ = W_UK^T q_nope, scores over [c ; k_pe], values c, then W_UV and wo. */
  protected attention(li: number, n: Float32Array, out: Float32Array, B: number, T: number, cos: Float32Array, sin: Float32Array): void {
    const at: MLA = this.m.layers[li].attn;
    const cache = this.caches[li];
    const { H, nope, rope: R, vDim, kvRank } = at;
    const N = B * T;
    const qk = nope + R;
    const interleaved = this.m.config.rope_interleave;
    // Queries (N, H, qk).
    const q = this.pool.get('q', N * H * qk);
    if (at.wq) linearRows(q, n, N, at.wq);
    else {
      const qa = this.pool.get('qa', N * at.wq_a!.outFeatures);
      linearRows(qa, n, N, at.wq_a!);
      const qn = this.pool.get('qn', N * at.wq_a!.outFeatures);
      rmsRows(qn, qa, N, at.wq_a!.outFeatures, at.q_norm!);
      linearRows(q, qn, N, at.wq_b!);
    }
    // Latents: c = kv_norm(first kvRank), k_pe = rope(rest); appended to the cache at positions len..len+T-1.
    const kva = this.pool.get('kva', N * (kvRank + R));
    linearRows(kva, n, N, at.wkv_a);
    const W = kvRank + R;
    const cn = this.pool.get('cn', N * kvRank);
    rmsRows(cn, kva, N, kvRank, at.kv_norm, W, 0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = b * T + t;
        const o = cache.at(b, this.len + t);
        cache.data.set(cn.subarray(row * kvRank, (row + 1) * kvRank), o);
        cache.data.set(kva.subarray(row * W + kvRank, (row + 1) * W), o + kvRank);
        ropeAt(cache.data, o + kvRank, R, cos, sin, t, interleaved);
        for (let h = 0; h < H; h++) ropeAt(q, (row * H + h) * qk + nope, R, cos, sin, t, interleaved);
      }
    }
    // Per head: absorb W_UK into the query, attend in latent space, expand with W_UV.
    const wkvb = at.wkv_b.weight.data as Float32Array; // (H * (nope + vDim), kvRank)
    const qLat = this.pool.get('qlat', kvRank);
    const oLat = this.pool.get('olat', kvRank);
    const acc = this.pool.get64('acc', kvRank);
    const ctx = this.pool.get('ctx', N * H * vDim);
    const scores = this.pool.get64('scores', this.len + T);
    this.eachQuery(B, T, H, (b, row, keys, h) => {
      const qo = (row * H + h) * qk;
      const wh = h * (nope + vDim) * kvRank;
      for (let r = 0; r < kvRank; r++) {
        let s = 0;
        for (let d = 0; d < nope; d++) s += q[qo + d] * wkvb[wh + d * kvRank + r];
        qLat[r] = s;
      }
      let mx = -Infinity;
      for (let j = 0; j < keys; j++) {
        const ko = cache.at(b, j);
        let dot = 0;
        for (let r = 0; r < kvRank; r++) dot += qLat[r] * cache.data[ko + r];
        for (let d = 0; d < R; d++) dot += q[qo + nope + d] * cache.data[ko + kvRank + d];
        scores[j] = dot * at.softmaxScale;
        if (scores[j] > mx) mx = scores[j];
      }
      attendValues(scores, keys, mx, cache, b, 0, kvRank, acc, oLat, 0);
      const co = (row * H + h) * vDim;
      for (let d = 0; d < vDim; d++) {
        const wo = wh + (nope + d) * kvRank;
        let s = 0;
        for (let r = 0; r < kvRank; r++) s += oLat[r] * wkvb[wo + r];
        ctx[co + d] = s;
      }
    });
    linearRows(out, ctx, N, at.wo);
  }
}

/** Dense (Qwen2 / Llama): grouped-query attention over a K/V cache (caches 2l and 2l+1 of layer l), SwiGLU MLP. */
class FastDense extends FastRunner {
  constructor(private readonly m: DenseLM) {
    super(m, m.layers);
  }
  protected cacheWidths(): number[] {
    const w = this.m.config.num_key_value_heads * this.m.config.head_dim;
    return this.m.layers.flatMap(() => [w, w]);
  }

  protected attention(li: number, n: Float32Array, out: Float32Array, B: number, T: number, cos: Float32Array, sin: Float32Array): void {
    const at: GQAttention = this.m.layers[li].attn;
    const kc = this.caches[2 * li];
    const vc = this.caches[2 * li + 1];
    const { H, Hkv, Dh } = at;
    const N = B * T;
    const group = H / Hkv;
    const q = this.pool.get('q', N * H * Dh);
    const k = this.pool.get('k', N * Hkv * Dh);
    const v = this.pool.get('v', N * Hkv * Dh);
    linearRows(q, n, N, at.wq);
    linearRows(k, n, N, at.wk);
    linearRows(v, n, N, at.wv);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = b * T + t;
        for (let h = 0; h < H; h++) ropeAt(q, (row * H + h) * Dh, Dh, cos, sin, t, false);
        for (let h = 0; h < Hkv; h++) ropeAt(k, (row * Hkv + h) * Dh, Dh, cos, sin, t, false);
        kc.data.set(k.subarray(row * Hkv * Dh, (row + 1) * Hkv * Dh), kc.at(b, this.len + t));
        vc.data.set(v.subarray(row * Hkv * Dh, (row + 1) * Hkv * Dh), vc.at(b, this.len + t));
      }
    }
    const scale = Dh ** -0.5;
    const ctx = this.pool.get('ctx', N * H * Dh);
    const acc = this.pool.get64('acc', Dh);
    const scores = this.pool.get64('scores', this.len + T);
    this.eachQuery(B, T, H, (b, row, keys, h) => {
      const qo = (row * H + h) * Dh;
      const kh = Math.floor(h / group) * Dh;
      let mx = -Infinity;
      for (let j = 0; j < keys; j++) {
        const ko = kc.at(b, j) + kh;
        let dot = 0;
        for (let d = 0; d < Dh; d++) dot += q[qo + d] * kc.data[ko + d];
        scores[j] = dot * scale;
        if (scores[j] > mx) mx = scores[j];
      }
      attendValues(scores, keys, mx, vc, b, kh, Dh, acc, ctx, (row * H + h) * Dh);
    });
    linearRows(out, ctx, N, at.wo);
  }
}

/** The fast decoder for `model` (a fresh, empty cache). */
export function createFastRunner(model: CausalLM): DecodeRunner {
  return model instanceof DeepseekV3 ? new FastDeepseek(model) : new FastDense(model as DenseLM);
}
