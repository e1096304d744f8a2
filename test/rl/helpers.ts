/** A toy RL setup for tests: a character codec, a tiny model over it, a one-problem source and an "emit x" reward. */
import { parseConfig, createModel, type CausalLM } from '../../src/models/index.js';
import { CharCodec } from '../../src/infer/codec.js';
import type { ProblemSource } from '../../src/rl/problems.js';
import type { RewardFn } from '../../src/rl/rewards.js';
import { resolveGrpoConfig } from '../../src/rl/config.js';
import { runGrpo, type GrpoResult } from '../../src/rl/trainer.js';

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

/**
 * A short GRPO run of the dense toy model on "emit x" in `outDir` (2 steps of 2 problems x 2 samples, a checkpoint
 * every step); `over` changes the configuration.
 */
export function toyGrpoRun(
  outDir: string,
  over: Record<string, unknown> = {},
  resume = false,
  log: (line: string) => void = () => {},
): GrpoResult {
  const config = resolveGrpoConfig({
    steps: 2,
    groupSize: 2,
    promptsPerStep: 2,
    maxTokens: 4,
    lr: 3e-2,
    beta: 0,
    template: '{prompt}:',
    stop: [],
    rewards: { x: 1 },
    sanityPrompts: 0,
    checkpointEvery: 1,
    ...over,
  });
  return runGrpo({
    outDir,
    policy: toyModel('dense'),
    codec: toyCodec,
    source: toySource,
    config,
    userRewards: { x: emitX },
    resume,
    log,
  });
}
