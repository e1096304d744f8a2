/**
 * The flags `r1ts rm train` and `r1ts dpo` share: data and held-out data, the loop's settings (epochs, batch sizes,
 * learning rate, warmup, seed, evaluation and checkpoints), --resume / --overwrite. Ranges are the library's
 * (PAIR_TRAIN_RANGES); a flag not given has no commander default, so a resume keeps the run's value (the defaults are
 * shown in the help and applied by the library).
 */
import type { Command } from 'commander';
import { PAIR_TRAIN_RANGES, type PairTrainConfig, type PairTrainResult } from '../../posttrain/pair_trainer.js';
import type { PairRunOptions } from '../../posttrain/pair_run.js';
import { StopRequests, stopExitCode } from '../../train/signals.js';
import { flagsOf, shownDefault } from '../flags.js';
import { warn } from '../warn.js';

/** The parsed shared flags. */
export interface PairFlags {
  out: string;
  model?: string;
  data?: string[];
  valData?: string[];
  valShare?: number;
  maxLength?: number;
  epochs?: number;
  batchSize?: number;
  microBatch?: number;
  lr?: number;
  warmup?: number;
  seed?: number;
  evalEvery?: number;
  checkpointEvery?: number;
  resume?: boolean;
  overwrite?: boolean;
}

/** Adds the shared flags to `cmd`, their defaults shown from `d` (the library's defaults of that command). */
export function addPairFlags(cmd: Command, d: PairTrainConfig, valShare: number, modelHelp: string): void {
  const f = flagsOf(cmd);
  const r = PAIR_TRAIN_RANGES;
  const dflt = (k: keyof PairTrainConfig) => shownDefault(String(d[k]));
  cmd
    .requiredOption('--out <dir>', 'run directory (checkpoints, metrics.jsonl, the final model in OUT/model)')
    .addOption(f.input('--model <dir>', modelHelp, 'dir', false, shownDefault("the run's, with --resume")))
    .addOption(
      f.input(
        '--data <file...>',
        'preference pairs: JSONL or Parquet records {"prompt" or "messages", "chosen", "rejected"} (strings or message lists)',
        'file or dir',
        true,
        shownDefault("the run's, with --resume"),
      ),
    )
    .addOption(
      f.input(
        '--val-data <file...>',
        'held-out pairs (instead of --val-share); their prompts must not occur in --data',
        'file or dir',
        true,
        shownDefault('none'),
      ),
    )
    .addOption(
      f.num(
        '--val-share <x>',
        'share of the prompts of --data held out (chosen by a hash of the prompt)',
        { min: 0, max: 0.5 },
        shownDefault(String(valShare)),
      ),
    )
    .addOption(
      f.int(
        '--max-length <n>',
        'pairs whose longer side has more tokens are left out (and reported)',
        { min: 2, max: 1 << 20, integer: true },
        shownDefault("the model's context"),
      ),
    )
    .addOption(f.int('--epochs <n>', 'passes over the training pairs', r.epochs, dflt('epochs')))
    .addOption(f.int('--batch-size <n>', 'pairs per optimizer step', r.batchSize, dflt('batchSize')))
    .addOption(
      f.int('--micro-batch <n>', 'pairs per forward pass (gradient accumulation)', r.microBatch, dflt('microBatch')),
    )
    .addOption(f.num('--lr <x>', 'peak learning rate (linear warmup, then linear decay to 0)', r.lr, dflt('lr')))
    .addOption(f.num('--warmup <x>', 'share of the steps spent warming up', r.warmup, dflt('warmup')))
    .addOption(f.int('--seed <n>', 'seed of the pair order (and of a new reward head)', r.seed, dflt('seed')))
    .addOption(
      f.int(
        '--eval-every <n>',
        'held-out evaluation every N steps (0: at the start and the end)',
        r.evalEvery,
        dflt('evalEvery'),
      ),
    )
    .addOption(f.int('--checkpoint-every <n>', 'checkpoint every N steps', r.checkpointEvery, dflt('checkpointEvery')))
    .option('--resume', 'continue the run in --out (--epochs, --lr, --micro-batch, --eval-every may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it');
}

/** Checks flags that exclude each other, before anything is opened. */
function checkPairFlags(cmd: string, o: PairFlags): void {
  if (o.resume && o.overwrite) throw new Error(`${cmd}: --resume and --overwrite exclude each other`);
  if (o.valData && o.valShare !== undefined) throw new Error(`${cmd}: --val-data and --val-share exclude each other`);
  if (!o.resume && !o.model) throw new Error(`${cmd}: --model is required for a new run`);
  if (!o.resume && !o.data) throw new Error(`${cmd}: --data is required for a new run`);
}

/**
 * Runs a pairwise command: checks the flags, installs the Ctrl-C / SIGTERM handlers, calls `train` with the options
 * the flags give, sets the exit status of a stop, and prints the final line (`accuracy` names what the held-out
 * accuracy measures).
 */
export async function runPairCommand(
  cmd: string,
  o: PairFlags,
  accuracy: string,
  train: (opts: PairRunOptions) => Promise<PairTrainResult>,
): Promise<void> {
  checkPairFlags(cmd, o);
  const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
  try {
    const r = await train({
      outDir: o.out,
      model: o.model,
      data: o.data,
      valData: o.valData,
      valShare: o.valShare,
      maxLength: o.maxLength,
      train: {
        epochs: o.epochs,
        batchSize: o.batchSize,
        microBatch: o.microBatch,
        lr: o.lr,
        warmup: o.warmup,
        seed: o.seed,
        evalEvery: o.evalEvery,
        checkpointEvery: o.checkpointEvery,
      },
      resume: o.resume,
      overwrite: o.overwrite,
      stops,
      log: (l) => console.log(l),
      warn: (w) => warn(w),
    });
    if (r.stopped) {
      process.exitCode = stopExitCode(r.stopped);
      return;
    }
    const pct = (m: typeof r.after) => (m ? `${(100 * m.accuracy).toFixed(1)}% of ${m.pairs}` : 'no held-out pairs');
    console.log(
      `done: ${r.steps} steps; held-out ${accuracy} ${r.before ? `${pct(r.before)} -> ` : ''}${pct(r.after)}\nmodel   ${r.modelDir}`,
    );
  } finally {
    stops.dispose();
  }
}
