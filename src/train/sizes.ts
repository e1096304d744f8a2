/**
 * Bounds of a training run's sizes, checked before any work: the ranges of TrainConfig's size fields (a micro-batch
 * is at most the batch: the trainer never runs more rows at once, and a larger one only inflates validation batches
 * and the loader's buffer), and a lower bound on the memory of one micro-batch's forward and backward, so that
 * `--micro-batch 1000000000` or a huge `--seq-len` fails in one line naming the setting instead of deep inside a
 * typed-array constructor after the corpus and the tokenizer were built.
 *
 * Not here: the trainer (./trainer.ts), the presets (./presets.ts).
 */
import type { ModelConfig } from '../models/config.js';
import { type NumberRange, checkRange } from '../tensor/range.js';
import type { TrainConfig } from './trainer.js';

/** Ranges of the size fields of a TrainConfig (`microBatch` is further bounded by `batchEnd`). */
export const TRAIN_SIZE_RANGES: Readonly<
  Record<'steps' | 'seqLen' | 'batchStart' | 'batchEnd' | 'microBatch', NumberRange>
> = {
  steps: { min: 1, max: 10_000_000, integer: true },
  seqLen: { min: 1, max: 1 << 20, integer: true },
  batchStart: { min: 1, max: 1 << 20, integer: true },
  batchEnd: { min: 1, max: 1 << 20, integer: true },
  microBatch: { min: 1, max: 4096, integer: true },
};

/**
 * Checks the sizes of `c` (see TRAIN_SIZE_RANGES; a micro-batch of at most batchEnd sequences); `names` maps a field
 * to how the caller's user knows it (e.g. the CLI's `--micro-batch`).
 */
export function checkTrainSizes(
  c: Pick<TrainConfig, keyof typeof TRAIN_SIZE_RANGES>,
  who = 'train',
  names: Partial<Record<keyof typeof TRAIN_SIZE_RANGES, string>> = {},
): void {
  for (const [k, r] of Object.entries(TRAIN_SIZE_RANGES) as [keyof typeof TRAIN_SIZE_RANGES, NumberRange][]) {
    const range = k === 'microBatch' ? { ...r, max: Math.min(r.max, c.batchEnd) } : r;
    checkRange(who, names[k] ?? k, c[k], range);
  }
}

/**
 * A lower bound on the bytes one micro-batch of `rows` sequences of `seqLen` tokens needs in training: the logits and
 * their gradient (float32, for the main head and each MTP module) and one saved hidden state per layer. The real
 * figure is several times larger; when even this bound exceeds the machine's memory, the run cannot fit.
 */
export function trainMicroBatchBytes(config: ModelConfig, rows: number, seqLen: number): number {
  const heads = 1 + ('num_nextn_predict_layers' in config ? config.num_nextn_predict_layers : 0);
  const perToken = 2 * heads * config.vocab_size + config.num_hidden_layers * config.hidden_size;
  return 4 * rows * seqLen * perToken;
}
