/**
 * DeepSeek-V3 (and V2-style configs): Multi-head Latent Attention, DeepSeekMoE with sigmoid gating, group-limited
 * top-k and auxiliary-loss-free bias, Multi-Token Prediction, YaRN. Names follow DeepSeek's reference code
 * (wq_a, q_norm, wkv_a, kv_norm, wkv_b, wo, w1/w2/w3, gate); src/io/hf.ts maps them to Hugging Face names.
 *
 * Shapes: B batch, T tokens, D hidden, H heads, E routed experts, K experts per token.
 *
 * Deviations / choices (see SPEC "Unconfirmed"):
 * - Masked groups are excluded with -inf before the final top-k (DeepSeek's reference; HF fills 0, which differs only
 *   when a biased score is negative).
 * - The MTP module receives the main model's last hidden state before the final norm, and concatenates
 *   [enorm(Emb(t_{i+k})) ; hnorm(h_i)] (embedding first, as the released weights' loaders do).
 * - The sequence-wise balance loss uses the selected (bias-corrected) top-k for f_i and is averaged over sequences.
 * - Routing ties go to the lower expert / group index.
 */
import { Module } from '../nn/module.js';
import { Embedding, Linear, RMSNorm, normalInit, type InitOptions } from '../nn/layers.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { zeros } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import {
  add,
  concat,
  crossEntropy,
  div,
  gather,
  indexAddGroups,
  indexSelect,
  indexSelectGroups,
  linear,
  matmul,
  mean,
  mlaAttention,
  moeExperts,
  mul,
  narrow,
  permute,
  reshape,
  rope,
  scaledDotProductAttention,
  sigmoid,
  slice,
  softmax,
  split,
  sum,
} from '../tensor/ops/index.js';
import type { DeepseekConfig } from './config.js';
import { MLP } from './mlp.js';
import { LayerTensorCache } from './kv_cache.js';
import { ropeCosSin, ropeCosSinAt, ropeTables, type RopeTables } from './rope.js';
import { type SegmentLayout, maskAcrossSegments, segmentLayout } from './packing.js';
import type {
  AfterStepOptions,
  AfterStepResult,
  CausalLM,
  CausalLMForwardOptions,
  CausalLMOutput,
  LossOptions,
  LossResult,
} from './causal_lm.js';
import { DeepseekDecoder } from './deepseek_v3_decode.js';
import { selectExperts } from './routing.js';

/** Per-forward context shared by all layers. */
export interface Ctx {
  cos: Tensor; // (T, 1, rope/2), or (B, T, 1, rope/2) for packed samples
  sin: Tensor;
  /** (B, T) int32: each token's first visible key (packed samples), or null. */
  keyStart: Tensor | null;
  interleaved: boolean;
  attnImpl: 'naive' | 'absorb';
  balanceAlpha: number;
  balanceLosses: Tensor[];
}

/** The latent KV cache of one layer: normed c_kv (B, T, kv_lora_rank) and post-RoPE k_pe (B, T, rope). */
export interface MLALayerCache {
  kv: Tensor | null;
  pe: Tensor | null;
}

/** The latent KV cache of a DeepSeek-V3 model: per layer the normed c_kv and the post-RoPE k_pe of every token. */
export class MLACache extends LayerTensorCache<'kv' | 'pe'> {
  constructor(numLayers: number) {
    super(numLayers, ['kv', 'pe']);
  }
  /** Values held per token per layer (kv_lora_rank + qk_rope_head_dim for MLA). */
  valuesPerToken(): number {
    const l = this.layers[0];
    return l.kv && l.pe ? l.kv.shape[2] + l.pe.shape[2] : 0;
  }
}

export class MLA extends Module {
  readonly wq: Linear | null = null;
  readonly wq_a: Linear | null = null;
  readonly q_norm: RMSNorm | null = null;
  readonly wq_b: Linear | null = null;
  readonly wkv_a: Linear;
  readonly kv_norm: RMSNorm;
  readonly wkv_b: Linear;
  readonly wo: Linear;
  readonly H: number;
  readonly nope: number;
  readonly rope: number;
  readonly vDim: number;
  readonly kvRank: number;
  readonly softmaxScale: number;

  constructor(c: DeepseekConfig, rope: RopeTables, init: InitOptions) {
    super();
    this.H = c.num_attention_heads;
    this.nope = c.qk_nope_head_dim;
    this.rope = c.qk_rope_head_dim;
    this.vDim = c.v_head_dim;
    this.kvRank = c.kv_lora_rank;
    const qk = this.nope + this.rope;
    const D = c.hidden_size;
    if (c.q_lora_rank === null) {
      this.wq = this.child('wq', new Linear(D, this.H * qk, init, c.attention_bias));
    } else {
      this.wq_a = this.child('wq_a', new Linear(D, c.q_lora_rank, init, c.attention_bias));
      this.q_norm = this.child('q_norm', new RMSNorm(c.q_lora_rank, c.rms_norm_eps));
      this.wq_b = this.child('wq_b', new Linear(c.q_lora_rank, this.H * qk, init));
    }
    this.wkv_a = this.child('wkv_a', new Linear(D, this.kvRank + this.rope, init, c.attention_bias));
    this.kv_norm = this.child('kv_norm', new RMSNorm(this.kvRank, c.rms_norm_eps));
    this.wkv_b = this.child('wkv_b', new Linear(this.kvRank, this.H * (this.nope + this.vDim), init));
    this.wo = this.child('wo', new Linear(this.H * this.vDim, D, init, c.attention_bias));
    this.softmaxScale = qk ** -0.5 * rope.scaleMultiplier;
  }

  /** x (B, T, D) -> (B, T, D). With a cache, appends this step's latents and attends over all cached positions. */
  forward(x: Tensor, ctx: Ctx, cache: MLALayerCache | null): Tensor {
    const [B, T] = x.shape;
    const { H, nope, rope: R, vDim, kvRank } = this;
    const q0 = this.wq ? this.wq.forward(x) : this.wq_b!.forward(this.q_norm!.forward(this.wq_a!.forward(x)));
    const qHeads = reshape(q0, [B, T, H, nope + R]);
    const [c0, kPe0] = split(this.wkv_a.forward(x), [kvRank, R], -1); // (B, T, kvRank), (B, T, R)
    const kPeT = rope(reshape(kPe0, [B, T, 1, R]), ctx.cos, ctx.sin, { interleaved: ctx.interleaved });
    let c = this.kv_norm.forward(c0); // (B, T, kvRank)
    let kPe = reshape(kPeT, [B, T, R]);
    if (cache) {
      c = cache.kv ? concat([cache.kv, c], 1) : c;
      kPe = cache.pe ? concat([cache.pe, kPe], 1) : kPe;
      cache.kv = c;
      cache.pe = kPe;
    }
    const Tk = c.shape[1];
    if (ctx.attnImpl === 'naive') {
      // (B, T, H, *) operands and output, read and written in place by the kernel (no head/token transposes); keys
      // [k_nope ; k_pe] and values read from wkv_b's output and the shared k_pe where they are (no concat, no split)
      const kv = reshape(this.wkv_b.forward(c), [B, Tk, H, nope + vDim]);
      // [q_nope ; RoPE(q_pe)] per head in one op (the numbers of splitting, rotating and joining them)
      const q = rope(qHeads, ctx.cos, ctx.sin, { interleaved: ctx.interleaved, pass: nope });
      const o = mlaAttention(q, kv, kPe, {
        nope,
        causal: true,
        scale: this.softmaxScale,
        keyStart: ctx.keyStart,
      }); // (B, T, H, vDim)
      return this.wo.forward(reshape(o, [B, T, H * vDim]));
    }
    // Absorbed: q~ = W_UK^T q_nope per head; attend over [c ; k_pe] as one shared key head, values = c; then W_UV.
    const [qNope, qPe0] = split(qHeads, [nope, R], -1); // (B, T, H, *)
    const qPe = rope(qPe0, ctx.cos, ctx.sin, { interleaved: ctx.interleaved });
    const w = reshape(this.wkv_b.weight, [H, nope + vDim, kvRank]);
    const wUK = slice(w, [null, [0, nope]]); // (H, nope, kvRank)
    const wUV = slice(w, [null, [nope, nope + vDim]]); // (H, vDim, kvRank)
    const qLat = matmul(permute(qNope, [0, 2, 1, 3]), wUK); // (B, H, T, kvRank)
    const q = concat([qLat, permute(qPe, [0, 2, 1, 3])], -1);
    const k = reshape(concat([c, kPe], -1), [B, 1, Tk, kvRank + R]);
    const oLat = scaledDotProductAttention(q, k, reshape(c, [B, 1, Tk, kvRank]), {
      causal: true,
      scale: this.softmaxScale,
      keyStart: ctx.keyStart,
    });
    const o = matmul(oLat, wUV, { transB: true }); // (B, H, T, vDim)
    return this.wo.forward(reshape(permute(o, [0, 2, 1, 3]), [B, T, H * vDim]));
  }
}

/** Router: sigmoid (or softmax) affinities, group-limited top-k on bias-corrected scores, normalised gate values. */
export class Gate extends Module {
  readonly weight: Tensor;
  /** e_score_correction_bias: used for selection only; updated by the aux-loss-free rule, no gradient. */
  readonly bias: Tensor | null;
  /** Selections per expert since the last bias update (training only). */
  readonly load: Float64Array;
  constructor(
    readonly c: DeepseekConfig,
    init: InitOptions,
  ) {
    super();
    this.weight = this.param('weight', normalInit([c.n_routed_experts, c.hidden_size], init));
    this.bias = c.topk_method === 'noaux_tc' ? this.buffer('bias', zeros([c.n_routed_experts])) : null;
    this.load = new Float64Array(c.n_routed_experts);
  }

  /**
   * x (N, D) -> scores (N, E) (differentiable), indices (N*K, row-major) and gate weights (N, K).
   */
  forward(x: Tensor): { scores: Tensor; indices: Int32Array; weights: Tensor } {
    const c = this.c;
    const K = c.num_experts_per_tok;
    const N = x.shape[0];
    const logits = linear(x, this.weight);
    const scores = c.scoring_func === 'sigmoid' ? sigmoid(logits) : softmax(logits, -1);
    const indices = selectExperts(c, scores.data, this.bias?.data, N);
    let w = gather(scores, 1, new Tensor(indices, [N, K], 'int32'));
    if (c.norm_topk_prob) w = div(w, add(sum(w, -1, { keepdim: true }), 1e-20));
    w = mul(w, c.routed_scaling_factor);
    return { scores, indices, weights: w };
  }

  /** b_i += gamma * sign(mean load - load_i), then clears the load counters. Returns the loads used. */
  updateBias(gamma: number): Float64Array {
    const load = Float64Array.from(this.load);
    if (this.bias) {
      const meanLoad = load.reduce((a, v) => a + v, 0) / load.length;
      const bd = this.bias.data;
      for (let i = 0; i < load.length; i++) bd[i] += gamma * Math.sign(meanLoad - load[i]);
    }
    this.load.fill(0);
    return load;
  }
}

/** An expert that `moeExperts` can run: three plain Linears of the activations' float dtype, no fused replacement. */
function plainExpert(m: MLP, dtype: DType): boolean {
  return (
    m.fused === null &&
    [m.w1, m.w2, m.w3].every((l) => l.gemm === null && l.bias === null && l.weight.dtype === dtype) &&
    (dtype === 'float32' || dtype === 'float64')
  );
}

export class MoE extends Module {
  readonly gate: Gate;
  readonly experts: MLP[];
  readonly shared_experts: MLP | null;
  constructor(
    readonly c: DeepseekConfig,
    init: InitOptions,
  ) {
    super();
    this.gate = this.child('gate', new Gate(c, init));
    this.experts = this.childList(
      'experts',
      Array.from({ length: c.n_routed_experts }, () => new MLP(c.hidden_size, c.moe_intermediate_size, init)),
    );
    this.shared_experts =
      c.n_shared_experts > 0
        ? this.child('shared_experts', new MLP(c.hidden_size, c.moe_intermediate_size * c.n_shared_experts, init))
        : null;
  }

  /**
   * Whether the routed experts run as one grouped op (`moeExperts`: one kernel call forward and one backward for the
   * layer) rather than as one MLP per active expert. Both give the same bits; experts with a replaced GEMM (FP8, bf16
   * weights) always take the per-expert path.
   */
  groupedExperts = true;

  /** x (B, T, D) -> (B, T, D). Tokens are grouped by expert (no token dropped); see `groupedExperts`. */
  forward(x: Tensor, ctx: Ctx): Tensor {
    const [B, T, D] = x.shape;
    const N = B * T;
    const K = this.c.num_experts_per_tok;
    const E = this.c.n_routed_experts;
    const flat = reshape(x, [N, D]);
    const { scores, indices, weights } = this.gate.forward(flat);
    // Bucket (token, slot) pairs by expert.
    const counts = new Int32Array(E);
    for (let i = 0; i < indices.length; i++) counts[indices[i]]++;
    if (this.training) for (let e = 0; e < E; e++) this.gate.load[e] += counts[e];
    const starts = new Int32Array(E + 1);
    for (let e = 0; e < E; e++) starts[e + 1] = starts[e] + counts[e];
    const fill = starts.slice(0, E);
    const tokenOf = new Int32Array(N * K);
    const slotOf = new Int32Array(N * K);
    for (let i = 0; i < indices.length; i++) {
      const at = fill[indices[i]]++;
      tokenOf[at] = Math.floor(i / K);
      slotOf[at] = i;
    }
    const active = [...counts.keys()].filter((e) => counts[e] > 0);
    const sizes = active.map((e) => counts[e]);
    const tokens = new Tensor(tokenOf, [N * K], 'int32');
    let y: Tensor;
    if (this.groupedExperts && active.length > 0 && active.every((e) => plainExpert(this.experts[e], x.dtype))) {
      // One gather, then every active expert in one op (one kernel call each way).
      const experts = active.map((e) => {
        const m = this.experts[e];
        return { w1: m.w1.weight, w3: m.w3.weight, w2: m.w2.weight };
      });
      const attrs = { sizes, tokens: tokenOf, slots: slotOf, nTokens: N };
      y = moeExperts(indexSelect(flat, 0, tokens), weights, experts, attrs);
    } else {
      // Each active expert's tokens and gate values, gathered as one op each (one backward for all experts).
      const flatW = reshape(weights, [N * K, 1]);
      const xs = indexSelectGroups(flat, 0, tokens, sizes);
      const ws = indexSelectGroups(flatW, 0, new Tensor(slotOf, [N * K], 'int32'), sizes);
      const outs = active.map((e, i) => mul(this.experts[e].forward(xs[i]), ws[i]));
      y = indexAddGroups(zeros([N, D], { dtype: x.dtype }), 0, tokens, outs);
    }
    if (this.shared_experts) y = add(y, this.shared_experts.forward(flat));
    if (ctx.balanceAlpha > 0 && this.training)
      ctx.balanceLosses.push(this.balanceLoss(scores, indices, B, T, ctx.balanceAlpha));
    return reshape(y, [B, T, D]);
  }

  /** Sequence-wise balance loss alpha * sum_i f_i P_i, averaged over the B sequences (SPEC 1.3). */
  balanceLoss(scores: Tensor, indices: Int32Array, B: number, T: number, alpha: number): Tensor {
    const E = this.c.n_routed_experts;
    const K = this.c.num_experts_per_tok;
    const f = zeros([B, E], { dtype: scores.dtype });
    for (let i = 0; i < indices.length; i++) {
      const seq = Math.floor(i / (K * T));
      f.data[seq * E + indices[i]] += E / (K * T);
    }
    const norm = div(scores, sum(scores, -1, { keepdim: true }));
    const P = mean(reshape(norm, [B, T, E]), 1); // (B, E)
    return mul(mean(sum(mul(f, P), -1)), alpha);
  }
}

export class Block extends Module {
  readonly attn_norm: RMSNorm;
  readonly attn: MLA;
  readonly ffn_norm: RMSNorm;
  readonly ffn: MLP | MoE;
  constructor(c: DeepseekConfig, layerId: number, rope: RopeTables, init: InitOptions) {
    super();
    this.attn_norm = this.child('attn_norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.attn = this.child('attn', new MLA(c, rope, init));
    this.ffn_norm = this.child('ffn_norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.ffn = this.child(
      'ffn',
      layerId < c.first_k_dense_replace ? new MLP(c.hidden_size, c.intermediate_size, init) : new MoE(c, init),
    );
  }
  forward(x: Tensor, ctx: Ctx, cache: MLALayerCache | null): Tensor {
    const h = add(x, this.attn.forward(this.attn_norm.forward(x), ctx, cache));
    const n = this.ffn_norm.forward(h);
    return add(h, this.ffn instanceof MoE ? this.ffn.forward(n, ctx) : this.ffn.forward(n));
  }
}

/** One Multi-Token Prediction depth: h' = eh_proj([enorm(Emb(t_{i+k})) ; hnorm(h_i)]), a full block, a final norm. */
export class MTPModule extends Module {
  readonly enorm: RMSNorm;
  readonly hnorm: RMSNorm;
  readonly eh_proj: Linear;
  readonly block: Block;
  readonly norm: RMSNorm;
  constructor(c: DeepseekConfig, layerId: number, rope: RopeTables, init: InitOptions) {
    super();
    this.enorm = this.child('enorm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.hnorm = this.child('hnorm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.eh_proj = this.child('eh_proj', new Linear(2 * c.hidden_size, c.hidden_size, init));
    this.block = this.child('block', new Block(c, layerId, rope, init));
    this.norm = this.child('norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
  }
  /** hPrev, emb (B, T', D) -> the depth's hidden state (B, T', D) before its final norm. */
  forward(hPrev: Tensor, emb: Tensor, ctx: Ctx): Tensor {
    const h = this.eh_proj.forward(concat([this.enorm.forward(emb), this.hnorm.forward(hPrev)], -1));
    return this.block.forward(h, ctx, null);
  }
}

export interface DeepseekOptions {
  /** Std of the normal init (DeepSeek-V3: 0.006). */
  initStd?: number;
  /** Seed for the init (default 0). */
  seed?: number;
}

export interface ForwardOptions extends CausalLMForwardOptions {
  /**
   * 'naive' expands K/V (training); 'absorb' attends in latent space. Default: 'absorb' with a cache (decoding),
   * 'naive' without.
   */
  attnImpl?: 'naive' | 'absorb';
  /** Sequence-wise balance loss weight (0 = off). */
  balanceAlpha?: number;
}

export interface DeepseekLossOptions extends LossOptions {
  attnImpl?: 'naive' | 'absorb';
}

export class DeepseekV3 extends Module implements CausalLM {
  readonly embed: Embedding;
  readonly layers: Block[];
  readonly norm: RMSNorm;
  readonly head: Linear | null;
  readonly mtp: MTPModule[];
  readonly ropeTables: RopeTables;

  constructor(
    readonly config: DeepseekConfig,
    opts: DeepseekOptions = {},
  ) {
    super();
    const c = config;
    const init: InitOptions = { std: opts.initStd ?? 0.006, generator: new Generator(opts.seed ?? 0) };
    this.ropeTables = ropeTables(c.qk_rope_head_dim, c.rope_theta, c.rope_scaling);
    this.embed = this.child('embed', new Embedding(c.vocab_size, c.hidden_size, init));
    this.layers = this.childList(
      'layers',
      Array.from({ length: c.num_hidden_layers }, (_, i) => new Block(c, i, this.ropeTables, init)),
    );
    this.norm = this.child('norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.head = c.tie_word_embeddings ? null : this.child('head', new Linear(c.hidden_size, c.vocab_size, init));
    this.mtp = this.childList(
      'mtp',
      Array.from(
        { length: c.num_nextn_predict_layers },
        (_, k) => new MTPModule(c, c.num_hidden_layers + k, this.ropeTables, init),
      ),
    );
  }

  /** A latent KV cache for incremental decoding. */
  createCache(): MLACache {
    return new MLACache(this.config.num_hidden_layers);
  }

  /** The fast decoder over flat buffers (absorbed MLA, ./deepseek_v3_decode.ts) with an empty cache. */
  createDecoder(): DeepseekDecoder {
    return new DeepseekDecoder(this);
  }

  /**
   * The per-forward context: RoPE cos/sin for positions start..start+T-1, or with a packed-sample `layout`, each
   * token's position in its sample (the first T of every row's positions) and its first visible key.
   */
  private context(
    start: number,
    T: number,
    o: ForwardOptions,
    balanceLosses: Tensor[],
    layout: SegmentLayout | null = null,
  ): Ctx {
    const half = this.config.qk_rope_head_dim / 2;
    let cos: Tensor;
    let sin: Tensor;
    let keyStart: Tensor | null = null;
    if (layout) {
      const [B, Tl] = layout.keyStart.shape;
      const pos = new Int32Array(B * T);
      for (let b = 0; b < B; b++) pos.set(layout.positions.subarray(b * Tl, b * Tl + T), b * T);
      ({ cos, sin } = ropeCosSinAt(this.ropeTables, pos));
      cos = reshape(cos, [B, T, 1, half]);
      sin = reshape(sin, [B, T, 1, half]);
      keyStart = T === Tl ? layout.keyStart : narrow(layout.keyStart, 1, 0, T);
    } else {
      ({ cos, sin } = ropeCosSin(this.ropeTables, start, T));
      cos = reshape(cos, [T, 1, half]);
      sin = reshape(sin, [T, 1, half]);
    }
    return {
      cos,
      sin,
      keyStart,
      interleaved: this.config.rope_interleave,
      attnImpl: o.attnImpl ?? (o.cache ? 'absorb' : 'naive'),
      balanceAlpha: o.balanceAlpha ?? 0,
      balanceLosses,
    };
  }

  /**
   * The per-forward context for positions start..start+T-1 (RoPE cos/sin) with the balance loss off, for code that runs
   * a slice of `layers` itself (pipeline stages: src/parallel/deepseek_stages.ts).
   */
  ropeContext(start: number, T: number, attnImpl: 'naive' | 'absorb' = 'naive'): Ctx {
    return this.context(start, T, { attnImpl }, []);
  }

  /** Output-head logits of normed hidden states. */
  logitsOf(h: Tensor): Tensor {
    const n = this.norm.forward(h);
    return this.head ? this.head.forward(n) : linear(n, this.embed.weight);
  }

  /** ids (B, T) int32 -> logits (B, T, V), the last hidden state before the final norm (B, T, D) and after it. */
  forward(ids: Tensor, opts: ForwardOptions = {}): CausalLMOutput & { balanceLosses: Tensor[] } {
    if (ids.ndim !== 2 || ids.dtype !== 'int32')
      throw new TypeError(`DeepseekV3.forward: ids must be int32 (B, T), got ${ids.dtype} [${ids.shape}]`);
    const cache = opts.cache;
    if (cache !== undefined && !(cache instanceof MLACache)) {
      throw new TypeError('DeepseekV3.forward: the cache must come from this model family (createCache())');
    }
    const [B, T] = ids.shape;
    const start = cache?.length ?? 0;
    if (opts.segments && cache)
      throw new RangeError('DeepseekV3.forward: packed segments are for training, not with a cache');
    const layout = opts.segments ? segmentLayout(opts.segments, B, T) : null;
    const balanceLosses: Tensor[] = [];
    const ctx = this.context(start, T, opts, balanceLosses, layout);
    let h = this.embed.forward(ids);
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, ctx, cache ? cache.layers[i] : null);
    });
    if (cache) cache.length += T;
    const normed = this.norm.forward(h);
    const logits = this.head ? this.head.forward(normed) : linear(normed, this.embed.weight);
    return { logits, hidden: h, normed, balanceLosses };
  }

  /**
   * Training loss: mean next-token cross-entropy, plus (lambda / D) * sum of MTP depth losses, plus the balance loss.
   * targets (B, T) are the next tokens of ids; MTP depth k predicts targets[:, k:] from h[:, :T-k] and ids[:, k:].
   */
  computeLoss(ids: Tensor, targets: Tensor, opts: DeepseekLossOptions = {}): LossResult {
    const ignoreIndex = opts.ignoreIndex ?? -100;
    const { logits, hidden, balanceLosses } = this.forward(ids, { ...opts, cache: undefined });
    const main = crossEntropy(logits, targets, { ignoreIndex });
    let loss = main;
    const mtpLosses: number[] = [];
    const [B, T] = ids.shape;
    const layout = opts.segments ? segmentLayout(opts.segments, B, T) : null;
    const Dm = this.mtp.length;
    let hPrev = hidden;
    for (let k = 1; k <= Dm && T - k > 0; k++) {
      const ctx = this.context(0, T - k, opts, balanceLosses, layout);
      const h = this.mtp[k - 1].forward(narrow(hPrev, 1, 0, T - k), this.embed.forward(narrow(ids, 1, k, T - k)), ctx);
      const n = this.mtp[k - 1].norm.forward(h);
      const lg = this.head ? this.head.forward(n) : linear(n, this.embed.weight);
      let tk = narrow(targets, 1, k, T - k);
      // packed samples: position t reads token t + k, so it predicts nothing when that token is another sample's
      if (opts.segments) tk = maskAcrossSegments(tk, opts.segments, k, ignoreIndex);
      const lk = crossEntropy(lg, tk, { ignoreIndex });
      mtpLosses.push(lk.item());
      loss = add(loss, mul(lk, (opts.mtpLambda ?? 0.3) / Dm));
      hPrev = h;
    }
    let bal = 0;
    for (const b of balanceLosses) {
      loss = add(loss, b);
      bal += b.item();
    }
    return { loss, mainLoss: main.item(), mtpLosses, balanceLoss: bal, logits };
  }

  /** The MoE gates of the main model and the MTP modules. */
  gates(): Gate[] {
    return this.namedModules()
      .map(([, m]) => m)
      .filter((m): m is Gate => m instanceof Gate);
  }

  /** Applies the aux-loss-free bias update to every MoE layer and returns each layer's loads since the last update. */
  updateRouterBias(gamma = 0.001): Float64Array[] {
    return noGrad(() => this.gates().map((g) => g.updateBias(gamma)));
  }

  /** Current per-layer expert loads (selections since the last bias update). */
  expertLoads(): Float64Array[] {
    return this.gates().map((g) => Float64Array.from(g.load));
  }

  /** The router-bias update (gamma 0 still clears the loads); imbalance = mean over MoE layers of max / mean load. */
  afterStep(opts: AfterStepOptions): AfterStepResult {
    const loads = this.updateRouterBias(opts.gamma);
    return { imbalance: loads.length ? loads.reduce((s, l) => s + loadImbalance(l), 0) / loads.length : null };
  }

  /** The expert loads per MoE layer, cleared. */
  takeStepCounters(): Float64Array[] {
    return this.gates().map((g) => {
      const l = Float64Array.from(g.load);
      g.load.fill(0);
      return l;
    });
  }

  addStepCounters(counters: readonly Float64Array[]): void {
    const gates = this.gates();
    if (counters.length !== gates.length) {
      throw new RangeError(
        `DeepseekV3.addStepCounters: ${counters.length} expert-load vectors for ${gates.length} gates`,
      );
    }
    counters.forEach((c, i) => {
      for (let e = 0; e < c.length; e++) gates[i].load[e] += c[e];
    });
  }
}

/** Max load over mean load (1 = perfectly balanced), for logging. */
export function loadImbalance(load: Float64Array): number {
  const m = load.reduce((a, v) => a + v, 0) / load.length;
  return m > 0 ? Math.max(...load) / m : 1;
}
