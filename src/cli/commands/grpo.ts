/**
 * `r1ts grpo`: R1-Zero reinforcement learning of a model directory on a built-in task (or a JSONL of problems) with
 * GRPO and rule-based rewards; checkpointed and resumable.
 *   r1ts grpo --model DIR --task TASK --out runs/NAME [--steps N] [--group-size G] [--prompts-per-step P] [--lr X]
 *             [--beta B] [--epsilon E] [--epsilon-high E] [--loss grpo|dr-grpo|dapo] [--mu M] [--mini-batches K]
 *             [--max-tokens N] [--temperature T] [--rewards accuracy=1,format=1,rm:DIR@summary=0.5] [--reward-module FILE]...
 *             [--overlong none|mask|penalty] [--difficulty D] [--seed S] [--config FILE.json] [--resume]
 * Writes OUT/run.json (what was asked), OUT/metrics.jsonl, OUT/checkpoints/step-*, and the final OUT/model.
 * `--resume` continues the run in OUT with its saved settings (only --steps may change, to extend it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadModelAndTokenizer } from '../../io/load.js';
import { SAMPLING_RANGES, checkSamplingParams } from '../../infer/sampling.js';
import { DEFAULT_GRPO_CONFIG, GRPO_RANGES, resolveGrpoConfig, type GrpoConfig } from '../../rl/config.js';
import { LOSS_TYPES } from '../../rl/grpo.js';
import { listSource, loadJsonlProblems, taskSource, type ProblemSource } from '../../rl/problems.js';
import {
  type RewardFn,
  type ResponseScorer,
  loadRewardModule,
  parseRewardModelName,
  parseRewardWeights,
} from '../../rl/rewards.js';
import { loadRewardModel } from '../../posttrain/reward_model.js';
import { GRPO_RESUME_RULE, runGrpoAsync } from '../../rl/trainer.js';
import { RunDir } from '../../train/run_dir.js';
import { StopRequests, stopExitCode } from '../../train/signals.js';
import { readConfigFile } from '../../io/model_dir.js';
import { generationBytes } from '../../infer/memory.js';
import {
  type Flags,
  type ProgressFlags,
  SAMPLING_FLAG_NAMES,
  checkFits,
  flagsOf,
  nums,
  progressFor,
  progressOptions,
  samplingOptions,
  shownDefault,
} from '../flags.js';
import type { Progress } from '../../util/progress.js';
import { warn } from '../warn.js';

interface GrpoFlags extends ProgressFlags {
  model?: string;
  task?: string;
  out: string;
  tokenizer?: string;
  config?: Record<string, unknown>;
  steps?: number;
  groupSize?: number;
  promptsPerStep?: number;
  miniBatches?: number;
  mu?: number;
  lr?: number;
  beta?: number;
  epsilon?: number;
  epsilonHigh?: number;
  loss?: string;
  maxTokens?: number;
  temperature?: number;
  rewards?: string;
  rewardModule?: string[];
  overlong?: string;
  difficulty?: string;
  seed?: number;
  rolloutWorkers?: number | 'auto';
  resume?: boolean;
  overwrite?: boolean;
}

/** What `run.json` records so that `--resume` can rebuild the run. */
export interface GrpoRunSpec {
  model: string;
  task: string;
  tokenizer: string | null;
  rewardModules: string[];
  /** The reward models of `rm:PATH[@part]` rewards: reward name -> absolute path (absent in older runs). */
  rewardModels?: Record<string, string>;
  config: GrpoConfig;
  [key: string]: unknown;
}

function problemSource(task: string, c: GrpoConfig): ProblemSource {
  if (task.endsWith('.jsonl') || (fs.existsSync(task) && fs.statSync(task).isFile()))
    return listSource(task, loadJsonlProblems(task), c.seed);
  return taskSource(task, { split: 'train', seed: c.seed, difficulty: c.difficulty ?? undefined });
}

async function grpoCommand(o: GrpoFlags): Promise<void> {
  if (o.resume && o.overwrite) throw new Error('grpo: --resume and --overwrite exclude each other');
  const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
  const progress = progressFor(o);
  let run: RunDir | null = null;
  try {
    run = RunDir.open({
      dir: o.out,
      command: 'grpo',
      mode: o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new',
      inputs: [o.model, o.task, o.tokenizer, ...(o.rewardModule ?? [])].filter((x) => x !== undefined),
      log: (l) => progress.line(l),
      stops,
    });
    await grpoIn(run, o, progress);
  } finally {
    run?.close();
    stops.dispose();
  }
}

async function grpoIn(run: RunDir, o: GrpoFlags, progress: Progress): Promise<void> {
  const c = 'grpo';
  const base = run.mode === 'resume' ? (run.settings as GrpoRunSpec) : null;
  const model = o.model !== undefined ? path.resolve(o.model) : base?.model;
  const task = o.task ?? base?.task;
  if (!model) throw new Error('grpo: --model is required');
  if (!task) throw new Error('grpo: --task is required');
  const modules = o.rewardModule ?? base?.rewardModules ?? [];
  const user: Record<string, RewardFn> = {};
  for (const m of modules) Object.assign(user, await loadRewardModule(m));
  // the sampling flags given, checked as the library checks them (GRPO samples: temperature > 0)
  checkSamplingParams(
    { temperature: o.temperature, maxTokens: o.maxTokens, seed: o.seed, n: o.groupSize },
    { who: c, names: { ...SAMPLING_FLAG_NAMES, n: '--group-size' }, greedy: false },
  );
  const flags: Record<string, unknown> = {
    steps: o.steps,
    groupSize: o.groupSize,
    promptsPerStep: o.promptsPerStep,
    miniBatches: o.miniBatches,
    mu: o.mu,
    lr: o.lr,
    beta: o.beta,
    epsilon: o.epsilon,
    epsilonHigh: o.epsilonHigh,
    loss: o.loss,
    maxTokens: o.maxTokens,
    temperature: o.temperature,
    rewards: o.rewards !== undefined ? parseRewardWeights(o.rewards, Object.keys(user)) : undefined,
    overlong: o.overlong,
    difficulty: o.difficulty,
    seed: o.seed,
  };
  const config = resolveGrpoConfig(flags, resolveGrpoConfig(o.config ?? {}, base?.config));
  const rmPaths = Object.fromEntries(
    Object.keys(config.rewards).flatMap((name) => {
      const rm = parseRewardModelName(name);
      return rm ? [[name, base?.rewardModels?.[name] ?? path.resolve(rm.path)]] : [];
    }),
  );
  const spec: GrpoRunSpec = {
    model,
    task,
    tokenizer: o.tokenizer ?? base?.tokenizer ?? null,
    rewardModules: modules,
    ...(Object.keys(rmPaths).length ? { rewardModels: rmPaths } : {}),
    config,
  };
  if (base) run.resume(spec, GRPO_RESUME_RULE);
  // a step keeps promptsPerStep x G responses; the prompt is at least the template
  const samples = config.promptsPerStep * config.groupSize;
  const maxTokens = Math.max(config.maxTokens, config.maxTokensRaise?.maxTokens ?? 0);
  checkFits(
    c,
    generationBytes(readConfigFile(model).config, {
      rows: Math.min(config.genBatch, samples),
      promptTokens: Buffer.byteLength(config.template),
      maxTokens,
      samples,
    }),
    `--prompts-per-step ${config.promptsPerStep} x --group-size ${config.groupSize} responses of up to --max-tokens ${maxTokens} tokens`,
  );
  const { model: policy, tok, warnings } = loadModelAndTokenizer(model, o.tokenizer ?? base?.tokenizer ?? undefined);
  warn(...warnings);
  const rewardModels: Record<string, ResponseScorer> = {};
  for (const [name, dir] of Object.entries(rmPaths)) {
    try {
      rewardModels[name] = loadRewardModel(dir, { warn: (w) => warn(w) });
    } catch (e) {
      throw new Error(`${c}: --rewards ${name}: ${(e as Error).message}`);
    }
  }
  const source = problemSource(task, config);
  if (!base) run.start(spec);
  const t0 = performance.now();
  const r = await runGrpoAsync({
    run,
    policy,
    codec: tok,
    source,
    config,
    userRewards: user,
    rewardModels,
    meta: { model, task },
    progress,
    rolloutWorkers: o.rolloutWorkers === 'auto' || o.rolloutWorkers === undefined ? undefined : o.rolloutWorkers,
  });
  if (r.stopped) {
    process.exitCode = stopExitCode(r.stopped);
    return;
  }
  const last = r.history[r.history.length - 1];
  console.log(
    `done: ${r.steps} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      (last
        ? `; last reward ${last.reward.toFixed(3)}${last.accuracy !== null ? `, accuracy ${(100 * last.accuracy).toFixed(1)}%` : ''}`
        : '') +
      `\nmodel   ${r.modelDir}\nmetrics ${path.join(o.out, 'metrics.jsonl')}`,
  );
}

/** `(default: X)` for a GRPO setting: the library's default (a resumed run keeps its own unless the flag is given). */
const dflt = (k: keyof GrpoConfig) => shownDefault(String(DEFAULT_GRPO_CONFIG[k]));

function grpoIntOption(f: Flags, flags: string, description: string, k: keyof typeof GRPO_RANGES) {
  return f.int(flags, description, GRPO_RANGES[k]!, dflt(k));
}

export function registerGrpo(program: Command): void {
  const cmd = program
    .command('grpo')
    .description(
      'R1-Zero RL with GRPO and rule-based rewards on a built-in task or JSONL problems (checkpointed, resumable)',
    );
  const f = flagsOf(cmd);
  const positive = nums(0, Infinity, true);
  cmd
    .requiredOption('--out <dir>', 'run directory (runs/NAME)')
    .addOption(
      f.input(
        '--model <dir>',
        'base model directory (config.json, model.safetensors, tokenizer.json); required for a new run',
        'dir',
        false,
        shownDefault("the run's, with --resume"),
      ),
    )
    .addOption(
      f.text(
        '--task <name|file>',
        'built-in task (add, mul, countdown, lineq, sort, modpow) or a .jsonl of {"prompt","answer"}; required for a new run',
        shownDefault("the run's, with --resume"),
      ),
    )
    .addOption(f.input('--tokenizer <file>', 'tokenizer.json (default: the one in --model)', 'file or dir'))
    .addOption(
      f.json('--config <file>', 'JSON object of GRPO settings (camelCase keys), under the flags', shownDefault('none')),
    )
    .addOption(grpoIntOption(f, '--steps <n>', 'rollout steps', 'steps'))
    .addOption(f.int('--group-size <g>', 'samples per problem, G (R1-Zero: 16)', SAMPLING_RANGES.n, dflt('groupSize')))
    .addOption(grpoIntOption(f, '--prompts-per-step <p>', 'problems per rollout', 'promptsPerStep'))
    .addOption(grpoIntOption(f, '--mini-batches <k>', 'optimizer steps per rollout', 'miniBatches'))
    .addOption(grpoIntOption(f, '--mu <m>', 'inner epochs per rollout', 'mu'))
    .addOption(f.num('--lr <x>', 'learning rate', positive, dflt('lr')))
    .addOption(f.num('--beta <b>', 'KL weight; 0 keeps no reference model', nums(0), dflt('beta')))
    .addOption(f.num('--epsilon <e>', 'clip range', positive, dflt('epsilon')))
    .addOption(f.num('--epsilon-high <e>', 'upper clip range for clip-higher', positive, shownDefault('= --epsilon')))
    .addOption(f.choice('--loss <type>', 'policy loss', LOSS_TYPES, dflt('loss')));
  for (const o of samplingOptions(f, { maxTokens: dflt('maxTokens'), temperature: dflt('temperature') }))
    cmd.addOption(o);
  cmd
    .addOption(f.int('--seed <s>', 'seed of the problem order and the sampling', SAMPLING_RANGES.seed, dflt('seed')))
    .option(
      '--rewards <list>',
      `reward weights, e.g. accuracy=1,format=1,language=0.1; a reward model: rm:DIR=W (the whole response) or rm:DIR@summary=W (the text after </think>) (default: ${Object.entries(
        DEFAULT_GRPO_CONFIG.rewards,
      )
        .map(([k, w]) => `${k}=${w}`)
        .join(',')})`,
    )
    .addOption(
      f.input(
        '--reward-module <file...>',
        'JS/TS module(s) exporting reward functions (name them in --rewards)',
        'file',
        true,
        shownDefault('none'),
      ),
    )
    .addOption(
      f.choice('--overlong <mode>', 'truncated responses', ['none', 'mask', 'penalty'] as const, dflt('overlong')),
    )
    .option('--difficulty <d>', "task difficulty N or A-B (default: the task's)")
    .addOption(
      f.workers(
        '--rollout-workers <n>',
        'threads that generate the rollouts, the rows split between them, one kernel thread each; the same rollouts as 1 (auto: 2 on 2+ cores for models of hidden size <= 256)',
        'auto',
      ),
    )
    .option('--resume', 'continue the run in --out from its latest checkpoint (--steps, --lr, --max-tokens may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it');
  for (const opt of progressOptions(f)) cmd.addOption(opt);
  cmd.action(grpoCommand);
}
