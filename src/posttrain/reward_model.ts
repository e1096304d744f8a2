/**
 * Reward models: a `CausalLM` backbone and a scalar head (`score`, Linear D -> 1 without bias) on the final normed
 * hidden state (`forward(...).normed`) at the last token of each sequence, as Hugging Face's
 * `...ForSequenceClassification` models with `num_labels: 1` compute it. Rows are padded on the right; the last real
 * token of a row is its last token (with R1's template the end-of-sentence token that closes the assistant turn).
 *
 * A conversation is scored as the reward model's own chat template renders it: the prompt's turns, then the response
 * as the assistant turn (`encode`). `score(prompts, responses)` does that for a batch, without gradient.
 *
 * Stored like Hugging Face's sequence-classification models (`saveRewardModel`): config.json with the family's
 * `...ForSequenceClassification` architecture, `num_labels: 1`, `id2label` / `label2id` and `pad_token_id` (the
 * tokenizer's pad token, which transformers needs to find the last real token of padded rows); the backbone's tensors
 * under their `model.*` names, `score.weight` (1, D), and no `lm_head` (nor DeepSeek's MTP layers:
 * `num_nextn_predict_layers` is 0). `loadRewardModel` reads such a directory; `rewardModelFromLM` starts one from a
 * language model directory with a new head, normal(0, std) with a seeded generator.
 *
 * Not here: the training loop (./rm_train.ts), the Bradley-Terry loss (./pair_losses.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { Tensor, noGrad } from '../tensor/tensor.js';
import { gather, reshape } from '../tensor/ops/index.js';
import { Generator } from '../tensor/random.js';
import { type CausalLM, countParams, createModel } from '../models/index.js';
import { type ModelConfig, type ModelType, configToJson, isDeepseek, parseConfig } from '../models/config.js';
import { exportStateDict, importStateDict } from '../io/hf.js';
import { readJsonObject } from '../io/json.js';
import { readConfigFile } from '../io/model_dir.js';
import { checkpointNumel, loadCheckpointDir, saveCheckpointDir } from '../io/safetensors_index.js';
import { writeAll, writeFileAtomic } from '../io/atomic.js';
import { Tokenizer } from '../data/tokenizer.js';
import { type ChatMessage, applyChatTemplate } from '../data/chat.js';
import { formatCount } from '../util/format.js';

/** The Hugging Face architecture of a reward model of each family. */
export const SEQUENCE_CLASSIFICATION: Readonly<Record<ModelType, string>> = {
  deepseek_v3: 'DeepseekV3ForSequenceClassification',
  deepseek_v2: 'DeepseekV2ForSequenceClassification',
  qwen2: 'Qwen2ForSequenceClassification',
  llama: 'LlamaForSequenceClassification',
};

/** config.json keys of a sequence-classification model that the backbone's config does not have. */
const LABEL_KEYS = ['num_labels', 'id2label', 'label2id', 'problem_type'] as const;

/** How a new head is initialised. */
export interface RewardHeadInit {
  /** Seed of the head's normal init (default 0). */
  seed?: number;
  /** Std of the head's normal init (default: the config's initializer_range, 0.02 when unset). */
  std?: number;
}

/** Options of `score`. */
export interface ScoreOptions {
  /** Rows per forward pass (default 16). */
  batchSize?: number;
}

/** A reward model: backbone + scalar head, with the tokenizer and chat template it scores conversations with. */
export class RewardModel extends Module {
  readonly backbone: CausalLM;
  readonly head: Linear;

  constructor(
    backbone: CausalLM,
    readonly tokenizer: Tokenizer,
    init: RewardHeadInit = {},
  ) {
    super();
    if (tokenizer.vocabSize > backbone.config.vocab_size)
      throw new Error(
        `reward model: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${backbone.config.vocab_size}`,
      );
    this.backbone = this.child('model', backbone);
    const std = init.std ?? backbone.config.initializer_range ?? 0.02;
    this.head = this.child(
      'score',
      new Linear(backbone.config.hidden_size, 1, { std, generator: new Generator(init.seed ?? 0) }),
    );
  }

  /** The backbone's config. */
  get config(): ModelConfig {
    return this.backbone.config;
  }

  /** The parameters that train (the backbone's output head never gets a gradient: it is not used). */
  trainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([n]) => n !== 'model.head.weight');
  }

  /**
   * Scores of right-padded rows: `ids` (B, T) int32, `last[b]` the index of row b's last real token. Returns (B,),
   * differentiable.
   */
  forward(ids: Tensor, last: readonly number[]): Tensor {
    const [B, T] = ids.shape;
    const { normed } = this.backbone.forward(ids); // (B, T, D)
    const all = reshape(this.head.forward(normed), [B, T]); // (B, T): a score at every position
    const at = new Tensor(Int32Array.from(last), [B, 1], 'int32');
    return reshape(gather(all, 1, at), [B]);
  }

  /**
   * The token ids of a conversation as this model scores it: the prompt's turns, then `response` (a string: one
   * assistant turn; or assistant messages), rendered with the tokenizer's chat template. `where` prefixes errors.
   */
  encode(prompt: readonly ChatMessage[], response: string | readonly ChatMessage[], where = 'reward model'): number[] {
    const turns = typeof response === 'string' ? [{ role: 'assistant', content: response }] : response;
    let text: string;
    try {
      text = applyChatTemplate(this.tokenizer, [...prompt, ...turns]);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
    const ids = this.tokenizer.encode(text, { addSpecialTokens: false });
    if (ids.length === 0) throw new Error(`${where}: the chat template renders the conversation as no tokens`);
    return ids;
  }

  /** Scores of token-id rows (any lengths), without gradient, in batches of `batchSize` rows of similar length. */
  scoreIds(rows: readonly (readonly number[])[], opts: ScoreOptions = {}): Float64Array {
    const out = new Float64Array(rows.length);
    const bs = opts.batchSize ?? 16;
    const context = this.config.max_position_embeddings;
    rows.forEach((r, i) => {
      if (r.length === 0) throw new RangeError(`reward model: row ${i} is empty`);
      if (r.length > context)
        throw new RangeError(
          `reward model: row ${i} has ${r.length} tokens, more than the model's context of ${context} (max_position_embeddings)`,
        );
    });
    const order = rows.map((_, i) => i).sort((a, b) => rows[a].length - rows[b].length);
    const wasTraining = this.training;
    this.eval();
    try {
      noGrad(() => {
        for (let s = 0; s < order.length; s += bs) {
          const part = order.slice(s, s + bs);
          const { ids, last } = padRows(
            part.map((i) => rows[i]),
            this.tokenizer.padId ?? 0,
          );
          const scores = this.forward(ids, last).data;
          part.forEach((i, j) => {
            out[i] = scores[j];
          });
        }
      });
    } finally {
      if (wasTraining) this.train();
    }
    return out;
  }

  /**
   * Scores of `responses[i]` as answers to `prompts[i]` (each a list of turns ending with the user's), rendered with
   * this model's chat template; batched, without gradient.
   */
  score(
    prompts: readonly (readonly ChatMessage[])[],
    responses: readonly string[],
    opts: ScoreOptions = {},
  ): Float64Array {
    if (prompts.length !== responses.length)
      throw new RangeError(`reward model: ${prompts.length} prompts but ${responses.length} responses`);
    return this.scoreIds(
      prompts.map((p, i) => this.encode(p, responses[i], `reward model: response ${i}`)),
      opts,
    );
  }
}

/** Right-padded (B, T) int32 ids of `rows` with `pad`, and the index of each row's last token. */
export function padRows(rows: readonly (readonly number[])[], pad: number): { ids: Tensor; last: number[] } {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(pad);
  rows.forEach((r, b) => ids.set(r, b * T));
  return { ids: new Tensor(ids, [B, T], 'int32'), last: rows.map((r) => r.length - 1) };
}

/** The backbone config of a reward model: the language model's, without MTP layers (a reward model has no use for them). */
function backboneConfig(config: ModelConfig, padId: number | null): ModelConfig {
  const c = structuredClone(config);
  if (isDeepseek(c)) c.num_nextn_predict_layers = 0;
  if (padId !== null && padId < c.vocab_size) c.pad_token_id = padId;
  return c;
}

/** The HF names of the MTP layers of `config` (dropped when a reward model starts from a language model). */
function isMtpTensor(name: string, config: ModelConfig): boolean {
  if (!isDeepseek(config) || config.num_nextn_predict_layers === 0) return false;
  const m = /^model\.layers\.(\d+)\./.exec(name);
  return m !== null && Number(m[1]) >= config.num_hidden_layers;
}

/** Loads `tensors` into `backbone`; a missing lm_head (a reward model stores none) is filled with zeros. */
function loadBackbone(backbone: CausalLM, tensors: Map<string, Tensor>, dir: string): string[] {
  const head = backbone.stateDict().get('head.weight');
  if (head && !tensors.has('lm_head.weight'))
    tensors.set('lm_head.weight', new Tensor(new Float32Array(head.size), head.shape, 'float32'));
  return importStateDict(backbone, tensors, dir).unused.map(
    (n) => `${dir}: checkpoint tensor ${n} is not used by the reward model`,
  );
}

/** The tokenizer of a model directory (or the one given); an error says what to pass when there is none. */
function tokenizerOf(dir: string, tokenizer?: string): Tokenizer {
  if (tokenizer === undefined && !fs.existsSync(path.join(dir, 'tokenizer.json')))
    throw new Error(`${dir} has no tokenizer.json (pass the tokenizer the model was trained with)`);
  return Tokenizer.load(tokenizer ?? dir);
}

/** Options of loading. */
export interface LoadRewardModelOptions extends RewardHeadInit {
  /** A tokenizer.json (or its directory) instead of the one in the model directory. */
  tokenizer?: string;
  /** Gets warnings (unused tensors, unknown config fields). Default: ignored. */
  warn?: (line: string) => void;
}

/** Whether `dir` holds a reward model (a sequence-classification config.json) rather than a language model. */
export function isRewardModelDir(dir: string): boolean {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return false;
  const raw = readJsonObject(file, 'config');
  const arch = Array.isArray(raw.architectures) ? raw.architectures : [];
  return (
    raw.num_labels !== undefined || arch.some((a) => typeof a === 'string' && a.endsWith('ForSequenceClassification'))
  );
}

/** Loads a reward model directory written by `saveRewardModel` (or by transformers, for the families r1ts builds). */
export function loadRewardModel(dir: string, opts: LoadRewardModelOptions = {}): RewardModel {
  const file = path.join(dir, 'config.json');
  const raw = readJsonObject(file, 'reward model config');
  const labels =
    raw.num_labels ??
    (raw.id2label && typeof raw.id2label === 'object' ? Object.keys(raw.id2label as object).length : undefined);
  if (labels !== 1)
    throw new Error(
      `${file}: a reward model has num_labels 1 (one score per sequence), got ${labels === undefined ? 'none' : JSON.stringify(labels)}${isRewardModelDir(dir) ? '' : ': is this a language model? (start a reward model from it with `r1ts rm train`)'}`,
    );
  const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !(LABEL_KEYS as readonly string[]).includes(k)));
  const { config, warnings } = parseConfig(rest, path.basename(file));
  const p = countParams(config);
  const need = p.total + p.mtp - (config.tie_word_embeddings ? 0 : config.vocab_size * config.hidden_size);
  const have = checkpointNumel(dir);
  if (have < need)
    throw new Error(
      `${dir}: config.json describes ${formatCount(need)} parameters but the checkpoint holds ${formatCount(have)} values: the config does not belong to these weights`,
    );
  const tensors = loadCheckpointDir(dir);
  const score = tensors.get('score.weight');
  if (!score) throw new Error(`${dir}: the checkpoint has no score.weight (the reward head)`);
  if (score.shape.length !== 2 || score.shape[0] !== 1 || score.shape[1] !== config.hidden_size)
    throw new Error(`${dir}: score.weight has shape [${score.shape}], expected [1, ${config.hidden_size}]`);
  tensors.delete('score.weight');
  const backbone = createModel(config);
  warnings.push(...loadBackbone(backbone, tensors, dir));
  const rm = new RewardModel(backbone, tokenizerOf(dir, opts.tokenizer), opts);
  rm.head.weight.data.set(score.data);
  rm.eval();
  for (const w of warnings) opts.warn?.(w);
  return rm;
}

/**
 * A new reward model from a language model directory: its backbone (MTP layers dropped, the output head kept in memory
 * but never saved) and a new head initialised normal(0, std) from `seed`.
 */
export function rewardModelFromLM(dir: string, opts: LoadRewardModelOptions = {}): RewardModel {
  const tok = tokenizerOf(dir, opts.tokenizer);
  const { config: lm, warnings } = readConfigFile(path.join(dir, 'config.json'));
  const p = countParams(lm);
  const have = checkpointNumel(dir);
  if (have < p.total)
    throw new Error(
      `${dir}: config.json describes ${formatCount(p.total)} parameters but the checkpoint holds ${formatCount(have)} values: the config does not belong to these weights`,
    );
  const config = backboneConfig(lm, tok.padId);
  const tensors = loadCheckpointDir(dir);
  for (const n of [...tensors.keys()]) if (isMtpTensor(n, lm)) tensors.delete(n);
  const backbone = createModel(config);
  warnings.push(...loadBackbone(backbone, tensors, dir));
  const rm = new RewardModel(backbone, tok, opts);
  rm.eval();
  for (const w of warnings) opts.warn?.(w);
  return rm;
}

/** A reward model directory as is, or a new reward model started from a language model directory. */
export function openRewardModel(
  dir: string,
  opts: LoadRewardModelOptions = {},
): { rm: RewardModel; from: 'rm' | 'lm' } {
  return isRewardModelDir(dir)
    ? { rm: loadRewardModel(dir, opts), from: 'rm' }
    : { rm: rewardModelFromLM(dir, opts), from: 'lm' };
}

/** The config.json of a reward model (see the file header). */
export function rewardModelConfigJson(rm: RewardModel): Record<string, unknown> {
  const json = configToJson(rm.config);
  return {
    ...json,
    architectures: [SEQUENCE_CLASSIFICATION[rm.config.model_type]],
    num_labels: 1,
    id2label: { 0: 'LABEL_0' },
    label2id: { LABEL_0: 0 },
  };
}

/** Writes a reward model directory: config.json, model.safetensors (no lm_head), tokenizer.json and its config. */
export function saveRewardModel(dir: string, rm: RewardModel): void {
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(rewardModelConfigJson(rm), null, 2) + '\n';
  writeFileAtomic(path.join(dir, 'config.json'), (fd) => writeAll(fd, new TextEncoder().encode(json)));
  const tensors = exportStateDict(rm.backbone);
  tensors.delete('lm_head.weight');
  tensors.set('score.weight', rm.head.weight);
  saveCheckpointDir(dir, tensors);
  rm.tokenizer.saveDir(dir);
}
