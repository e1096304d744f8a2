/** Helpers of the reward-model and DPO tests: a small language model directory and a learnable toy preference task. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StopRequests } from '../../src/train/signals.js';
import type { PairStepMetrics } from '../../src/posttrain/pair_trainer.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { createModel } from '../../src/models/index.js';
import { saveModelDir } from '../../src/io/model_dir.js';
import { tinyDeepseek, tinyDense } from '../models/helpers.js';

/** The toy task: whatever the question, "Sure, here it is." is preferred to "No." (learnable in a few steps). */
export function toyPair(i: number): { prompt: string; chosen: string; rejected: string } {
  return { prompt: `Question ${i}: can you help me?`, chosen: 'Sure, here it is.', rejected: 'No.' };
}

/** Writes `n` toy pairs, questions `from`..`from + n - 1`, as JSONL; returns the file. */
export function writeToyPairs(file: string, n: number, from = 0): string {
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify(toyPair(from + i))).join('\n') + '\n');
  return file;
}

/**
 * Writes a language model directory (config.json, model.safetensors, tokenizer.json) with a 300-token BPE tokenizer:
 * a tiny DeepSeek-V3 with an MTP layer, or a tiny dense Qwen2; `chatTemplate` goes into tokenizer_config.json.
 */
export async function writeLmDir(
  dir: string,
  opts: { kind?: 'deepseek' | 'dense'; seed?: number; chatTemplate?: string } = {},
): Promise<Tokenizer> {
  const texts = Array.from({ length: 20 }, (_, i) => {
    const p = toyPair(i);
    return `${p.prompt} ${p.chosen} ${p.rejected}`;
  });
  const tok = await Tokenizer.train(texts, { vocabSize: 300, chatTemplate: opts.chatTemplate });
  const over = { vocab_size: tok.vocabSize, max_position_embeddings: 256 };
  const config = opts.kind === 'dense' ? tinyDense(over) : tinyDeepseek({ ...over, num_nextn_predict_layers: 1 });
  saveModelDir(dir, createModel(config, { seed: opts.seed ?? 0, initStd: 0.02 }));
  tok.saveDir(dir);
  return tok;
}

/** A stop request (as Ctrl-C makes) that fires once the log shows step `at`: pass both to a trainer. */
export function stopAt(
  at: number,
  signal: 'SIGINT' | 'SIGTERM' = 'SIGINT',
): { stops: StopRequests; log: (l: string) => void } {
  const stops = { requested: null } as unknown as StopRequests;
  return {
    stops,
    log: (l) => {
      if (l.startsWith(`step ${at}/`)) (stops as { requested: string | null }).requested = signal;
    },
  };
}

/** A row of metrics.jsonl: a pairwise trainer's or GRPO's. */
export type MetricsRow = Partial<PairStepMetrics> & { step: number; rewards?: Record<string, number> };

/** The rows of OUT/metrics.jsonl. */
export function metricsRows(out: string): MetricsRow[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}
