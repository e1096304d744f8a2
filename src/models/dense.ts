/**
 * Dense decoder-only students (Qwen2 / Llama): grouped-query attention with RoPE on the full head (half-split pairs,
 * as Hugging Face), SwiGLU MLP, RMSNorm, q/k/v biases (Qwen2; Llama's attention_bias: q/k/v/o), optional tied
 * embeddings.
 * Internal names match the DeepSeek model (attn.wq/wk/wv/wo, ffn.w1/w2/w3); src/io/hf.ts maps them to HF names.
 */
import { Module } from '../nn/module.js';
import { Embedding, Linear, RMSNorm, type InitOptions } from '../nn/layers.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { add, concat, crossEntropy, linear, reshape, rope, scaledDotProductAttention } from '../tensor/ops/index.js';
import type { DenseConfig } from './config.js';
import { MLP } from './mlp.js';
import { LayerTensorCache } from './kv_cache.js';
import { ropeCosSin, ropeCosSinAt, ropeTables, type RopeTables } from './rope.js';
import { segmentLayout } from './packing.js';
import type {
  AfterStepResult,
  CausalLM,
  CausalLMForwardOptions,
  CausalLMOutput,
  LossOptions,
  LossResult,
} from './causal_lm.js';
import { DenseDecoder } from './dense_decode.js';

/** K/V cache of one layer: (B, Hkv, T, Dh) each. */
export interface DenseLayerCache {
  k: Tensor | null;
  v: Tensor | null;
}

/** The K/V cache of a dense model: per layer K and V of every token, (B, T, Hkv, Dh) each. */
export class DenseCache extends LayerTensorCache<'k' | 'v'> {
  constructor(n: number) {
    super(n, ['k', 'v']);
  }
  valuesPerToken(): number {
    const l = this.layers[0];
    return l.k && l.v ? l.k.shape[2] * l.k.shape[3] + l.v.shape[2] * l.v.shape[3] : 0;
  }
}

interface Ctx {
  cos: Tensor; // (T, 1, Dh/2), or (B, T, 1, Dh/2) for packed samples
  sin: Tensor;
  /** (B, T) int32: each token's first visible key (packed samples), or null. */
  keyStart: Tensor | null;
}

export class GQAttention extends Module {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  readonly H: number;
  readonly Hkv: number;
  readonly Dh: number;
  constructor(c: DenseConfig, init: InitOptions) {
    super();
    this.H = c.num_attention_heads;
    this.Hkv = c.num_key_value_heads;
    this.Dh = c.head_dim;
    const D = c.hidden_size;
    this.wq = this.child('wq', new Linear(D, this.H * this.Dh, init, c.qkv_bias));
    this.wk = this.child('wk', new Linear(D, this.Hkv * this.Dh, init, c.qkv_bias));
    this.wv = this.child('wv', new Linear(D, this.Hkv * this.Dh, init, c.qkv_bias));
    // Llama's attention_bias puts a bias on o_proj as well (transformers' LlamaAttention); Qwen2 has none there
    this.wo = this.child('wo', new Linear(this.H * this.Dh, D, init, c.model_type === 'llama' && c.qkv_bias));
  }

  forward(x: Tensor, ctx: Ctx, cache: DenseLayerCache | null): Tensor {
    const [B, T] = x.shape;
    const { H, Hkv, Dh } = this;
    const q = rope(reshape(this.wq.forward(x), [B, T, H, Dh]), ctx.cos, ctx.sin, { interleaved: false });
    // (B, T, heads, Dh) operands and output, read and written in place by the kernel (no head/token transposes)
    let k = rope(reshape(this.wk.forward(x), [B, T, Hkv, Dh]), ctx.cos, ctx.sin, { interleaved: false });
    let v = reshape(this.wv.forward(x), [B, T, Hkv, Dh]);
    if (cache) {
      k = cache.k ? concat([cache.k, k], 1) : k;
      v = cache.v ? concat([cache.v, v], 1) : v;
      cache.k = k;
      cache.v = v;
    }
    const o = scaledDotProductAttention(q, k, v, {
      causal: true,
      scale: Dh ** -0.5,
      keyStart: ctx.keyStart,
      layout: 'bthd',
    });
    return this.wo.forward(reshape(o, [B, T, H * Dh]));
  }
}

export class DenseBlock extends Module {
  readonly attn_norm: RMSNorm;
  readonly attn: GQAttention;
  readonly ffn_norm: RMSNorm;
  readonly ffn: MLP;
  constructor(c: DenseConfig, init: InitOptions) {
    super();
    this.attn_norm = this.child('attn_norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.attn = this.child('attn', new GQAttention(c, init));
    this.ffn_norm = this.child('ffn_norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.ffn = this.child('ffn', new MLP(c.hidden_size, c.intermediate_size, init));
  }
  forward(x: Tensor, ctx: Ctx, cache: DenseLayerCache | null): Tensor {
    const h = add(x, this.attn.forward(this.attn_norm.forward(x), ctx, cache));
    return add(h, this.ffn.forward(this.ffn_norm.forward(h)));
  }
}

export interface DenseOptions {
  /** Std of the normal init (default: the config's initializer_range). */
  initStd?: number;
  seed?: number;
  /** 'bfloat16': Linear and Embedding weights as bf16 zeros to load a checkpoint into, for inference only. */
  weightDtype?: 'float32' | 'bfloat16';
}

export class DenseLM extends Module implements CausalLM {
  readonly embed: Embedding;
  readonly layers: DenseBlock[];
  readonly norm: RMSNorm;
  readonly head: Linear | null;
  readonly ropeTables: RopeTables;
  constructor(
    readonly config: DenseConfig,
    opts: DenseOptions = {},
  ) {
    super();
    const c = config;
    const init: InitOptions = {
      std: opts.initStd ?? c.initializer_range,
      generator: new Generator(opts.seed ?? 0),
      weightDtype: opts.weightDtype,
    };
    this.ropeTables = ropeTables(c.head_dim, c.rope_theta, c.rope_scaling);
    this.embed = this.child('embed', new Embedding(c.vocab_size, c.hidden_size, init));
    this.layers = this.childList(
      'layers',
      Array.from({ length: c.num_hidden_layers }, () => new DenseBlock(c, init)),
    );
    this.norm = this.child('norm', new RMSNorm(c.hidden_size, c.rms_norm_eps));
    this.head = c.tie_word_embeddings ? null : this.child('head', new Linear(c.hidden_size, c.vocab_size, init));
  }

  createCache(): DenseCache {
    return new DenseCache(this.config.num_hidden_layers);
  }

  /** The fast decoder over flat buffers (./dense_decode.ts) with an empty cache. */
  createDecoder(): DenseDecoder {
    return new DenseDecoder(this);
  }

  forward(ids: Tensor, opts: CausalLMForwardOptions = {}): CausalLMOutput {
    if (ids.ndim !== 2 || ids.dtype !== 'int32')
      throw new TypeError(`DenseLM.forward: ids must be int32 (B, T), got ${ids.dtype} [${ids.shape}]`);
    const cache = opts.cache;
    if (cache !== undefined && !(cache instanceof DenseCache)) {
      throw new TypeError('DenseLM.forward: the cache must come from this model family (createCache())');
    }
    const [B, T] = ids.shape;
    const half = this.config.head_dim / 2;
    let ctx: Ctx;
    if (opts.segments) {
      if (cache) throw new RangeError('DenseLM.forward: packed segments are for training, not with a cache');
      const layout = segmentLayout(opts.segments, B, T);
      const { cos, sin } = ropeCosSinAt(this.ropeTables, layout.positions);
      ctx = { cos: reshape(cos, [B, T, 1, half]), sin: reshape(sin, [B, T, 1, half]), keyStart: layout.keyStart };
    } else {
      const { cos, sin } = ropeCosSin(this.ropeTables, cache?.length ?? 0, T);
      ctx = { cos: reshape(cos, [T, 1, half]), sin: reshape(sin, [T, 1, half]), keyStart: null };
    }
    let h = this.embed.forward(ids);
    this.layers.forEach((l, i) => {
      h = l.forward(h, ctx, cache ? cache.layers[i] : null);
    });
    if (cache) cache.length += T;
    const normed = this.norm.forward(h);
    return { logits: this.head ? this.head.forward(normed) : linear(normed, this.embed.weight), hidden: h, normed };
  }

  /** Mean next-token cross-entropy of targets (B, T); a dense model has no MTP or balance terms. */
  computeLoss(ids: Tensor, targets: Tensor, opts: LossOptions = {}): LossResult {
    const { logits } = this.forward(ids, { segments: opts.segments });
    const loss = crossEntropy(logits, targets, { ignoreIndex: opts.ignoreIndex ?? -100 });
    return { loss, mainLoss: loss.item(), mtpLosses: [], balanceLoss: 0, logits };
  }

  /** Nothing to do per step (no router). */
  afterStep(): AfterStepResult {
    return { imbalance: null };
  }

  takeStepCounters(): Float64Array[] {
    return [];
  }

  addStepCounters(counters: readonly Float64Array[]): void {
    if (counters.length)
      throw new RangeError(`DenseLM.addStepCounters: a dense model has no counters (got ${counters.length})`);
  }
}
