/**
 * Named pre-training presets: a model (HF config fields, vocab_size filled from the tokenizer) plus run sizes.
 * `tiny` is the newcomer's run: a 4-layer DeepSeek-V3-style MoE (MLA with q_lora, 8 routed experts in 4 groups, a
 * shared expert, one MTP module) trained on the built-in reasoning corpus in about 10 minutes on 2 cores with 2
 * data-parallel workers (`r1ts zero` trains it for 2000 steps instead of 1500).
 * `small` is the same recipe, wider and longer.
 */
import type { CorpusOptions } from '../data/corpus.js';
import type { TrainConfig } from './trainer.js';
import { DEFAULT_TRAIN_CONFIG } from './trainer.js';

export interface Preset {
  description: string;
  /** HF config fields (vocab_size is set from the tokenizer). */
  model: Record<string, unknown>;
  train: TrainConfig;
  /** Tokenizer vocabulary size to train (special tokens included). */
  vocabSize: number;
  /** Built-in corpus documents to generate. */
  corpusDocs: number;
  /** The built-in corpus: tasks (weighted), difficulties, document kinds, prompt forms (n and seed come from the run). */
  corpus: Omit<CorpusOptions, 'n' | 'seed'>;
}

const tinyModel = {
  model_type: 'deepseek_v3',
  hidden_size: 96,
  intermediate_size: 256,
  moe_intermediate_size: 64,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  n_routed_experts: 8,
  n_shared_experts: 1,
  num_experts_per_tok: 2,
  n_group: 4,
  topk_group: 2,
  routed_scaling_factor: 2.5,
  first_k_dense_replace: 1,
  q_lora_rank: 48,
  kv_lora_rank: 32,
  qk_nope_head_dim: 16,
  qk_rope_head_dim: 8,
  v_head_dim: 16,
  num_nextn_predict_layers: 1,
  max_position_embeddings: 1024,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

export const PRESETS: Readonly<Record<string, Preset>> = {
  tiny: {
    description:
      '4-layer MoE (8 experts, MLA, MTP), ~0.8M params, 1500 steps of 2-3K tokens; about 10 minutes on 2 cores with 2 workers',
    model: tinyModel,
    vocabSize: 512,
    corpusDocs: 60000,
    // The main job's task (lineq) takes half of the task documents, at the difficulties RL and evaluation use; the
    // other tasks keep the base general. 60% of the worked documents use the short prompt `User: ... Assistant:`, so
    // more problems fit into the token budget. The model learns to copy the question's numbers only after 2-3M tokens
    // (validation loss drops steeply as induction forms, somewhere between steps 650 and 1250 in our runs). 30% of
    // the documents are arithmetic drill sheets (the calculations of the tasks' worked solutions, ~20 per sheet):
    // with them the base's held-out lineq pass@1 went from 17% to 34% (greedy 22% -> 47%), because a worked solution
    // holds only one or two calculations among ~100 tokens of boilerplate. Terse solutions (the problem restated, then
    // the answer) are as common as worked ones, so the base sometimes works a problem out and sometimes guesses:
    // R1-Zero's RL has a longer, more accurate way of answering to find (see `r1ts zero`).
    corpus: {
      tasks: ['lineq=6', 'add', 'mul', 'countdown', 'sort', 'modpow'],
      difficulty: 'lineq=1-2,add=1-3,mul=1-2,countdown=1,sort=1-2,modpow=1-2',
      templateShare: 0.4,
      mix: { worked: 0.4, terse: 0.4, partial: 0.05, text: 0.05, drill: 0.3 },
    },
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      steps: 1500,
      // a built-in corpus document (R1-Zero template, question, worked solution) is ~200 tokens: a row must hold one
      seqLen: 256,
      batchStart: 8,
      batchEnd: 12,
      // 12 = 2 x 6: one micro-batch per rank with 2 data-parallel workers (3 x 4 left one rank idle half the step)
      microBatch: 6,
      peakLr: 3e-3,
      warmupSteps: 30,
      evalEvery: 50,
      evalBatches: 4,
      checkpointEvery: 50,
    },
  },
  small: {
    description: '6-layer MoE (16 experts, MLA, MTP), ~5M params; an hour or more on 2 cores',
    model: {
      ...tinyModel,
      hidden_size: 192,
      intermediate_size: 512,
      moe_intermediate_size: 96,
      num_hidden_layers: 6,
      num_attention_heads: 6,
      num_key_value_heads: 6,
      n_routed_experts: 16,
      num_experts_per_tok: 4,
      q_lora_rank: 96,
      kv_lora_rank: 64,
      qk_nope_head_dim: 24,
      qk_rope_head_dim: 8,
      v_head_dim: 24,
    },
    vocabSize: 1024,
    corpusDocs: 60000,
    corpus: { tasks: ['mix'] },
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      steps: 2000,
      seqLen: 256,
      batchStart: 8,
      batchEnd: 16,
      microBatch: 8,
      peakLr: 2e-3,
      warmupSteps: 60,
      evalEvery: 100,
      evalBatches: 8,
      checkpointEvery: 100,
    },
  },
};

export function getPreset(name: string): Preset {
  const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!p) throw new Error(`unknown preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}
