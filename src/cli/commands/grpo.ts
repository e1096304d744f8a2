/**
 * `r1ts grpo`: R1-Zero reinforcement learning of a model directory on a built-in task (or a JSONL of problems) with
 * GRPO and rule-based rewards; checkpointed and resumable.
 *   r1ts grpo --model DIR --task TASK --out runs/NAME [--steps N] [--group-size G] [--prompts-per-step P] [--lr X]
 *             [--beta B] [--epsilon E] [--epsilon-high E] [--loss grpo|dr-grpo|dapo] [--mu M] [--mini-batches K]
 *             [--max-tokens N] [--temperature T] [--rewards accuracy=1,format=1] [--reward-module FILE]...
 *             [--overlong none|mask|penalty] [--difficulty D] [--seed S] [--config FILE.json] [--resume | --overwrite]
 * OUT is a run directory (src/train/run_dir.ts): run.json (what was asked, and the history of resumes), metrics.jsonl,
 * checkpoints/step-*, and the final model/. `--resume` continues the run with its recorded settings; the flags that
 * GRPO_RESUME_RULE allows (--steps, --lr, --max-tokens, ...) may change and are recorded, the others are an error.
 * Ctrl-C / SIGTERM stop at the end of a step with a checkpoint and exit 130 / 143.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readJsonObject } from '../../io/json.js';
import { resolveGrpoConfig, type GrpoConfig } from '../../rl/config.js';
import { listSource, loadJsonlProblems, taskSource, type ProblemSource } from '../../rl/problems.js';
import { loadRewardModule, parseRewardWeights, type RewardFn } from '../../rl/rewards.js';
import { GRPO_RESUME_RULE, runGrpoAsync } from '../../rl/trainer.js';
import { RunDir } from '../../train/run_dir.js';
import { StopRequests, stopExitCode } from '../../train/signals.js';
import { loadModelAndTokenizer, numFlag } from './generate.js';

interface GrpoFlags {
  model?: string;
  task?: string;
  out: string;
  tokenizer?: string;
  config?: string;
  steps?: string;
  groupSize?: string;
  promptsPerStep?: string;
  miniBatches?: string;
  mu?: string;
  lr?: string;
  beta?: string;
  epsilon?: string;
  epsilonHigh?: string;
  loss?: string;
  maxTokens?: string;
  temperature?: string;
  rewards?: string;
  rewardModule?: string[];
  overlong?: string;
  difficulty?: string;
  seed?: string;
  resume?: boolean;
  overwrite?: boolean;
}

/** What `run.json` records so that `--resume` can rebuild the run. */
export interface GrpoRunSpec {
  model: string;
  task: string;
  tokenizer: string | null;
  rewardModules: string[];
  config: GrpoConfig;
  [key: string]: unknown;
}

function problemSource(task: string, c: GrpoConfig): ProblemSource {
  if (task.endsWith('.jsonl') || (fs.existsSync(task) && fs.statSync(task).isFile()))
    return listSource(task, loadJsonlProblems(task), c.seed);
  return taskSource(task, { split: 'train', seed: c.seed, difficulty: c.difficulty ?? undefined });
}

async function grpoCommand(o: GrpoFlags): Promise<void> {
  const c = 'grpo';
  if (o.resume && o.overwrite) throw new Error('grpo: --resume and --overwrite exclude each other');
  const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
  let run: RunDir | null = null;
  try {
    run = RunDir.open({
      dir: o.out,
      command: c,
      mode: o.resume ? 'resume' : o.overwrite ? 'overwrite' : 'new',
      inputs: [o.model, o.task, o.tokenizer, o.config, ...(o.rewardModule ?? [])].filter((x) => x !== undefined),
      log: (l) => console.log(l),
      stops,
    });
    await grpoIn(run, o);
  } finally {
    run?.close();
    stops.dispose();
  }
}

async function grpoIn(run: RunDir, o: GrpoFlags): Promise<void> {
  const c = 'grpo';
  const base = run.mode === 'resume' ? (run.settings as GrpoRunSpec) : null;
  const model = o.model !== undefined ? path.resolve(o.model) : base?.model;
  const task = o.task ?? base?.task;
  if (!model) throw new Error('grpo: --model is required');
  if (!task) throw new Error('grpo: --task is required');
  const modules = o.rewardModule ?? base?.rewardModules ?? [];
  const user: Record<string, RewardFn> = {};
  for (const m of modules) Object.assign(user, await loadRewardModule(m));
  const fileCfg = o.config ? readJsonObject(o.config, '--config') : {};
  const flags: Record<string, unknown> = {
    steps: numFlag(c, '--steps', o.steps, { int: true, min: 0 }),
    groupSize: numFlag(c, '--group-size', o.groupSize, { int: true, min: 1 }),
    promptsPerStep: numFlag(c, '--prompts-per-step', o.promptsPerStep, { int: true, min: 1 }),
    miniBatches: numFlag(c, '--mini-batches', o.miniBatches, { int: true, min: 1 }),
    mu: numFlag(c, '--mu', o.mu, { int: true, min: 1 }),
    lr: numFlag(c, '--lr', o.lr, { min: 0 }),
    beta: numFlag(c, '--beta', o.beta, { min: 0 }),
    epsilon: numFlag(c, '--epsilon', o.epsilon, { min: 0 }),
    epsilonHigh: numFlag(c, '--epsilon-high', o.epsilonHigh, { min: 0 }),
    loss: o.loss,
    maxTokens: numFlag(c, '--max-tokens', o.maxTokens, { int: true, min: 1 }),
    temperature: numFlag(c, '--temperature', o.temperature, { min: 0 }),
    rewards: o.rewards !== undefined ? parseRewardWeights(o.rewards, Object.keys(user)) : undefined,
    overlong: o.overlong,
    difficulty: o.difficulty,
    seed: numFlag(c, '--seed', o.seed, { int: true, min: 0 }),
  };
  const config = resolveGrpoConfig(flags, resolveGrpoConfig(fileCfg, base?.config));
  const spec: GrpoRunSpec = {
    model,
    task,
    tokenizer: o.tokenizer ?? base?.tokenizer ?? null,
    rewardModules: modules,
    config,
  };
  if (base) run.resume(spec, GRPO_RESUME_RULE);
  const { model: policy, tok } = loadModelAndTokenizer(c, model, o.tokenizer ?? base?.tokenizer ?? undefined);
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
    meta: { model, task },
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

export function registerGrpo(program: Command): void {
  program
    .command('grpo')
    .description(
      'R1-Zero RL with GRPO and rule-based rewards on a built-in task or JSONL problems (checkpointed, resumable)',
    )
    .requiredOption('--out <dir>', 'run directory (runs/NAME)')
    .option('--model <dir>', 'base model directory (config.json, model.safetensors, tokenizer.json)')
    .option(
      '--task <name|file>',
      'built-in task (add, mul, countdown, lineq, sort, modpow) or a .jsonl of {"prompt","answer"}',
    )
    .option('--tokenizer <file>', 'tokenizer.json (default: the one in --model)')
    .option('--config <file>', 'JSON object of GRPO settings (camelCase keys), under the flags')
    .option('--steps <n>', 'rollout steps (default 50)')
    .option('--group-size <g>', 'samples per problem, G (default 8; R1-Zero 16)')
    .option('--prompts-per-step <p>', 'problems per rollout (default 8)')
    .option('--mini-batches <k>', 'optimizer steps per rollout (default 1)')
    .option('--mu <m>', 'inner epochs per rollout (default 1)')
    .option('--lr <x>', 'learning rate (default 1e-4)')
    .option('--beta <b>', 'KL weight; 0 keeps no reference model (default 0.001)')
    .option('--epsilon <e>', 'clip range (default 0.2)')
    .option('--epsilon-high <e>', 'upper clip range for clip-higher (default = epsilon)')
    .option('--loss <type>', 'grpo|dr-grpo|dapo (default grpo)')
    .option('--max-tokens <n>', 'response budget (default 128)')
    .option('--temperature <t>', 'rollout temperature (default 1)')
    .option('--rewards <list>', 'weights, e.g. accuracy=1,format=1,language=0.1')
    .option('--reward-module <file...>', 'JS/TS module(s) exporting reward functions (name them in --rewards)')
    .option('--overlong <mode>', 'truncated responses: none|mask|penalty (default none)')
    .option('--difficulty <d>', 'task difficulty N or A-B')
    .option('--seed <s>', 'seed (default 0)')
    .option('--resume', 'continue the run in --out from its latest checkpoint (--steps, --lr, --max-tokens may change)')
    .option('--overwrite', 'start a new run in --out even if it holds one, deleting it')
    .action(grpoCommand);
}
