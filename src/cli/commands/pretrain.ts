/**
 * `r1ts pretrain --out runs/NAME [--preset tiny|small] [--config MODEL.json] [--data FILE] [--steps N] [--workers N|auto]
 *  [--resume | --overwrite]`
 * The run directory follows src/train/run_dir.ts: on --resume only the flags PRETRAIN_RESUME_RULE allows may change
 * (--steps, --lr, --micro-batch, --workers); Ctrl-C / SIGTERM stop at the end of a step with a checkpoint and exit 130
 * / 143.
 */
import type { Command } from 'commander';
import { pretrain } from '../../train/pretrain.js';
import { PRESETS } from '../../train/presets.js';
import { parsePrecision } from '../../fp8/precision.js';
import { readJsonObject } from '../../io/json.js';
import { StopRequests, stopExitCode } from '../../train/signals.js';

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`pretrain: ${flag} must be a positive integer, got '${v}'`);
  return n;
}

export function registerPretrain(program: Command): void {
  program
    .command('pretrain')
    .description('pre-train a DeepSeek-V3-style model (built-in reasoning corpus by default); resumable')
    .requiredOption('--out <dir>', 'run directory (checkpoints, metrics.jsonl, final model)')
    .option(
      '--preset <name>',
      `model + run size (default tiny): ${Object.entries(PRESETS)
        .map(([k, p]) => `${k} (${p.description})`)
        .join('; ')}`,
    )
    .option('--config <file>', 'Hugging Face config.json for the model instead of the preset model')
    .option(
      '--data <file...>',
      'training data: JSONL {"text"}, plain text or Parquet files/directories (default: built-in corpus)',
    )
    .option('--tokenizer <file>', 'use this tokenizer.json instead of training one on the data')
    .option('--steps <n>', 'optimizer steps (default: the preset)')
    .option('--seed <n>', 'seed for corpus, init and shuffling (default 0)')
    .option('--micro-batch <n>', 'sequences per forward pass (gradient accumulation beyond it)')
    .option('--lr <x>', 'peak learning rate (default: the preset)')
    .option('--precision <p>', 'Linear GEMMs: fp32 (default), bf16, or fp8 (DeepSeek-V3 FP8 with BF16 AdamW moments)')
    .option(
      '--workers <n>',
      "threads computing each step's micro-batches, one kernel thread each; same numbers as 1 (auto: 2 on 2+ cores for models of hidden size <= 256 whose batch has 2+ micro-batches)",
      '1',
    )
    .option('--resume', 'continue the run in --out from its last checkpoint (--steps, --lr, --micro-batch may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it')
    .action(
      async (o: {
        out: string;
        preset?: string;
        config?: string;
        data?: string[];
        tokenizer?: string;
        steps?: string;
        seed?: string;
        microBatch?: string;
        lr?: string;
        precision?: string;
        workers: string;
        resume?: boolean;
        overwrite?: boolean;
      }) => {
        const seed = o.seed === undefined ? undefined : Number(o.seed);
        if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0))
          throw new Error(`pretrain: --seed must be a non-negative integer, got '${o.seed}'`);
        if (o.resume && o.overwrite) throw new Error('pretrain: --resume and --overwrite exclude each other');
        const lr = o.lr === undefined ? undefined : Number(o.lr);
        if (lr !== undefined && !(lr > 0)) throw new Error(`pretrain: --lr must be a positive number, got '${o.lr}'`);
        const micro = positiveInt('--micro-batch', o.microBatch);
        const precision = o.precision === undefined ? undefined : parsePrecision(o.precision, 'pretrain: --precision');
        const workers = o.workers === 'auto' ? 'auto' : Number(o.workers);
        if (workers !== 'auto' && !(Number.isInteger(workers) && workers >= 1))
          throw new Error(`pretrain: --workers must be a positive integer or 'auto', got '${o.workers}'`);
        const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
        try {
          const r = await pretrain({
            outDir: o.out,
            preset: o.preset,
            modelConfig: o.config ? readJsonObject(o.config, '--config') : undefined,
            data: o.data,
            tokenizer: o.tokenizer,
            steps: positiveInt('--steps', o.steps),
            seed,
            resume: o.resume,
            overwrite: o.overwrite,
            stops,
            workers,
            overrides: {
              ...(lr !== undefined ? { peakLr: lr } : {}),
              ...(micro !== undefined ? { microBatch: micro } : {}),
              ...(precision !== undefined
                ? { precision, optimizerMoments: precision === 'fp8' ? ('bf16' as const) : undefined }
                : {}),
            },
          });
          if (r.stopped) process.exitCode = stopExitCode(r.stopped);
        } finally {
          stops.dispose();
        }
      },
    );
}
