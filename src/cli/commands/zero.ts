/**
 * `r1ts zero`: the R1-Zero main job on built-in data, end to end:
 *   1. pre-train the tiny base (or reuse OUT/base/model, or --base DIR),
 *   2. evaluate it on held-out problems (pass@1 over k samples, cons@k, mean response length),
 *   3. run R1-Zero GRPO with rule-based rewards (accuracy + format) on the task's train split,
 *   4. evaluate again and print a before/after table with the paths of the models and metrics.
 * Run again with the same --out after an interruption, it carries on: a finished base is reused, and an interrupted
 * pre-training or GRPO run resumes from its last checkpoint (each resumes exactly, as `--resume` does).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { pretrain } from '../../train/pretrain.js';
import { PRESETS } from '../../train/presets.js';
import { latestCheckpoint } from '../../train/checkpoint.js';
import { evaluate, type EvalResult } from '../../eval/eval.js';
import { taskProblems, taskSource } from '../../rl/problems.js';
import { resolveGrpoConfig } from '../../rl/config.js';
import { runGrpo } from '../../rl/trainer.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import { SAMPLING_RANGES } from '../../infer/sampling.js';
import { GRPO_RANGES } from '../../rl/config.js';
import { PROBLEMS_RANGE, SEED_RANGE, STEPS_RANGE, flagsOf, nums, shownDefault } from '../flags.js';
import { warn } from '../warn.js';

interface ZeroFlags {
  out: string;
  base?: string;
  task: string;
  difficulty: string;
  pretrainSteps: number;
  steps: number;
  lr: number;
  promptsPerStep: number;
  n: number;
  k: number;
  seed: number;
}

/**
 * The main job pre-trains the tiny preset longer than the preset's own run: after 2000 steps the base's worked
 * solutions are right about half the time (1500: about a quarter), and R1-Zero's gain is bounded by that accuracy
 * (RL teaches the base to work problems out; it learns little new arithmetic from a 1-bit reward).
 */
export const ZERO_PRETRAIN_STEPS = 2000;

function row(name: string, r: EvalResult): string {
  const pct = (x: number | null) => (x === null ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);
  return `${name.padEnd(8)} ${pct(r['pass@1'])}  ${pct(r['cons@k'])}  ${pct(r.greedy)}  ${pct(r.formatRate)}  ${r.meanLength.toFixed(1).padStart(7)}`;
}

export function registerZero(program: Command): void {
  const cmd = program
    .command('zero')
    .description('R1-Zero main job: pretrain the tiny base on built-in data, evaluate, GRPO, evaluate again');
  const f = flagsOf(cmd);
  cmd
    .option('--out <dir>', 'run directory', 'runs/zero')
    .addOption(
      f.input(
        '--base <dir>',
        'use this base model directory instead of pre-training one',
        'dir',
        false,
        shownDefault('pre-train one in OUT/base'),
      ),
    )
    .option('--task <name>', 'built-in task for RL and evaluation', 'lineq')
    .option('--difficulty <d>', 'task difficulty N or A-B', '1')
    .addOption(
      f.int(
        '--pretrain-steps <n>',
        `pre-training steps of the tiny preset (more than its own ${PRESETS.tiny.train.steps}: RL needs a base whose worked solutions are often right)`,
        STEPS_RANGE,
        ZERO_PRETRAIN_STEPS,
      ),
    )
    .addOption(f.int('--steps <n>', 'GRPO steps', STEPS_RANGE, 100))
    .addOption(f.num('--lr <x>', 'GRPO learning rate', nums(0, Infinity, true), 1e-4))
    .addOption(
      f.int('--prompts-per-step <p>', 'GRPO problems per step (G = 8 samples each)', GRPO_RANGES.promptsPerStep!, 16),
    )
    .addOption(f.int('--n <n>', 'held-out problems to evaluate', PROBLEMS_RANGE, 64))
    .addOption(f.int('--k <k>', 'samples per problem', SAMPLING_RANGES.n, 8))
    .addOption(f.int('--seed <s>', 'seed', SEED_RANGE, 0))
    .action(async (o: ZeroFlags) => {
      const t0 = performance.now();
      const mins = (): string => `${((performance.now() - t0) / 60000).toFixed(1)} min`;
      const { steps, promptsPerStep, lr, n, k, seed, pretrainSteps } = o;
      let baseDir = o.base;
      if (!baseDir) {
        const baseRun = path.join(o.out, 'base');
        baseDir = path.join(baseRun, 'model');
        if (fs.existsSync(path.join(baseDir, 'model.safetensors'))) {
          console.log(`[1/4] reusing the base model in ${baseDir}`);
        } else if (
          fs.existsSync(path.join(baseRun, 'run.json')) &&
          latestCheckpoint(path.join(baseRun, 'checkpoints'))
        ) {
          // an interrupted zero: carry on where pre-training stopped (the same loss curve as an uninterrupted run)
          console.log('[1/4] resuming the interrupted pre-training of the tiny base');
          await pretrain({ outDir: baseRun, preset: 'tiny', resume: true, workers: 'auto', steps: pretrainSteps });
        } else {
          console.log('[1/4] pre-training the tiny base model on the built-in corpus');
          await pretrain({
            outDir: baseRun,
            preset: 'tiny',
            seed,
            workers: 'auto',
            steps: pretrainSteps,
          });
        }
      } else {
        console.log(`[1/4] base model: ${baseDir}`);
      }
      console.log(`      base ready after ${mins()}`);
      const { model, tok, warnings } = loadModelAndTokenizer(baseDir);
      warn(...warnings);
      const problems = taskProblems(o.task, n, { split: 'test', seed, difficulty: o.difficulty });
      const evalOpts = { k, temperature: 0.6, topP: 0.95, seed };
      console.log(
        `[2/4] evaluating the base on ${problems.length} held-out ${o.task} problems (k=${k}, T=0.6, top-p 0.95)`,
      );
      const before = evaluate(model, tok, problems, evalOpts);
      console.log(`[3/4] R1-Zero GRPO: ${steps} steps on ${o.task} (train split, difficulty ${o.difficulty})`);
      const rlDir = path.join(o.out, 'grpo');
      const config = resolveGrpoConfig({ steps, seed, difficulty: o.difficulty, lr, promptsPerStep });
      const resume =
        !fs.existsSync(path.join(rlDir, 'model', 'model.safetensors')) &&
        latestCheckpoint(path.join(rlDir, 'checkpoints')) !== null;
      if (resume) console.log('      resuming the interrupted GRPO run');
      const res = runGrpo({
        outDir: rlDir,
        policy: model,
        codec: tok,
        source: taskSource(o.task, { split: 'train', seed, difficulty: o.difficulty }),
        config,
        resume,
      });
      console.log('[4/4] evaluating the RL model');
      model.eval();
      const after = evaluate(model, tok, problems, evalOpts);
      console.log('');
      console.log(`${o.task} (difficulty ${o.difficulty}), ${problems.length} held-out problems, k=${k}`);
      console.log('model     pass@1   cons@k   greedy   format  mean len');
      console.log(row('base', before));
      console.log(row('r1-zero', after));
      console.log('');
      console.log(`base model: ${baseDir}`);
      console.log(`RL model:   ${res.modelDir}`);
      console.log(`metrics:    ${path.join(rlDir, 'metrics.jsonl')}`);
      console.log(`total:      ${mins()}`);
    });
}
