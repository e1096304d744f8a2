/**
 * `r1ts dpo`: Direct Preference Optimization of a model directory on preference pairs, against a frozen reference
 * copy of the initial model; checkpointed and resumable.
 *   r1ts dpo --model DIR --data pairs.jsonl --out runs/NAME [--beta 0.1] [--val-data F | --val-share x] [--epochs N]
 *            [--lr X] [--batch-size N] [--micro-batch N] [--max-length N] [--seed S] [--resume | --overwrite]
 * Writes OUT/run.json, OUT/metrics.jsonl (loss, implicit rewards of chosen and rejected, margin, accuracy; held-out
 * ones on evaluation steps), OUT/checkpoints and the final policy in OUT/model (Hugging Face layout).
 */
import type { Command } from 'commander';
import { DEFAULT_DPO_BETA, DEFAULT_DPO_TRAIN, trainDpo } from '../../posttrain/dpo.js';
import { DEFAULT_VAL_SHARE } from '../../posttrain/pair_run.js';
import { flagsOf, nums, shownDefault } from '../flags.js';
import { type PairFlags, addPairFlags, runPairCommand } from './pair-flags.js';

interface DpoFlags extends PairFlags {
  beta?: number;
}

export function registerDpo(program: Command): void {
  const cmd = program
    .command('dpo')
    .description(
      'Direct Preference Optimization on preference pairs against a frozen copy of the initial model; resumable',
    );
  addPairFlags(
    cmd,
    DEFAULT_DPO_TRAIN,
    DEFAULT_VAL_SHARE,
    'the initial policy and the reference (config.json, model.safetensors, tokenizer.json); required for a new run',
  );
  cmd
    .addOption(
      flagsOf(cmd).num(
        '--beta <b>',
        'strength of the tie to the reference (implicit reward = beta x log pi/pi_ref)',
        nums(0, 1e6, true),
        shownDefault(String(DEFAULT_DPO_BETA)),
      ),
    )
    .action((o: DpoFlags) =>
      runPairCommand('dpo', o, 'implicit-reward accuracy', (opts) => trainDpo({ ...opts, beta: o.beta })),
    );
}
