/**
 * Model configuration with Hugging Face `config.json` field names: `deepseek_v3` (and `deepseek_v2`, for the older
 * configs of SPEC 1.3), and the dense students `qwen2` and `llama`. Parsing fills the same defaults as transformers,
 * validates types and relations (errors name the field), and writes the config back out.
 *
 * Unknown fields are kept in `extra` and reported as warnings (HF configs carry many bookkeeping keys); fields r1ts
 * needs but cannot honour (an unsupported rope_scaling type, hidden_act other than silu, ...) are errors.
 *
 * Hostile or mistaken values: sizes must be safe integers; `null` for a size is an error (not the default), except
 * where transformers derives a value from None (num_key_value_heads, head_dim, q_lora_rank); values that make the
 * model NaN (rms_norm_eps <= 0, rope_theta <= 0, a YaRN factor <= 0) are errors; a size field that is missing takes
 * transformers' default, which is the full-size model's, and a warning lists each one so that a forgotten
 * `hidden_size` does not silently describe a 671B model.
 */
import { jsonPreview } from '../util/format.js';

export type ModelType = 'deepseek_v3' | 'deepseek_v2' | 'qwen2' | 'llama';

/** YaRN (DeepSeek-V3) or Llama 3.1's frequency scaling (the Llama students); the `type` tells them apart. */
export type RopeScaling = YarnScaling | Llama3Scaling;

export interface YarnScaling {
  type: 'yarn';
  factor: number;
  original_max_position_embeddings: number;
  beta_fast: number;
  beta_slow: number;
  mscale: number;
  mscale_all_dim: number;
}

/** Llama 3.1's `rope_type: "llama3"`: long wavelengths divided by `factor`, a smooth ramp in between, no attention scale. */
export interface Llama3Scaling {
  type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

interface CommonConfig {
  model_type: ModelType;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  tie_word_embeddings: boolean;
  attention_bias: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  pad_token_id: number | null;
  /** Fields r1ts does not use, kept so a round trip loses nothing. */
  extra: Record<string, unknown>;
}

export interface DeepseekConfig extends CommonConfig {
  model_type: 'deepseek_v3' | 'deepseek_v2';
  moe_intermediate_size: number;
  n_shared_experts: number;
  n_routed_experts: number;
  num_experts_per_tok: number;
  n_group: number;
  topk_group: number;
  routed_scaling_factor: number;
  norm_topk_prob: boolean;
  scoring_func: 'sigmoid' | 'softmax';
  /** noaux_tc: bias-corrected group top-k (V3); group_limited_greedy: group max (V2); greedy: no groups. */
  topk_method: 'noaux_tc' | 'group_limited_greedy' | 'greedy';
  first_k_dense_replace: number;
  q_lora_rank: number | null;
  kv_lora_rank: number;
  qk_nope_head_dim: number;
  qk_rope_head_dim: number;
  v_head_dim: number;
  rope_interleave: boolean;
  num_nextn_predict_layers: number;
}

export interface DenseConfig extends CommonConfig {
  model_type: 'qwen2' | 'llama';
  head_dim: number;
  /** q/k/v projection bias (Qwen2: true). */
  qkv_bias: boolean;
}

export type ModelConfig = DeepseekConfig | DenseConfig;

export function isDeepseek(c: ModelConfig): c is DeepseekConfig {
  return c.model_type === 'deepseek_v3' || c.model_type === 'deepseek_v2';
}

/** HF bookkeeping keys accepted without a warning. */
const IGNORED_KEYS = new Set([
  'architectures',
  'auto_map',
  'torch_dtype',
  'dtype',
  'transformers_version',
  'quantization_config',
  'use_cache',
  'pretraining_tp',
  'ep_size',
  'moe_layer_freq',
  'aux_loss_alpha',
  'seq_aux',
  '_name_or_path',
  'attention_dropout',
  'use_sliding_window',
  'sliding_window',
  'max_window_layers',
  'bos_token',
  'eos_token',
  'mlp_bias',
  'head_dim',
  'num_nextn_predict_layers',
  'layer_types',
]);

type Json = Record<string, unknown>;

/** A token id as configs write them: any safe integer (some write -1 for "none"). */
const isTokenId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

class Reader {
  readonly seen = new Set<string>();
  /** `key=value` of size fields that were missing and took the default. */
  readonly defaulted: string[] = [];
  constructor(
    readonly raw: Json,
    readonly source: string,
  ) {}

  private fail(key: string, why: string): never {
    throw new Error(`config${this.source ? ` (${this.source})` : ''}: ${key} ${why}`);
  }

  private get(key: string): unknown {
    this.seen.add(key);
    return this.raw[key];
  }

  /**
   * An integer field. Missing: `def` (required when there is none). `null` is an error (transformers would fail on
   * None too), except where `nullMeansDefault` (fields transformers derives when None, like num_key_value_heads).
   */
  int(key: string, def?: number, min = 0, nullMeansDefault = false): number {
    const raw = this.get(key);
    const v = raw === undefined || (raw === null && nullMeansDefault) ? def : raw;
    if (v === undefined) this.fail(key, 'is required');
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, `must be an integer, got ${jsonPreview(v)}`);
    if (v < min) this.fail(key, `must be >= ${min}, got ${v}`);
    return v;
  }

  /**
   * A size that sets the model's memory (a width, the vocabulary, layers, heads, experts): as `int`, and a missing one
   * that takes the (full-size model's) default is recorded for a warning.
   */
  size(key: string, def: number, min = 1): number {
    if (this.raw[key] === undefined) this.defaulted.push(`${key}=${def}`);
    return this.int(key, def, min);
  }

  intOrNull(key: string, def: number | null): number | null {
    const v = this.get(key);
    if (v === undefined) {
      if (def !== null) this.defaulted.push(`${key}=${def}`);
      return def;
    }
    if (v === null) return null;
    this.seen.delete(key);
    return this.int(key);
  }

  /** A finite number; `positive` requires > 0 (epsilons and bases that make the model NaN otherwise). */
  num(key: string, def?: number, positive = false): number {
    const raw = this.get(key);
    const v = raw === undefined ? def : raw;
    if (v === undefined) this.fail(key, 'is required');
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a number, got ${jsonPreview(v)}`);
    if (positive && !(v > 0)) this.fail(key, `must be > 0, got ${v} (the model's outputs would be NaN)`);
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const raw = this.get(key);
    const v = raw === undefined ? def : raw;
    if (typeof v !== 'boolean') this.fail(key, `must be true or false, got ${jsonPreview(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, options: readonly T[], def: T): T {
    const raw = this.get(key);
    const v = raw === undefined ? def : raw;
    if (typeof v !== 'string' || !options.includes(v as T)) {
      this.fail(key, `must be one of ${options.map((o) => `"${o}"`).join(', ')}, got ${jsonPreview(v)}`);
    }
    return v as T;
  }

  tokenId(key: string, def: number | null): number | null {
    const v = this.get(key);
    if (v === undefined) return def;
    if (v === null) return null;
    if (Array.isArray(v) && v.length > 0 && v.every((x) => isTokenId(x))) return v[0] as number;
    if (!isTokenId(v)) this.fail(key, `must be an integer token id, got ${jsonPreview(v)}`);
    return v;
  }

  ropeScaling(): RopeScaling | null {
    const v = this.get('rope_scaling') ?? this.get('rope_parameters');
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail('rope_scaling', 'must be an object or null');
    const o = v as Json;
    const type = o.type ?? o.rope_type;
    if (type === 'default' || type === undefined) return null;
    if (type !== 'yarn' && type !== 'llama3')
      this.fail('rope_scaling.type', `${jsonPreview(type)} is not supported (supported: "yarn", "llama3")`);
    const n = (k: string, d?: number, positive = false): number => {
      const x = o[k] ?? d;
      if (typeof x !== 'number' || !Number.isFinite(x))
        this.fail(`rope_scaling.${k}`, `must be a number, got ${jsonPreview(x)}`);
      if (positive && !(x > 0)) this.fail(`rope_scaling.${k}`, `must be > 0, got ${x}`);
      return x;
    };
    if (type === 'llama3') {
      const low = n('low_freq_factor', undefined, true);
      const high = n('high_freq_factor', undefined, true);
      if (!(high > low)) this.fail('rope_scaling.high_freq_factor', `must be > low_freq_factor ${low}, got ${high}`);
      return {
        type: 'llama3',
        factor: n('factor', undefined, true),
        low_freq_factor: low,
        high_freq_factor: high,
        original_max_position_embeddings: n('original_max_position_embeddings', undefined, true),
      };
    }
    return {
      type: 'yarn',
      factor: n('factor', undefined, true),
      original_max_position_embeddings: n('original_max_position_embeddings', undefined, true),
      beta_fast: n('beta_fast', 32),
      beta_slow: n('beta_slow', 1),
      mscale: n('mscale', 1),
      mscale_all_dim: n('mscale_all_dim', 0),
    };
  }

  /**
   * Settings of transformers' Qwen2 / Llama that the dense model does not implement: an error naming the field when
   * one is on (it would change the numbers), else read (they are written back by configToJson, not kept as extras).
   */
  denseUnsupported(modelType: 'qwen2' | 'llama'): void {
    if (modelType === 'qwen2') {
      if (this.bool('use_sliding_window', false))
        this.fail('use_sliding_window', 'true is not supported (r1ts attends to the whole context in every layer)');
      this.get('sliding_window');
      this.get('max_window_layers');
      return;
    }
    if (this.bool('mlp_bias', false)) this.fail('mlp_bias', "true is not supported (r1ts's MLP has no biases)");
  }

  extras(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.raw)) if (!this.seen.has(k)) out[k] = v;
    return out;
  }
}

export interface ParseResult {
  config: ModelConfig;
  /** Unknown keys (kept in `extra`). */
  warnings: string[];
}

/** Parses a HF config object. `source` (e.g. a file name) appears in error messages. */
export function parseConfig(raw: unknown, source = ''): ParseResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`config${source ? ` (${source})` : ''}: expected a JSON object`);
  }
  const r = new Reader(raw as Json, source);
  const modelType = r.oneOf(
    'model_type',
    ['deepseek_v3', 'deepseek_v2', 'qwen2', 'llama'] as const,
    'deepseek_v3' as ModelType,
  );
  if ((raw as Json).model_type === undefined)
    throw new Error(`config${source ? ` (${source})` : ''}: model_type is required`);
  const ds = modelType === 'deepseek_v3' || modelType === 'deepseek_v2';
  // transformers' defaults: DeepseekV3Config, Qwen2Config, LlamaConfig
  const d = ds
    ? { vocab: 129280, hidden: 7168, inter: 18432, layers: 61, heads: 128, maxPos: 4096 }
    : modelType === 'qwen2'
      ? { vocab: 151936, hidden: 4096, inter: 22016, layers: 32, heads: 32, maxPos: 32768 }
      : { vocab: 32000, hidden: 4096, inter: 11008, layers: 32, heads: 32, maxPos: 2048 };
  const hidden = r.size('hidden_size', d.hidden);
  const heads = r.size('num_attention_heads', d.heads);
  const common: CommonConfig = {
    model_type: modelType,
    vocab_size: r.size('vocab_size', d.vocab),
    hidden_size: hidden,
    intermediate_size: r.size('intermediate_size', d.inter),
    num_hidden_layers: r.size('num_hidden_layers', d.layers),
    num_attention_heads: heads,
    num_key_value_heads: r.int('num_key_value_heads', heads, 1, true),
    hidden_act: r.oneOf('hidden_act', ['silu'] as const, 'silu'),
    max_position_embeddings: r.size('max_position_embeddings', d.maxPos),
    initializer_range: r.num('initializer_range', 0.02),
    rms_norm_eps: r.num('rms_norm_eps', 1e-6, true),
    rope_theta: r.num('rope_theta', 10000, true),
    rope_scaling: r.ropeScaling(),
    tie_word_embeddings: r.bool('tie_word_embeddings', false),
    attention_bias: r.bool('attention_bias', false),
    bos_token_id: r.tokenId('bos_token_id', ds ? 0 : null),
    eos_token_id: r.tokenId('eos_token_id', ds ? 1 : null),
    pad_token_id: r.tokenId('pad_token_id', null),
    extra: {},
  };
  let config: ModelConfig;
  if (ds) {
    const v3 = modelType === 'deepseek_v3';
    config = {
      ...common,
      model_type: modelType as 'deepseek_v3' | 'deepseek_v2',
      moe_intermediate_size: r.size('moe_intermediate_size', 2048),
      n_shared_experts: r.int('n_shared_experts', 1, 0),
      n_routed_experts: r.size('n_routed_experts', 256),
      num_experts_per_tok: r.int('num_experts_per_tok', 8, 1),
      n_group: r.int('n_group', 8, 1),
      topk_group: r.int('topk_group', 4, 1),
      routed_scaling_factor: r.num('routed_scaling_factor', 2.5),
      norm_topk_prob: r.bool('norm_topk_prob', v3),
      scoring_func: r.oneOf('scoring_func', ['sigmoid', 'softmax'] as const, v3 ? 'sigmoid' : 'softmax'),
      topk_method: r.oneOf(
        'topk_method',
        ['noaux_tc', 'group_limited_greedy', 'greedy'] as const,
        v3 ? 'noaux_tc' : 'greedy',
      ),
      first_k_dense_replace: r.int('first_k_dense_replace', 3, 0),
      q_lora_rank: r.intOrNull('q_lora_rank', 1536),
      kv_lora_rank: r.size('kv_lora_rank', 512),
      qk_nope_head_dim: r.size('qk_nope_head_dim', 128, 0),
      qk_rope_head_dim: r.size('qk_rope_head_dim', 64, 2),
      v_head_dim: r.size('v_head_dim', 128),
      rope_interleave: r.bool('rope_interleave', true),
      num_nextn_predict_layers: r.int('num_nextn_predict_layers', 0, 0),
    };
    if (config.q_lora_rank === 0) config.q_lora_rank = null;
  } else {
    const defHead = hidden / heads;
    config = {
      ...common,
      model_type: modelType as 'qwen2' | 'llama',
      head_dim: r.int('head_dim', Number.isInteger(defHead) ? defHead : undefined, 2, true),
      qkv_bias: modelType === 'qwen2' ? true : r.bool('attention_bias', false),
    };
    r.denseUnsupported(modelType);
  }
  config.extra = r.extras();
  validate(config, source);
  const where = `config${source ? ` (${source})` : ''}`;
  const warnings = Object.keys(config.extra)
    .filter((k) => !IGNORED_KEYS.has(k))
    .map((k) => `${where}: unknown field ${k.length <= 100 ? k : jsonPreview(k, 100)} (kept, not used)`);
  if (r.defaulted.length) {
    const model = ds ? 'DeepSeek-V3 671B' : modelType === 'qwen2' ? 'Qwen2 7B' : 'Llama 2 7B';
    warnings.push(`${where}: missing size field(s) set to the ${model} defaults: ${r.defaulted.join(', ')}`);
  }
  return { config, warnings };
}

function validate(c: ModelConfig, source: string): void {
  const fail = (key: string, why: string): never => {
    throw new Error(`config${source ? ` (${source})` : ''}: ${key} ${why}`);
  };
  if (c.num_attention_heads % c.num_key_value_heads !== 0) {
    fail(
      'num_key_value_heads',
      `(${c.num_key_value_heads}) must divide num_attention_heads (${c.num_attention_heads})`,
    );
  }
  if (isDeepseek(c)) {
    if (c.qk_rope_head_dim % 2 !== 0) fail('qk_rope_head_dim', `must be even, got ${c.qk_rope_head_dim}`);
    if (c.num_experts_per_tok > c.n_routed_experts)
      fail('num_experts_per_tok', `(${c.num_experts_per_tok}) exceeds n_routed_experts (${c.n_routed_experts})`);
    if (c.topk_method !== 'greedy') {
      if (c.n_routed_experts % c.n_group !== 0)
        fail('n_group', `(${c.n_group}) must divide n_routed_experts (${c.n_routed_experts})`);
      if (c.topk_group > c.n_group) fail('topk_group', `(${c.topk_group}) exceeds n_group (${c.n_group})`);
      const perGroup = c.n_routed_experts / c.n_group;
      if (c.topk_method === 'noaux_tc' && perGroup < 2)
        fail('n_group', 'leaves fewer than 2 experts per group (group score is the sum of the top 2)');
      if (c.topk_group * perGroup < c.num_experts_per_tok) {
        fail(
          'topk_group',
          `keeps ${c.topk_group * perGroup} experts, fewer than num_experts_per_tok (${c.num_experts_per_tok})`,
        );
      }
    }
    if (c.first_k_dense_replace > c.num_hidden_layers)
      fail('first_k_dense_replace', `(${c.first_k_dense_replace}) exceeds num_hidden_layers (${c.num_hidden_layers})`);
    if (c.num_key_value_heads !== c.num_attention_heads)
      fail('num_key_value_heads', 'must equal num_attention_heads for MLA');
  } else if (c.head_dim % 2 !== 0) {
    fail('head_dim', `must be even for RoPE, got ${c.head_dim}`);
  }
}

/**
 * The config as HF `config.json` content (with `architectures`), extras preserved, plus the fields transformers'
 * config class of the family reads that r1ts keeps no value for (Llama's `mlp_bias`, Qwen2's sliding window).
 * `torchDtype` is the dtype the weights are written in (default: the config's own, else float32).
 */
export function configToJson(c: ModelConfig, torchDtype?: 'float32' | 'bfloat16' | 'float16'): Record<string, unknown> {
  const arch: Record<ModelType, string> = {
    deepseek_v3: 'DeepseekV3ForCausalLM',
    deepseek_v2: 'DeepseekV2ForCausalLM',
    qwen2: 'Qwen2ForCausalLM',
    llama: 'LlamaForCausalLM',
  };
  const { extra, ...fields } = c;
  const out: Record<string, unknown> = { architectures: [arch[c.model_type]], ...extra, ...fields };
  if (!isDeepseek(c)) {
    delete out.qkv_bias;
    if (c.model_type === 'llama') {
      out.attention_bias = c.qkv_bias;
      out.mlp_bias = false;
    } else {
      // Qwen2 has q/k/v biases whatever attention_bias says (Qwen2Config has no such field): leave it out. Full
      // attention in every layer, with the window's size and layer count written too, as Qwen2.5's own configs do
      // (some loaders require both): a window as long as the context, from the last layer on, changes nothing.
      delete out.attention_bias;
      out.use_sliding_window = false;
      out.sliding_window = c.max_position_embeddings;
      out.max_window_layers = c.num_hidden_layers;
    }
  }
  if (c.rope_scaling?.type === 'llama3') {
    const { type, ...rest } = c.rope_scaling; // Llama 3.1's configs spell it rope_type
    out.rope_scaling = { ...rest, rope_type: type };
  }
  out.torch_dtype = torchDtype ?? out.torch_dtype ?? 'float32';
  return out;
}

/** Head dims of attention: q/k width and v width per head. */
export function headDims(c: ModelConfig): { qk: number; v: number; rope: number } {
  if (isDeepseek(c)) return { qk: c.qk_nope_head_dim + c.qk_rope_head_dim, v: c.v_head_dim, rope: c.qk_rope_head_dim };
  return { qk: c.head_dim, v: c.head_dim, rope: c.head_dim };
}
