/** A toy RL setup for tests: a character codec, a tiny model over it, a one-problem source and an "emit x" reward. */
import { parseConfig, createModel, type CausalLM } from '../../src/models/index.js';
import { CharCodec } from '../../src/infer/codec.js';
import type { ProblemSource } from '../../src/rl/problems.js';
import type { RewardFn } from '../../src/rl/rewards.js';

export const toyCodec = new CharCodec('abcdefghijklmnopqrstuvwxyz ?:');

export function toyModel(kind: 'dense' | 'deepseek', seed = 1): CausalLM {
  const V = toyCodec.vocabSize;
  const cfg =
    kind === 'dense'
      ? parseConfig({
          model_type: 'qwen2',
          vocab_size: V,
          hidden_size: 32,
          intermediate_size: 64,
          num_hidden_layers: 2,
          num_attention_heads: 4,
          num_key_value_heads: 2,
        }).config
      : parseConfig({
          model_type: 'deepseek_v3',
          vocab_size: V,
          hidden_size: 32,
          intermediate_size: 64,
          moe_intermediate_size: 16,
          num_hidden_layers: 2,
          num_attention_heads: 2,
          n_routed_experts: 4,
          n_group: 2,
          topk_group: 1,
          num_experts_per_tok: 2,
          first_k_dense_replace: 1,
          q_lora_rank: null,
          kv_lora_rank: 16,
          qk_nope_head_dim: 8,
          qk_rope_head_dim: 4,
          v_head_dim: 8,
          num_nextn_predict_layers: 0,
          max_position_embeddings: 128,
        }).config;
  return createModel(cfg, { seed, initStd: 0.02 });
}

/** Problem i asks "what i" (a few different prompts); the answer is always "x". */
export const toySource: ProblemSource = {
  name: 'toy',
  size: Infinity,
  at: (i) => ({ id: `q${i % 3}`, question: `what ${'abc'[i % 3]}`, answer: 'x', check: (a) => a === 'x' }),
};

/** Share of the response's characters that are 'x'. */
export const emitX: RewardFn = (x) => [...x.response].filter((c) => c === 'x').length / Math.max(1, x.response.length);
