/**
 * `r1ts pretrain --out runs/NAME [--preset tiny|small] [--config MODEL.json] [--data FILE] [--steps N] [--workers N|auto]
 *  [--resume | --overwrite]`
 * A new run's sizes (steps, micro-batch) and the memory of one micro-batch are checked before the corpus and the
 * tokenizer are built. The run directory follows src/train/run_dir.ts: on --resume only the flags
 * PRETRAIN_RESUME_RULE allows may change (--steps, --lr, --micro-batch, --workers), so flags a user did not give have
 * no commander default here (the defaults are shown, and applied by `pretrain()`). Ctrl-C / SIGTERM stop at the end of
 * a step with a checkpoint and exit 130 / 143.
 */
import type { Command } from 'commander';
import { parseConfig } from '../../models/config.js';
import { PRECISIONS, type Precision } from '../../fp8/precision.js';
import { pretrain } from '../../train/pretrain.js';
import { PRESETS, getPreset } from '../../train/presets.js';
import { CORPUS_STYLES, type CorpusStyle, DEFAULT_CORPUS_STYLE } from '../../data/corpus.js';
import { TRAIN_SIZE_RANGES, checkTrainSizes, trainMicroBatchBytes } from '../../train/sizes.js';
import type { TrainConfig } from '../../train/trainer.js';
import { StopRequests, stopExitCode } from '../../train/signals.js';
import {
  type ProgressFlags,
  SEED_RANGE,
  checkFits,
  flagsOf,
  nums,
  progressFor,
  progressOptions,
  shownDefault,
} from '../flags.js';

interface PretrainFlags extends ProgressFlags {
  out: string;
  preset?: string;
  config?: Record<string, unknown>;
  data?: string[];
  tokenizer?: string;
  corpus?: CorpusStyle;
  steps?: number;
  seed?: number;
  microBatch?: number;
  lr?: number;
  precision?: Precision;
  workers: number | 'auto';
  resume?: boolean;
  overwrite?: boolean;
}

/** What a new run trains: the preset's TrainConfig under the flags, checked with the flags' names, before any work. */
function checkNewRun(o: PretrainFlags, overrides: Partial<TrainConfig>): void {
  const preset = getPreset(o.preset ?? 'tiny');
  const train = { ...preset.train, ...overrides, ...(o.steps !== undefined ? { steps: o.steps } : {}) };
  checkTrainSizes(train, 'pretrain', { steps: '--steps', microBatch: '--micro-batch' });
  const { config } = parseConfig({ vocab_size: preset.vocabSize, ...(o.config ?? preset.model) }, 'model config');
  checkFits(
    'pretrain',
    trainMicroBatchBytes(config, train.microBatch, train.seqLen),
    `--micro-batch ${train.microBatch} sequences of ${train.seqLen} tokens (logits and activations, at least)`,
  );
}

export function registerPretrain(program: Command): void {
  const cmd = program
    .command('pretrain')
    .description('pre-train a DeepSeek-V3-style model (built-in reasoning corpus by default); resumable');
  const f = flagsOf(cmd);
  cmd
    .requiredOption('--out <dir>', 'run directory (checkpoints, metrics.jsonl, final model)')
    .addOption(
      f.choice(
        '--preset <name>',
        `model + run size: ${Object.entries(PRESETS)
          .map(([k, p]) => `${k} (${p.description})`)
          .join('; ')}`,
        Object.keys(PRESETS),
        shownDefault('tiny'),
      ),
    )
    .addOption(
      f.json(
        '--config <file>',
        'Hugging Face config.json for the model instead of the preset model',
        shownDefault("the preset's model"),
      ),
    )
    .addOption(
      f.input(
        '--data <file...>',
        'training data: JSONL {"text"}, plain text or Parquet files/directories (default: built-in corpus)',
        'file or dir',
        true,
      ),
    )
    .addOption(
      f.input(
        '--tokenizer <file>',
        'use this tokenizer.json instead of training one on the data',
        'file',
        false,
        shownDefault('one trained on the data'),
      ),
    )
    .addOption(
      f.choice(
        '--corpus <style>',
        'style of the built-in corpus: plain (no R1-Zero template, no tagged solutions) or templated (R1-Zero prompt + tagged solutions); not with --data',
        CORPUS_STYLES,
        shownDefault(DEFAULT_CORPUS_STYLE),
      ),
    )
    .addOption(f.int('--steps <n>', 'optimizer steps', TRAIN_SIZE_RANGES.steps, shownDefault("the preset's")))
    .addOption(f.int('--seed <n>', 'seed for corpus, init and shuffling', SEED_RANGE, shownDefault('0')))
    .addOption(
      f.int(
        '--micro-batch <n>',
        "sequences per forward pass (gradient accumulation beyond it), at most the preset's batch",
        TRAIN_SIZE_RANGES.microBatch,
        shownDefault("the preset's"),
      ),
    )
    .addOption(f.num('--lr <x>', 'peak learning rate', nums(0, Infinity, true), shownDefault("the preset's")))
    .addOption(
      f.choice(
        '--precision <p>',
        'Linear GEMMs (fp8: DeepSeek-V3 FP8 with BF16 AdamW moments)',
        PRECISIONS,
        shownDefault('fp32'),
      ),
    )
    .addOption(
      f.workers(
        '--workers <n>',
        "threads computing each step's micro-batches, one kernel thread each; same numbers as 1 (auto: 2 on 2+ cores for models of hidden size <= 256 whose batch has 2+ micro-batches)",
        1,
      ),
    )
    .option('--resume', 'continue the run in --out from its last checkpoint (--steps, --lr, --micro-batch may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it');
  for (const opt of progressOptions(f)) cmd.addOption(opt);
  cmd.action(async (o: PretrainFlags) => {
    if (o.resume && o.overwrite) throw new Error('pretrain: --resume and --overwrite exclude each other');
    const overrides: Partial<TrainConfig> = {
      ...(o.lr !== undefined ? { peakLr: o.lr } : {}),
      ...(o.microBatch !== undefined ? { microBatch: o.microBatch } : {}),
      ...(o.precision !== undefined
        ? { precision: o.precision, optimizerMoments: o.precision === 'fp8' ? ('bf16' as const) : undefined }
        : {}),
    };
    if (!o.resume) checkNewRun(o, overrides);
    const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
    try {
      const r = await pretrain({
        outDir: o.out,
        preset: o.preset,
        modelConfig: o.config,
        data: o.data,
        tokenizer: o.tokenizer,
        corpus: o.corpus,
        steps: o.steps,
        seed: o.seed,
        resume: o.resume,
        overwrite: o.overwrite,
        stops,
        workers: o.workers,
        overrides,
        progress: progressFor(o),
      });
      if (r.stopped) process.exitCode = stopExitCode(r.stopped);
    } finally {
      stops.dispose();
    }
  });
}
