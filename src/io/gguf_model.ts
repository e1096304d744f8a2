/**
 * llama.cpp's layouts of r1ts models: which GGUF architecture a model becomes, its metadata keys, tensor names,
 * shapes, storage types and the weight transforms llama.cpp's converter applies (ggml-org/llama.cpp
 * `convert_hf_to_gguf.py` / `conversion/{deepseek,qwen,llama}.py`, loaders in `src/models/{deepseek2,qwen2,llama}.cpp`,
 * the release node-llama-cpp 3.21.1 bundles).
 *
 * - deepseek_v3 / deepseek_v2 -> `deepseek2`: MLA with `kv_b_proj` split into `attn_k_b` (transposed per head) and
 *   `attn_v_b`, MQA-shaped attention keys (head_count_kv 1, key_length kv_lora_rank + rope), experts stacked into
 *   `ffn_{gate,up,down}_exps`, the score-correction bias as `exp_probs_b.bias`, expert groups, gating function and
 *   routed scaling as metadata. MTP layers are not exported (llama.cpp's converter drops them for DeepSeek; its
 *   deepseek2 loader reads MTP only for GLM-style checkpoints). `rope_interleave: false` (half-split RoPE pairs) is
 *   exported by permuting the RoPE rows of the q and kv_a projections into llama.cpp's interleaved pairs, which leaves
 *   every attention score unchanged.
 * - qwen2 -> `qwen2` (half-split RoPE, as r1ts); llama -> `llama`, with q/k rows permuted as llama.cpp's converter
 *   does, because llama.cpp's llama uses interleaved RoPE pairs.
 * - YaRN: llama.cpp reads the factor and original context; its attention factors are matched exactly through
 *   `rope.scaling.attn_factor` and (deepseek2) `rope.scaling.yarn_log_multiplier` (derivation at `yarnKeys`).
 *
 * Settings llama.cpp cannot represent make `checkLlamaCppSupport` throw one line naming the setting. Storage types
 * follow the converter: 1-D tensors, norms, the router (`ffn_gate_inp`) and biases stay F32; other weights take the
 * requested dtype, and Q8_0 falls back to F16 for rows that are not whole 32-value blocks.
 *
 * `ggufToHfTensors` reads such a file back under Hugging Face names with every transform undone (round-trip tests, and
 * running r1ts on exactly the weights a quantized file stores).
 *
 * What it is not: the GGUF file format (./gguf.ts) or the tokenizer metadata (src/data/gguf_vocab.ts builds the
 * `GgufVocab` this file writes). Weights are read from the live float32 model; loading released sizes lazily is not
 * here.
 */
import { type DeepseekConfig, type DenseConfig, type ModelConfig, isDeepseek } from '../models/config.js';
import type { CausalLM } from '../models/causal_lm.js';
import { ropeTables } from '../models/rope.js';
import type { Tensor } from '../tensor/tensor.js';
import { BF16, decodeFloatArray } from '../tensor/formats.js';
import { exportStateDict } from './hf.js';
import {
  type GgmlType,
  type GgufFile,
  type GgufMetadata,
  type GgufTensor,
  Q8_0_BLOCK,
  gguf,
  ggufTensorData,
} from './gguf.js';

/** Storage of the weight matrices (`--dtype`); 1-D tensors, norms and the router stay f32 in every case. */
export type GgufDtype = 'f32' | 'f16' | 'bf16' | 'q8_0';
export const GGUF_DTYPES: readonly GgufDtype[] = ['f32', 'f16', 'bf16', 'q8_0'];

const DTYPE_TYPES: Record<GgufDtype, GgmlType> = { f32: 'F32', f16: 'F16', bf16: 'BF16', q8_0: 'Q8_0' };
/** llama.cpp's `llama_ftype` of each dtype (general.file_type). */
const FILE_TYPES: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7, bf16: 32 };
/** llama.cpp's `llama_expert_gating_func_type`. */
const GATING_FUNC = { softmax: 1, sigmoid: 2 } as const;

/** The tokenizer as llama.cpp's `gpt2` (byte-level BPE) vocabulary reads it; src/data/gguf_vocab.ts builds one. */
export interface GgufVocab {
  /** tokenizer.ggml.pre: llama.cpp's name of the pre-tokenizer (`deepseek-v3`, `qwen2`, `gpt-2`). */
  readonly pre: string;
  /** One string per id, 0 .. vocab_size - 1 (byte-level strings; added tokens as written; `[PADn]` for gaps). */
  readonly tokens: readonly string[];
  /** llama.cpp token types per id: 1 normal, 3 control, 4 user-defined, 5 unused. */
  readonly tokenTypes: readonly number[];
  /** BPE merges "a b", highest priority first. */
  readonly merges: readonly string[];
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | null;
}

export interface GgufExportOptions {
  /** Storage of the weight matrices (default f32). */
  dtype?: GgufDtype;
  /** The tokenizer metadata (llama.cpp needs it to run the model). */
  vocab: GgufVocab;
  /** general.name (default: the architecture). */
  name?: string;
}

/** What `modelToGguf` produced: the file content plus what an export report should say. */
export interface GgufExport {
  readonly arch: 'deepseek2' | 'qwen2' | 'llama';
  readonly metadata: GgufMetadata;
  readonly tensors: GgufTensor[];
  /** Things a user should know (MTP layers left out, Q8_0 rows stored as F16). */
  readonly notes: string[];
}

/** The llama.cpp architecture of a config (an error names the model_type when there is none). */
export function llamaCppArch(config: ModelConfig): GgufExport['arch'] {
  switch (config.model_type) {
    case 'deepseek_v3':
    case 'deepseek_v2':
      return 'deepseek2';
    case 'qwen2':
      return 'qwen2';
    case 'llama':
      return 'llama';
    default:
      throw new Error(
        `gguf: model_type '${(config as ModelConfig).model_type}' has no llama.cpp architecture (deepseek_v3, deepseek_v2, qwen2, llama)`,
      );
  }
}

const refuse = (setting: string, why: string): never => {
  throw new Error(`gguf: ${setting}: ${why}`);
};

/**
 * Throws one line naming the first setting of `config` that llama.cpp cannot represent. Nothing is returned: a config
 * that passes exports exactly (up to the storage dtype).
 */
export function checkLlamaCppSupport(config: ModelConfig): void {
  const arch = llamaCppArch(config);
  if (config.num_hidden_layers > 512)
    refuse(`num_hidden_layers ${config.num_hidden_layers}`, "llama.cpp's limit is 512 layers");
  if (config.rope_scaling?.type === 'llama3')
    refuse('rope_scaling.rope_type "llama3"', 'r1ts writes no rope_freqs tensor for llama.cpp yet');
  if (config.rope_scaling?.type === 'yarn') {
    const s = config.rope_scaling;
    if (s.beta_fast !== 32)
      refuse(
        `rope_scaling.beta_fast ${s.beta_fast}`,
        `llama.cpp's ${arch} always uses YaRN beta_fast 32 (no GGUF key)`,
      );
    if (s.beta_slow !== 1)
      refuse(`rope_scaling.beta_slow ${s.beta_slow}`, `llama.cpp's ${arch} always uses YaRN beta_slow 1 (no GGUF key)`);
    if (s.factor < 1) refuse(`rope_scaling.factor ${s.factor}`, 'llama.cpp has no YaRN with a factor below 1');
  }
  if (isDeepseek(config)) checkDeepseek(config);
  else if (arch === 'qwen2' && config.num_attention_heads * config.head_dim !== config.hidden_size) {
    refuse(
      `head_dim ${config.head_dim}`,
      `llama.cpp's qwen2 needs num_attention_heads x head_dim (${config.num_attention_heads} x ${config.head_dim}) = hidden_size (${config.hidden_size})`,
    );
  }
}

function checkDeepseek(c: DeepseekConfig): void {
  if (c.attention_bias) refuse('attention_bias true', "llama.cpp's deepseek2 has no attention biases");
  if (c.qk_nope_head_dim < 1) refuse('qk_nope_head_dim 0', "llama.cpp's deepseek2 needs a non-RoPE part in every head");
  if (c.n_routed_experts > 1024) refuse(`n_routed_experts ${c.n_routed_experts}`, "llama.cpp's limit is 1024 experts");
  if (c.first_k_dense_replace < c.num_hidden_layers && c.n_shared_experts < 1)
    refuse('n_shared_experts 0', "llama.cpp's deepseek2 needs at least one shared expert in its MoE layers");
  if (
    c.topk_method === 'group_limited_greedy' &&
    c.n_group > 1 &&
    c.topk_group < c.n_group &&
    c.first_k_dense_replace < c.num_hidden_layers
  ) {
    refuse(
      "topk_method 'group_limited_greedy'",
      "it ranks expert groups by their best expert (DeepSeek-V2); llama.cpp's deepseek2 ranks them by the sum of their top two (V3's noaux_tc)",
    );
  }
  if (c.q_lora_rank !== null && (c.num_hidden_layers === 26 || c.num_hidden_layers === 27)) {
    refuse(
      `q_lora_rank ${c.q_lora_rank} with num_hidden_layers ${c.num_hidden_layers}`,
      "llama.cpp's deepseek2 takes every 26- or 27-layer model for V2-Lite and ignores q_lora_rank",
    );
  }
}

/**
 * YaRN metadata that makes llama.cpp's attention factors equal r1ts's (src/models/rope.ts). With f the factor and
 * M(m) = 1 + 0.1 m ln f, r1ts multiplies cos/sin by C and the softmax scale by K (C = M(mscale)/M(mscale_all_dim) and
 * K = M(mscale_all_dim)^2, or C = M(1) and K = 1 when mscale_all_dim is 0; dense models use C only). llama.cpp
 * (`llama_context` constructor, `ggml_rope_ext`, deepseek2's graph) multiplies cos/sin by A (rope.scaling.attn_factor)
 * and, for deepseek2 with a yarn_log_multiplier L != 0, the softmax scale by (A M(L))^2; with L = 0 (and always for
 * llama/qwen2) cos/sin by A M(1) and deepseek2's softmax scale by (A M(1))^2. So: deepseek2 takes A = C and
 * M(L) = sqrt(K)/C (stored as 0.1 L, the converter's convention: V3's mscale = mscale_all_dim = 1 gives A = 1,
 * L = 1), or L = 0 and A = C/M(1) when sqrt(K) = C; llama/qwen2 take A = C/M(1). Every YaRN mscale pair is
 * therefore representable; only beta_fast / beta_slow other than 32 / 1 are not (llama.cpp reads no key for them).
 */
function yarnKeys(c: ModelConfig, arch: GgufExport['arch']): { attnFactor: number; logMul: number | null } {
  const s = c.rope_scaling!;
  const dim = isDeepseek(c) ? c.qk_rope_head_dim : c.head_dim;
  const t = ropeTables(dim, c.rope_theta, s);
  const lnf = Math.log(s.factor);
  const m1 = 1 + 0.1 * lnf;
  const C = t.attentionFactor;
  if (arch !== 'deepseek2') return { attnFactor: C / m1, logMul: null };
  const L = (Math.sqrt(t.scaleMultiplier) / C - 1) / (0.1 * lnf);
  // L = 0 exactly means sqrt(K) = C: then llama.cpp's L = 0 branch with A = C / M(1) is the same model.
  return Math.abs(L) > 1e-6 ? { attnFactor: C, logMul: L } : { attnFactor: C / m1, logMul: null };
}

// ---- metadata ----------------------------------------------------------------------------------------------------

function hparams(config: ModelConfig, arch: GgufExport['arch']): GgufMetadata {
  const m: GgufMetadata = new Map();
  const k = (key: string): string => `${arch}.${key}`;
  m.set(k('block_count'), gguf.uint32(config.num_hidden_layers));
  m.set(k('context_length'), gguf.uint32(config.max_position_embeddings));
  m.set(k('embedding_length'), gguf.uint32(config.hidden_size));
  m.set(k('feed_forward_length'), gguf.uint32(config.intermediate_size));
  m.set(k('attention.head_count'), gguf.uint32(config.num_attention_heads));
  m.set(k('attention.head_count_kv'), gguf.uint32(isDeepseek(config) ? 1 : config.num_key_value_heads));
  m.set(k('rope.freq_base'), gguf.float32(config.rope_theta));
  m.set(k('attention.layer_norm_rms_epsilon'), gguf.float32(config.rms_norm_eps));
  m.set(k('vocab_size'), gguf.uint32(config.vocab_size));
  if (isDeepseek(config)) {
    const c = config;
    const moe = c.first_k_dense_replace < c.num_hidden_layers;
    m.set(k('leading_dense_block_count'), gguf.uint32(c.first_k_dense_replace));
    // q_lora_rank 0 tells deepseek2's loader to expect attn_q (V2-Lite layout) whatever the layer count.
    m.set(k('attention.q_lora_rank'), gguf.uint32(c.q_lora_rank ?? 0));
    m.set(k('attention.kv_lora_rank'), gguf.uint32(c.kv_lora_rank));
    // MLA as MQA over the latent: keys [c_kv ; k_pe], values c_kv; the *_mla lengths are the decompressed heads.
    m.set(k('attention.key_length'), gguf.uint32(c.kv_lora_rank + c.qk_rope_head_dim));
    m.set(k('attention.value_length'), gguf.uint32(c.kv_lora_rank));
    m.set(k('attention.key_length_mla'), gguf.uint32(c.qk_nope_head_dim + c.qk_rope_head_dim));
    m.set(k('attention.value_length_mla'), gguf.uint32(c.v_head_dim));
    m.set(k('expert_feed_forward_length'), gguf.uint32(c.moe_intermediate_size));
    m.set(k('expert_count'), gguf.uint32(c.n_routed_experts));
    m.set(k('expert_used_count'), gguf.uint32(c.num_experts_per_tok));
    m.set(k('expert_shared_count'), gguf.uint32(c.n_shared_experts));
    m.set(k('expert_weights_scale'), gguf.float32(c.routed_scaling_factor));
    if (c.norm_topk_prob) m.set(k('expert_weights_norm'), gguf.bool(true));
    m.set(k('expert_gating_func'), gguf.uint32(GATING_FUNC[c.scoring_func]));
    // Groups change the routing only when some are dropped; `greedy` ignores them (as r1ts's gate does).
    if (moe && c.topk_method !== 'greedy' && c.n_group > 1 && c.topk_group < c.n_group) {
      m.set(k('expert_group_count'), gguf.uint32(c.n_group));
      m.set(k('expert_group_used_count'), gguf.uint32(c.topk_group));
    }
    m.set(k('rope.dimension_count'), gguf.uint32(c.qk_rope_head_dim));
  } else {
    m.set(k('rope.dimension_count'), gguf.uint32(config.head_dim));
    m.set(k('attention.key_length'), gguf.uint32(config.head_dim));
    m.set(k('attention.value_length'), gguf.uint32(config.head_dim));
  }
  const s = config.rope_scaling;
  if (s?.type === 'yarn' && s.factor > 1) {
    const { attnFactor, logMul } = yarnKeys(config, arch);
    m.set(k('rope.scaling.type'), gguf.string('yarn'));
    m.set(k('rope.scaling.factor'), gguf.float32(s.factor));
    m.set(k('rope.scaling.original_context_length'), gguf.uint32(s.original_max_position_embeddings));
    if (logMul !== null) m.set(k('rope.scaling.yarn_log_multiplier'), gguf.float32(0.1 * logMul));
    if (Math.abs(attnFactor - 1) > 1e-7) m.set(k('rope.scaling.attn_factor'), gguf.float32(attnFactor));
  }
  return m;
}

function vocabMetadata(v: GgufVocab, vocabSize: number): GgufMetadata {
  if (v.tokens.length !== vocabSize || v.tokenTypes.length !== vocabSize)
    throw new Error(
      `gguf: the vocabulary has ${v.tokens.length} tokens (${v.tokenTypes.length} types) but vocab_size is ${vocabSize}`,
    );
  const m: GgufMetadata = new Map();
  m.set('tokenizer.ggml.model', gguf.string('gpt2'));
  m.set('tokenizer.ggml.pre', gguf.string(v.pre));
  m.set('tokenizer.ggml.tokens', gguf.array('string', v.tokens));
  m.set('tokenizer.ggml.token_type', gguf.array('int32', v.tokenTypes));
  m.set('tokenizer.ggml.merges', gguf.array('string', v.merges));
  if (v.bosId !== null) m.set('tokenizer.ggml.bos_token_id', gguf.uint32(v.bosId));
  if (v.eosId !== null) m.set('tokenizer.ggml.eos_token_id', gguf.uint32(v.eosId));
  if (v.padId !== null) m.set('tokenizer.ggml.padding_token_id', gguf.uint32(v.padId));
  m.set('tokenizer.ggml.add_bos_token', gguf.bool(v.addBos));
  m.set('tokenizer.ggml.add_eos_token', gguf.bool(v.addEos));
  if (v.chatTemplate) m.set('tokenizer.chat_template', gguf.string(v.chatTemplate));
  return m;
}

// ---- tensors -----------------------------------------------------------------------------------------------------

/** HF sub-module name inside a decoder layer -> llama.cpp tensor name (gguf-py `TENSOR_NAMES` / tensor_mapping.py). */
const LAYER_NAMES: [string, string][] = [
  ['input_layernorm', 'attn_norm'],
  ['post_attention_layernorm', 'ffn_norm'],
  ['self_attn.q_proj', 'attn_q'],
  ['self_attn.k_proj', 'attn_k'],
  ['self_attn.v_proj', 'attn_v'],
  ['self_attn.o_proj', 'attn_output'],
  ['self_attn.q_a_proj', 'attn_q_a'],
  ['self_attn.q_a_layernorm', 'attn_q_a_norm'],
  ['self_attn.q_b_proj', 'attn_q_b'],
  ['self_attn.kv_a_proj_with_mqa', 'attn_kv_a_mqa'],
  ['self_attn.kv_a_layernorm', 'attn_kv_a_norm'],
  ['mlp.shared_experts.gate_proj', 'ffn_gate_shexp'],
  ['mlp.shared_experts.up_proj', 'ffn_up_shexp'],
  ['mlp.shared_experts.down_proj', 'ffn_down_shexp'],
  ['mlp.gate_proj', 'ffn_gate'],
  ['mlp.up_proj', 'ffn_up'],
  ['mlp.down_proj', 'ffn_down'],
];
const TOP_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** A tensor before its storage type is chosen: llama.cpp name, row-major shape, values made on demand. */
interface Planned {
  name: string;
  shape: number[];
  data: () => Float32Array;
}

/** A tensor's float32 values: its own buffer, or bfloat16 weights decoded (exactly) one tensor at a time. */
const values = (t: Tensor): Float32Array => {
  if (t.dtype === 'bfloat16') return decodeFloatArray(t.data as Uint16Array, BF16);
  if (t.dtype !== 'float32') throw new Error(`gguf: expected a float32 tensor, got ${t.dtype}`);
  return t.data as Float32Array;
};

/**
 * Rows of a (rows, cols) matrix reordered so that, within each block of `n` rows starting at `start + j * stride`
 * (j = 0 .. count-1), the half-split RoPE pairs (i, i + n/2) become interleaved pairs (2i, 2i + 1): new row 2i + h
 * takes old row h * n/2 + i (llama.cpp's `LlamaModel.permute`, per block). `inverse` undoes it.
 */
export function interleaveRopeRows(
  w: Float32Array,
  cols: number,
  blocks: { start: number; stride: number; count: number; n: number },
  inverse = false,
): Float32Array {
  const out = Float32Array.from(w);
  const half = blocks.n / 2;
  for (let j = 0; j < blocks.count; j++) {
    const base = blocks.start + j * blocks.stride;
    for (let i = 0; i < half; i++)
      for (let h = 0; h < 2; h++) {
        const interleaved = (base + 2 * i + h) * cols;
        const split = (base + h * half + i) * cols;
        const [to, from] = inverse ? [split, interleaved] : [interleaved, split];
        out.set(w.subarray(from, from + cols), to);
      }
  }
  return out;
}

/** The tensors of `model` under llama.cpp's names and shapes, with the converter's transforms. */
function planTensors(model: CausalLM, arch: GgufExport['arch'], notes: string[]): Planned[] {
  const config = model.config;
  const hf = exportStateDict(model);
  const out: Planned[] = [];
  const mtpLayers = new Set<number>();
  const stacked = new Set<number>();
  for (const [name, t] of hf) {
    const top = TOP_NAMES[name];
    if (top) {
      out.push({ name: top, shape: [...t.shape], data: () => values(t) });
      continue;
    }
    const m = name.match(/^model\.layers\.(\d+)\.(.+)$/);
    if (!m) throw new Error(`gguf: no llama.cpp name for tensor ${name}`);
    const L = Number(m[1]);
    const rest = m[2];
    if (L >= config.num_hidden_layers) {
      mtpLayers.add(L);
      continue;
    }
    const blk = `blk.${L}`;
    const ex = rest.match(/^mlp\.experts\.\d+\.(gate|up|down)_proj\.weight$/);
    if (ex) {
      if (stacked.has(L)) continue;
      stacked.add(L);
      out.push(...stackExperts(hf, config as DeepseekConfig, L));
      continue;
    }
    if (rest === 'mlp.gate.weight') {
      out.push({ name: `${blk}.ffn_gate_inp.weight`, shape: [...t.shape], data: () => values(t) });
      continue;
    }
    if (rest === 'mlp.gate.e_score_correction_bias') {
      out.push({ name: `${blk}.exp_probs_b.bias`, shape: [...t.shape], data: () => values(t) });
      continue;
    }
    if (rest === 'self_attn.kv_b_proj.weight') {
      out.push(...splitKvB(t, config as DeepseekConfig, blk));
      continue;
    }
    const row = LAYER_NAMES.find(([h]) => rest.startsWith(`${h}.`));
    if (!row) throw new Error(`gguf: no llama.cpp name for tensor ${name}`);
    const suffix = rest.slice(row[0].length); // .weight / .bias
    const gname = `${blk}.${row[1]}${suffix}`;
    out.push({ name: gname, shape: [...t.shape], data: ropeTransform(t, row[1], config, arch) });
  }
  if (mtpLayers.size)
    notes.push(
      `MTP layer(s) ${[...mtpLayers].sort((a, b) => a - b).join(', ')} not exported (llama.cpp's DeepSeek converter drops them; generation does not use them)`,
    );
  return out;
}

/** Where llama.cpp's RoPE pair order differs from r1ts's in tensor `gname` (a llama.cpp name without blk./suffix). */
function ropeBlocks(
  gname: string,
  config: ModelConfig,
  arch: GgufExport['arch'],
): { start: number; stride: number; count: number; n: number } | null {
  if (arch === 'llama' && (gname === 'attn_q' || gname === 'attn_k')) {
    const c = config as DenseConfig;
    const heads = gname === 'attn_q' ? c.num_attention_heads : c.num_key_value_heads;
    return { start: 0, stride: c.head_dim, count: heads, n: c.head_dim };
  }
  if (arch === 'deepseek2' && !(config as DeepseekConfig).rope_interleave) {
    const c = config as DeepseekConfig;
    const R = c.qk_rope_head_dim;
    if (gname === 'attn_q' || gname === 'attn_q_b')
      return { start: c.qk_nope_head_dim, stride: c.qk_nope_head_dim + R, count: c.num_attention_heads, n: R };
    if (gname === 'attn_kv_a_mqa') return { start: c.kv_lora_rank, stride: 0, count: 1, n: R };
  }
  return null;
}

/** The values of a q/k projection (or its bias) in llama.cpp's RoPE pair order; other tensors as they are. */
function ropeTransform(t: Tensor, gname: string, config: ModelConfig, arch: GgufExport['arch']): () => Float32Array {
  const blocks = ropeBlocks(gname, config, arch);
  const cols = t.ndim === 2 ? t.shape[1] : 1;
  return blocks ? () => interleaveRopeRows(values(t), cols, blocks) : () => values(t);
}

/** kv_b_proj (H (nope + v), kv_lora) -> attn_k_b (H, kv_lora, nope) (transposed per head) and attn_v_b (H, v, kv_lora). */
function splitKvB(t: Tensor, c: DeepseekConfig, blk: string): Planned[] {
  const H = c.num_attention_heads;
  const nope = c.qk_nope_head_dim;
  const v = c.v_head_dim;
  const r = c.kv_lora_rank;
  const w = () => values(t);
  return [
    {
      name: `${blk}.attn_k_b.weight`,
      shape: [H, r, nope],
      data: () => {
        const x = w();
        const out = new Float32Array(H * r * nope);
        for (let h = 0; h < H; h++)
          for (let i = 0; i < nope; i++)
            for (let j = 0; j < r; j++) out[(h * r + j) * nope + i] = x[(h * (nope + v) + i) * r + j];
        return out;
      },
    },
    {
      name: `${blk}.attn_v_b.weight`,
      shape: [H, v, r],
      data: () => {
        const x = w();
        const out = new Float32Array(H * v * r);
        for (let h = 0; h < H; h++)
          out.set(x.subarray((h * (nope + v) + nope) * r, (h + 1) * (nope + v) * r), h * v * r);
        return out;
      },
    },
  ];
}

/** The routed experts of layer L stacked into (E, out, in) tensors, as llama.cpp's `ffn_*_exps`. */
function stackExperts(hf: Map<string, Tensor>, c: DeepseekConfig, L: number): Planned[] {
  const E = c.n_routed_experts;
  return (['gate', 'up', 'down'] as const).map((p) => {
    const parts = Array.from({ length: E }, (_, e) => {
      const name = `model.layers.${L}.mlp.experts.${e}.${p}_proj.weight`;
      const t = hf.get(name);
      if (!t) throw new Error(`gguf: the model has no tensor ${name}`);
      return t;
    });
    const [rows, cols] = parts[0].shape;
    return {
      name: `blk.${L}.ffn_${p}_exps.weight`,
      shape: [E, rows, cols],
      data: () => {
        const out = new Float32Array(E * rows * cols);
        parts.forEach((t, e) => out.set(values(t), e * rows * cols));
        return out;
      },
    };
  });
}

/** The converter's storage rule (`ModelBase.prepare_tensors`). */
function storageType(p: Planned, dtype: GgufDtype): GgmlType {
  if (p.shape.length <= 1 || p.name.endsWith('_norm.weight') || !p.name.endsWith('.weight')) return 'F32';
  if (p.name.endsWith('.ffn_gate_inp.weight')) return 'F32';
  const type = DTYPE_TYPES[dtype];
  if (type === 'Q8_0' && p.shape[p.shape.length - 1] % Q8_0_BLOCK !== 0) return 'F16';
  return type;
}

/**
 * The GGUF content of `model` in llama.cpp's layout (throws the refusal of `checkLlamaCppSupport` first). Tensor
 * values are read from the live model when the file is written.
 */
export function modelToGguf(model: CausalLM, opts: GgufExportOptions): GgufExport {
  const config = model.config;
  checkLlamaCppSupport(config);
  const arch = llamaCppArch(config);
  const dtype = opts.dtype ?? 'f32';
  if (!GGUF_DTYPES.includes(dtype)) throw new Error(`gguf: dtype '${dtype}' is not one of ${GGUF_DTYPES.join(', ')}`);
  const notes: string[] = [];
  const metadata: GgufMetadata = new Map();
  metadata.set('general.architecture', gguf.string(arch));
  metadata.set('general.type', gguf.string('model'));
  metadata.set('general.name', gguf.string(opts.name ?? arch));
  for (const [k, v] of hparams(config, arch)) metadata.set(k, v);
  metadata.set('general.file_type', gguf.uint32(FILE_TYPES[dtype]));
  metadata.set('general.quantization_version', gguf.uint32(2));
  for (const [k, v] of vocabMetadata(opts.vocab, config.vocab_size)) metadata.set(k, v);
  const planned = planTensors(model, arch, notes);
  let fallback = 0;
  const tensors: GgufTensor[] = planned.map((p) => {
    const type = storageType(p, dtype);
    if (dtype === 'q8_0' && type === 'F16') fallback++;
    return { name: p.name, shape: p.shape, type, data: p.data };
  });
  if (fallback)
    notes.push(`${fallback} tensor(s) with rows that are not a multiple of 32 stored as f16 (Q8_0 needs whole blocks)`);
  return { arch, metadata, tensors, notes };
}

// ---- reading back ------------------------------------------------------------------------------------------------

/**
 * The Hugging Face-named float32 tensors of a GGUF file written by `modelToGguf` for `config`: every transform undone
 * (RoPE rows, kv_b split, expert stacks), values decoded from their storage type. Tensors the export leaves out (MTP
 * layers, a tied head) are absent. For round-trip tests and for running r1ts on exactly the weights llama.cpp runs.
 */
export function ggufToHfTensors(
  g: GgufFile,
  config: ModelConfig,
): Map<string, { shape: number[]; data: Float32Array }> {
  const arch = llamaCppArch(config);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const top = new Map(Object.entries(TOP_NAMES).map(([h, n]) => [n, h]));
  const kvB = new Map<number, { k?: Float32Array; v?: Float32Array }>();
  for (const info of g.tensors) {
    const data = ggufTensorData(g, info.name);
    const shape = [...info.shape];
    const hfTop = top.get(info.name);
    if (hfTop) {
      out.set(hfTop, { shape, data });
      continue;
    }
    const m = info.name.match(/^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/);
    if (!m) throw new Error(`gguf: no Hugging Face name for tensor ${info.name} (${g.file})`);
    const [, L, gname, suffix] = m;
    const pre = `model.layers.${L}`;
    const ex = gname.match(/^ffn_(gate|up|down)_exps$/);
    if (ex) {
      const [E, rows, cols] = shape;
      for (let e = 0; e < E; e++)
        out.set(`${pre}.mlp.experts.${e}.${ex[1]}_proj.weight`, {
          shape: [rows, cols],
          data: data.slice(e * rows * cols, (e + 1) * rows * cols),
        });
      continue;
    }
    if (gname === 'ffn_gate_inp') out.set(`${pre}.mlp.gate.weight`, { shape, data });
    else if (gname === 'exp_probs_b') out.set(`${pre}.mlp.gate.e_score_correction_bias`, { shape, data });
    else if (gname === 'attn_k_b' || gname === 'attn_v_b') {
      const e = kvB.get(Number(L)) ?? {};
      e[gname === 'attn_k_b' ? 'k' : 'v'] = data;
      kvB.set(Number(L), e);
    } else {
      const row = LAYER_NAMES.find(([, n]) => n === gname);
      if (!row) throw new Error(`gguf: no Hugging Face name for tensor ${info.name} (${g.file})`);
      const blocks = ropeBlocks(gname, config, arch);
      const cols = shape.length === 2 ? shape[1] : 1;
      out.set(`${pre}.${row[0]}.${suffix}`, {
        shape,
        data: blocks ? interleaveRopeRows(data, cols, blocks, true) : data,
      });
    }
  }
  for (const [L, { k, v }] of kvB) {
    const c = config as DeepseekConfig;
    const [H, nope, vd, r] = [c.num_attention_heads, c.qk_nope_head_dim, c.v_head_dim, c.kv_lora_rank];
    if (!k || !v) throw new Error(`gguf: layer ${L} has only one of attn_k_b / attn_v_b (${g.file})`);
    const w = new Float32Array(H * (nope + vd) * r);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < nope; i++)
        for (let j = 0; j < r; j++) w[(h * (nope + vd) + i) * r + j] = k[(h * r + j) * nope + i];
      w.set(v.subarray(h * vd * r, (h + 1) * vd * r), (h * (nope + vd) + nope) * r);
    }
    out.set(`model.layers.${L}.self_attn.kv_b_proj.weight`, { shape: [H * (nope + vd), r], data: w });
  }
  return out;
}
