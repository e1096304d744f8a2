/**
 * Tiny models of every family llama.cpp runs, and tokenizers trained here, for the GGUF tests (gguf_model.test.ts and
 * the llama.cpp interop test). Weights are normal(0, 0.1) with the output head scaled by 5, so logits spread over
 * about 25 units and greedy choices are clear; RMSNorm weights and the router's score-correction bias are set to
 * non-trivial values so that exporting them wrongly shows.
 */
import { R1_CHAT_TEMPLATE, Tokenizer, createModel, parseConfig, type CausalLM } from '../../src/index.js';
import { exportStateDict } from '../../src/io/hf.js';
import type { GgufFile } from '../../src/io/gguf.js';
import { ggufToHfTensors } from '../../src/io/gguf_model.js';

/** Vocabulary of every fixture model: the tokenizers have 400 ids, the rest are llama.cpp `[PADn]` tokens. */
export const VOCAB = 416;

/** A corpus with words, digits, punctuation, accents, CJK and the R1 tags, so the merges cover all of them. */
export const CORPUS: string[] = Array.from(
  { length: 200 },
  (_, i) =>
    `The cat ${i} sat on the mat ${i * 7}. What is ${i} + ${i * 3}? <think>${i} + ${i * 3} = ${i * 4}</think> ` +
    `naïve café 日本語 ${i % 3 ? 'lower lowest' : 'newer newest'}\n`,
);

export type PreTokenizerName = 'deepseek-v3' | 'qwen2' | 'r1ts';

export async function trainTokenizer(pre: PreTokenizerName): Promise<Tokenizer> {
  return Tokenizer.train(CORPUS, { vocabSize: 400, preTokenizer: pre, chatTemplate: R1_CHAT_TEMPLATE });
}

const yarn = (factor: number, orig: number, extra: Record<string, number> = {}) => ({
  type: 'yarn',
  factor,
  original_max_position_embeddings: orig,
  beta_fast: 32,
  beta_slow: 1,
  ...extra,
});

/** One fixture per llama.cpp layout, each exercising different settings. */
export const FAMILIES: { name: string; pre: PreTokenizerName; config: Record<string, unknown> }[] = [
  {
    // DeepSeek-V3: MLA with q_lora, sigmoid routing in 4 groups (2 kept), score-correction bias, a dense first layer,
    // an MTP layer (not exported), YaRN as V3 (mscale = mscale_all_dim = 1).
    name: 'deepseek_v3',
    pre: 'deepseek-v3',
    config: {
      model_type: 'deepseek_v3',
      vocab_size: VOCAB,
      hidden_size: 64,
      intermediate_size: 96,
      moe_intermediate_size: 32,
      num_hidden_layers: 3,
      num_nextn_predict_layers: 1,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      n_shared_experts: 1,
      n_routed_experts: 8,
      routed_scaling_factor: 2.5,
      kv_lora_rank: 32,
      q_lora_rank: 32,
      qk_rope_head_dim: 8,
      v_head_dim: 16,
      qk_nope_head_dim: 16,
      topk_method: 'noaux_tc',
      n_group: 4,
      topk_group: 2,
      num_experts_per_tok: 2,
      first_k_dense_replace: 1,
      norm_topk_prob: true,
      scoring_func: 'sigmoid',
      max_position_embeddings: 64,
      rope_theta: 10000,
      rope_interleave: true,
      rope_scaling: yarn(4, 16, { mscale: 1, mscale_all_dim: 1 }),
    },
  },
  {
    // DeepSeek-V2-Lite-like: no q_lora, softmax routing without groups or renormalisation, two shared experts, all
    // layers MoE, tied embeddings, half-split RoPE (rope_interleave false), YaRN with mscale != mscale_all_dim, and the
    // r1ts pre-tokenizer (single digits), exported as deepseek-v3.
    name: 'deepseek_v2',
    pre: 'r1ts',
    config: {
      model_type: 'deepseek_v2',
      vocab_size: VOCAB,
      hidden_size: 64,
      intermediate_size: 96,
      moe_intermediate_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      n_shared_experts: 2,
      n_routed_experts: 6,
      routed_scaling_factor: 1.5,
      kv_lora_rank: 32,
      q_lora_rank: null,
      qk_rope_head_dim: 8,
      v_head_dim: 16,
      qk_nope_head_dim: 16,
      topk_method: 'greedy',
      n_group: 1,
      topk_group: 1,
      num_experts_per_tok: 2,
      first_k_dense_replace: 0,
      norm_topk_prob: false,
      scoring_func: 'softmax',
      max_position_embeddings: 64,
      rope_interleave: false,
      tie_word_embeddings: true,
      rope_scaling: yarn(4, 16, { mscale: 0.9, mscale_all_dim: 0.75 }),
    },
  },
  {
    // Qwen2: grouped-query attention (4 heads, 2 KV heads), q/k/v biases, the qwen2 pre-tokenizer.
    name: 'qwen2',
    pre: 'qwen2',
    config: {
      model_type: 'qwen2',
      vocab_size: VOCAB,
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 64,
      rope_theta: 10000,
    },
  },
  {
    // Llama: one KV head, head_dim 24 != hidden / heads, attention biases (permuted with q/k), tied embeddings,
    // rope_theta 500000, YaRN (dense: the cos/sin factor only).
    name: 'llama',
    pre: 'deepseek-v3',
    config: {
      model_type: 'llama',
      vocab_size: VOCAB,
      hidden_size: 64,
      intermediate_size: 96,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 1,
      head_dim: 24,
      attention_bias: true,
      tie_word_embeddings: true,
      max_position_embeddings: 64,
      rope_theta: 500000,
      rope_scaling: yarn(2, 32),
    },
  },
];

/** The fixture model of a family (deterministic for a seed). */
export function buildModel(config: Record<string, unknown>, seed = 3): CausalLM {
  const model = createModel(parseConfig(config).config, { initStd: 0.1, seed });
  const tied = model.config.tie_word_embeddings;
  for (const [name, t] of model.stateDict()) {
    const d = t.data;
    if (name === 'head.weight' || (tied && name === 'embed.weight')) for (let i = 0; i < d.length; i++) d[i] *= 5;
    if (name.endsWith('gate.bias')) for (let i = 0; i < d.length; i++) d[i] = 0.3 * Math.sin(1.7 * i + 1);
    if (name.endsWith('norm.weight')) for (let i = 0; i < d.length; i++) d[i] = 1 + 0.2 * Math.cos(i + name.length);
  }
  model.eval();
  return model;
}

/** A copy of `model` holding exactly the weights a GGUF file of it stores (decoded from f16/bf16/q8_0). */
export function modelFromGguf(model: CausalLM, g: GgufFile): CausalLM {
  const copy = createModel(model.config, { seed: 0 });
  copy.loadStateDict(model.stateDict());
  copy.eval();
  const live = exportStateDict(copy);
  for (const [name, { data }] of ggufToHfTensors(g, model.config)) {
    const t = live.get(name);
    if (!t) throw new Error(`no model tensor ${name}`);
    if (t.size !== data.length) throw new Error(`${name}: ${data.length} values for ${t.size}`);
    t.data.set(data);
  }
  return copy;
}
