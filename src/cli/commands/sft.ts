/**
 * `r1ts sft`: supervised fine-tuning of a model directory on chat records (JSONL or Parquet, `{"messages"}` or
 * `{"prompt", "completion"}`), rendered with the model's own chat template, loss on assistant tokens only, samples
 * packed several per row; checkpointed and resumable.
 *   r1ts sft --model DIR --data FILE... --out DIR [--val-data FILE... | --val-share X] [--epochs N] [--max-steps N]
 *            [--lr X] [--schedule cosine|constant|v3] [--seq-len T] [--batch N] [--micro-batch N] [--truncate]
 *            [--skip-bad] [--eval-tasks LIST] [--resume | --overwrite]
 * Writes OUT/run.json, OUT/metrics.jsonl, OUT/checkpoints/step-*, and the final OUT/model (with the tokenizer files).
 * Flags a user did not give have no commander default (the defaults are shown and applied by `sft()`), so that on
 * --resume only the flags given are compared with the run's (SFT_RESUME_RULE).
 */
import type { Command } from 'commander';
import { SFT_TASKS } from '../../data/sft/index.js';
import { LR_SCHEDULES, SFT_RANGES, type SftConfig } from '../../posttrain/sft.js';
import { DEFAULT_SFT_EVAL, type SftEvalSettings, sft } from '../../posttrain/sft_run.js';
import { DEFAULT_SFT_CONFIG } from '../../posttrain/sft.js';
import {
  type Flags,
  type ProgressFlags,
  flagsOf,
  ints,
  nums,
  parseList,
  progressFor,
  runStoppable,
  progressOptions,
  shownDefault,
} from '../flags.js';

interface SftFlags extends ProgressFlags {
  model?: string;
  tokenizer?: string;
  data?: string[];
  out: string;
  valData?: string[];
  valShare?: number;
  epochs?: number;
  maxSteps?: number;
  lr?: number;
  schedule?: SftConfig['schedule'];
  warmup?: number;
  minLrRatio?: number;
  seqLen?: number;
  batch?: number;
  microBatch?: number;
  weightDecay?: number;
  clip?: number;
  mtpLambda?: number;
  gamma?: number;
  seed?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  truncate?: boolean;
  skipBad?: boolean;
  evalTasks?: string[];
  evalN?: number;
  evalMaxTokens?: number;
  resume?: boolean;
  overwrite?: boolean;
}

const dflt = (k: keyof SftConfig) => shownDefault(String(DEFAULT_SFT_CONFIG[k]));

function numberOption(f: Flags, flags: string, description: string, k: keyof SftConfig) {
  const r = SFT_RANGES[k];
  return r.integer ? f.int(flags, description, r, dflt(k)) : f.num(flags, description, r, dflt(k));
}

/** `--eval-tasks all` or a comma-separated list of built-in SFT tasks. */
function parseTasks(raw: string): string[] {
  const known = Object.keys(SFT_TASKS);
  if (raw === 'all') return known;
  return parseList('sft', '--eval-tasks', raw, (t, name) => {
    if (!known.includes(t)) throw new Error(`sft: ${name} must be one of ${known.join(', ')} or all, got '${t}'`);
    return t;
  });
}

async function sftCommand(o: SftFlags): Promise<void> {
  await runStoppable(o, async (stops) => {
    const config: Partial<SftConfig> = {
      epochs: o.epochs,
      maxSteps: o.maxSteps,
      lr: o.lr,
      schedule: o.schedule,
      warmup: o.warmup,
      minLrRatio: o.minLrRatio,
      seqLen: o.seqLen,
      batch: o.batch,
      microBatch: o.microBatch,
      weightDecay: o.weightDecay,
      clip: o.clip,
      mtpLambda: o.mtpLambda,
      gamma: o.gamma,
      seed: o.seed,
      evalEvery: o.evalEvery,
      checkpointEvery: o.checkpointEvery,
      truncate: o.truncate,
    };
    const evalSettings: Partial<SftEvalSettings> = { tasks: o.evalTasks, n: o.evalN, maxTokens: o.evalMaxTokens };
    return sft({
      outDir: o.out,
      model: o.model,
      tokenizer: o.tokenizer,
      data: o.data,
      valData: o.valData,
      valShare: o.valShare,
      skipBad: o.skipBad,
      config,
      eval: evalSettings,
      resume: o.resume,
      overwrite: o.overwrite,
      stops,
      progress: progressFor(o),
    });
  });
}

export function registerSft(program: Command): void {
  const cmd = program
    .command('sft')
    .description(
      'supervised fine-tuning on chat records (messages or prompt/completion; assistant tokens only, packed); resumable',
    );
  const f = flagsOf(cmd);
  const run = shownDefault("the run's, with --resume");
  cmd
    .requiredOption('--out <dir>', 'run directory (checkpoints, metrics.jsonl, final model)')
    .addOption(
      f.input(
        '--model <dir>',
        'base model directory (config.json, model.safetensors, tokenizer.json); required for a new run',
        'dir',
        false,
        run,
      ),
    )
    .addOption(
      f.input(
        '--tokenizer <file>',
        "tokenizer.json (its tokenizer_config.json beside it gives the chat template; R1's when it has none)",
        'file or dir',
        false,
        shownDefault('the one in --model'),
      ),
    )
    .addOption(
      f.input(
        '--data <file...>',
        'training records: JSONL or Parquet files/directories of {"messages"} or {"prompt","completion"}; required for a new run',
        'file or dir',
        true,
        run,
      ),
    )
    .addOption(
      f.input('--val-data <file...>', 'held-out records (validation loss)', 'file or dir', true, shownDefault('none')),
    )
    .addOption(
      f.num(
        '--val-share <x>',
        'hold out this share of the training records, chosen by content hash (instead of --val-data)',
        nums(0, 1, true),
        shownDefault('none'),
      ),
    )
    .addOption(numberOption(f, '--epochs <n>', 'passes over the training samples, reshuffled each time', 'epochs'))
    .addOption(
      f.int('--max-steps <n>', 'stop after this many optimizer steps', SFT_RANGES.maxSteps, shownDefault('the epochs')),
    )
    .addOption(numberOption(f, '--lr <x>', "peak learning rate (R1's SFT: 5e-5; tiny models need more)", 'lr'))
    .addOption(
      f.choice(
        '--schedule <s>',
        "learning-rate schedule (cosine: warm-up, then cosine to lr x --min-lr-ratio, R1/V3's SFT; v3: V3's pre-training phases scaled to the run)",
        LR_SCHEDULES,
        dflt('schedule'),
      ),
    )
    .addOption(numberOption(f, '--warmup <x>', 'warm-up, as a share of the steps', 'warmup'))
    .addOption(numberOption(f, '--min-lr-ratio <x>', 'final lr / peak lr of the cosine schedule', 'minLrRatio'))
    .addOption(
      f.int(
        '--seq-len <n>',
        'positions per packed row (a sample of n tokens takes n - 1)',
        SFT_RANGES.seqLen,
        shownDefault("min(1024, the model's max_position_embeddings)"),
      ),
    )
    .addOption(numberOption(f, '--batch <n>', 'packed rows per optimizer step', 'batch'))
    .addOption(
      numberOption(f, '--micro-batch <n>', 'rows per forward pass (gradient accumulation over the rest)', 'microBatch'),
    )
    .addOption(numberOption(f, '--weight-decay <x>', 'AdamW weight decay', 'weightDecay'))
    .addOption(numberOption(f, '--clip <x>', 'global gradient-norm clip', 'clip'))
    .addOption(
      numberOption(
        f,
        '--mtp-lambda <x>',
        "DeepSeek-V3's MTP loss weight (0.1: where V3's pre-training ends; ignored without MTP)",
        'mtpLambda',
      ),
    )
    .addOption(numberOption(f, '--gamma <x>', "DeepSeek-V3's router-bias update speed (0 freezes it)", 'gamma'))
    .addOption(numberOption(f, '--seed <n>', "seed of the epochs' shuffles", 'seed'))
    .addOption(numberOption(f, '--eval-every <n>', 'held-out loss every N steps (and before and after)', 'evalEvery'))
    .addOption(numberOption(f, '--checkpoint-every <n>', 'checkpoint every N steps', 'checkpointEvery'))
    .option('--truncate', 'keep the first seq-len + 1 tokens of longer samples instead of skipping them')
    .option('--skip-bad', 'skip malformed records (counted, the first named) instead of stopping at the first')
    .addOption(
      f
        .text(
          '--eval-tasks <list>',
          `greedy quality checks of built-in SFT tasks on their test split, before and after training: all or a list of ${Object.keys(SFT_TASKS).join(', ')}`,
          shownDefault('none'),
        )
        .argParser(parseTasks),
    )
    .addOption(
      f.int('--eval-n <n>', 'held-out items per task', ints(1, 100_000), shownDefault(String(DEFAULT_SFT_EVAL.n))),
    )
    .addOption(
      f.int(
        '--eval-max-tokens <n>',
        'new tokens per answer at most',
        ints(1, 1 << 20),
        shownDefault(String(DEFAULT_SFT_EVAL.maxTokens)),
      ),
    )
    .option(
      '--resume',
      'continue the run in --out (--epochs, --max-steps, --lr, --micro-batch and the evaluation may change)',
    )
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it');
  for (const opt of progressOptions(f)) cmd.addOption(opt);
  cmd.action(sftCommand);
}
