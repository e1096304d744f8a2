import { parseConfig, type DeepseekConfig, type DenseConfig } from '../../src/models/index.js';

/** The config.json fields of `tinyDeepseek()` (raw, as a file holds them). */
export const TINY_DEEPSEEK_JSON: Readonly<Record<string, unknown>> = {
  model_type: 'deepseek_v3',
  vocab_size: 40,
  hidden_size: 24,
  intermediate_size: 40,
  moe_intermediate_size: 12,
  num_hidden_layers: 3,
  num_attention_heads: 3,
  n_routed_experts: 8,
  n_group: 2,
  topk_group: 1,
  num_experts_per_tok: 2,
  first_k_dense_replace: 1,
  q_lora_rank: 16,
  kv_lora_rank: 10,
  qk_nope_head_dim: 6,
  qk_rope_head_dim: 4,
  v_head_dim: 5,
  num_nextn_predict_layers: 1,
  max_position_embeddings: 128,
};

/** The config.json fields of `tinyDense()`. */
export const TINY_DENSE_JSON: Readonly<Record<string, unknown>> = {
  model_type: 'qwen2',
  vocab_size: 40,
  hidden_size: 24,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 6,
  num_key_value_heads: 2,
};

/** A tiny DeepSeek-V3 config: 3 layers (1 dense), 8 experts in 2 groups, q_lora on, MTP on. */
export function tinyDeepseek(overrides: Record<string, unknown> = {}): DeepseekConfig {
  return parseConfig({ ...TINY_DEEPSEEK_JSON, ...overrides }).config as DeepseekConfig;
}

export function tinyDense(overrides: Record<string, unknown> = {}): DenseConfig {
  return parseConfig({ ...TINY_DENSE_JSON, ...overrides }).config as DenseConfig;
}
