/**
 * Named pre-training presets: a model (HF config fields, vocab_size filled from the tokenizer) plus run sizes.
 * `tiny` is the newcomer's run: a 4-layer DeepSeek-V3-style MoE (MLA with q_lora, 8 routed experts in 4 groups, a
 * shared expert, one MTP module) trained on the built-in reasoning corpus in about 10 minutes on 2 cores with 2
 * data-parallel workers (`r1ts zero` trains it for 2000 steps instead of 1500).
 * `small` is the same recipe, wider and longer. `micro` is a 2-layer model of the same kind on a small corpus: a check
 * that the whole pipeline runs (seconds, not minutes; the documentation's tests use it), not a model that learns much.
 */
import type { CorpusOptions } from '../data/corpus.js';
import { parseConfig } from '../models/config.js';
import { countParams } from '../models/params.js';
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

// The main job's task (lineq) takes half of the task documents, at the difficulties RL and evaluation use; the other
// tasks keep the base general. 60% of the worked documents use the short prompt `User: ... Assistant:`, so more
// problems fit into the token budget. The model learns to copy the question's numbers only after 2-3M tokens
// (validation loss drops steeply as induction forms, somewhere between steps 650 and 1250 in our runs). 30% of the
// documents are arithmetic drill sheets (the calculations of the tasks' worked solutions, ~20 per sheet): with them
// the base's held-out lineq pass@1 went from 17% to 34% (greedy 22% -> 47%), because a worked solution holds only one
// or two calculations among ~100 tokens of boilerplate. Terse solutions (the problem restated, then the answer) are as
// common as worked ones, so the base sometimes works a problem out and sometimes guesses: R1-Zero's RL has a longer,
// more accurate way of answering to find (see `npx r1ts zero`).
const tinyCorpus: Preset['corpus'] = {
  tasks: ['lineq=6', 'add', 'mul', 'countdown', 'sort', 'modpow'],
  difficulty: 'lineq=1-2,add=1-3,mul=1-2,countdown=1,sort=1-2,modpow=1-2',
  templateShare: 0.4,
  mix: { worked: 0.4, terse: 0.4, partial: 0.05, text: 0.05, drill: 0.3 },
};

// `tiny-general`: the same documents in English and Spanish, plus 11% prose about the world the non-reasoning tasks ask
// about (countries, capitals and continents, chemical elements, planets, a bilingual glossary, who the model is:
// `facts` in src/data/corpus.ts). A base on `tiny`'s corpus has never seen a capital or a Spanish word, so SFT cannot
// teach it to answer a held-out fact or translate a held-out word, nor can a reward model judge such answers.
const tinyGeneralCorpus: Preset['corpus'] = {
  ...tinyCorpus,
  mix: { ...tinyCorpus.mix, facts: 0.15 },
  languages: { en: 0.5, es: 0.5 },
};

/**
 * "0.77M params + 0.21M MTP": the model's size as `r1ts params` and `pretrain` count it (SPEC 1.5: without the MTP
 * modules, whose unique parameters are listed apart), for a tokenizer of `vocabSize` tokens.
 */
function sizeOf(model: Record<string, unknown>, vocabSize: number): string {
  const p = countParams(parseConfig({ ...model, vocab_size: vocabSize }).config);
  const big = p.total >= 5e5; // one unit for both figures, chosen by the total
  const m = (n: number) => (big ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n / 1e3)}K`);
  return `${m(p.total)} params${p.mtp ? ` + ${m(p.mtp)} MTP` : ''}`;
}

const smallModel = {
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
};

const microModel = {
  ...tinyModel,
  hidden_size: 32,
  intermediate_size: 64,
  moe_intermediate_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  n_routed_experts: 4,
  n_group: 2,
  topk_group: 1,
  q_lora_rank: 16,
  kv_lora_rank: 16,
  qk_nope_head_dim: 8,
  qk_rope_head_dim: 8,
  v_head_dim: 8,
};

// The distillation students (R1 section 4.1 distils into pre-trained dense Qwen2.5 / Llama models): a 3-layer dense
// Qwen2-style model (grouped-query attention, q/k/v biases, tied embeddings), pre-trained on the teacher's corpus with
// the teacher's run sizes, at most a third of the `tiny` teacher's activated parameters per token (a test checks it).
const studentModel = {
  model_type: 'qwen2',
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 1024,
  rope_theta: 10000,
  tie_word_embeddings: true,
};

const studentLlamaModel = { ...studentModel, model_type: 'llama' };

const tinyTrain: TrainConfig = {
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
};

export const PRESETS: Readonly<Record<string, Preset>> = {
  tiny: {
    description: `4-layer MoE (8 experts, MLA, MTP), ${sizeOf(tinyModel, 512)}, 1500 steps of 2-3K tokens; about 10 minutes on 2 cores with 2 workers`,
    model: tinyModel,
    vocabSize: 512,
    corpusDocs: 60000,
    corpus: tinyCorpus,
    train: tinyTrain,
  },
  'tiny-general': {
    description: `tiny's model on tiny's corpus in English and Spanish plus facts (capitals, elements, planets, a glossary), ${sizeOf(tinyModel, 512)}`,
    model: tinyModel,
    vocabSize: 512,
    corpusDocs: 60000,
    corpus: tinyGeneralCorpus,
    train: tinyTrain,
  },
  small: {
    description: `6-layer MoE (16 experts, MLA, MTP), ${sizeOf(smallModel, 1024)}; an hour or more on 2 cores`,
    model: smallModel,
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
  student: {
    description: `3-layer dense Qwen2-style student (GQA, q/k/v biases, tied embeddings), ${sizeOf(studentModel, 512)}, tiny's corpus and steps`,
    model: studentModel,
    vocabSize: 512,
    corpusDocs: 60000,
    corpus: tinyCorpus,
    train: tinyTrain,
  },
  'student-llama': {
    description: `the student as a Llama-style model (no q/k/v biases), ${sizeOf(studentLlamaModel, 512)}`,
    model: studentLlamaModel,
    vocabSize: 512,
    corpusDocs: 60000,
    corpus: tinyCorpus,
    train: tinyTrain,
  },
  micro: {
    description: `2-layer MoE (4 experts, MLA, MTP), ${sizeOf(microModel, 320)}, 20 steps on a small corpus; seconds: a check that the pipeline runs`,
    model: microModel,
    vocabSize: 320,
    corpusDocs: 1000,
    corpus: tinyCorpus,
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      steps: 20,
      seqLen: 128,
      batchStart: 4,
      batchEnd: 4,
      microBatch: 2,
      peakLr: 3e-3,
      warmupSteps: 2,
      evalEvery: 10,
      evalBatches: 1,
      checkpointEvery: 10,
    },
  },
};

export function getPreset(name: string): Preset {
  const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!p) throw new Error(`unknown preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}
