/**
 * `r1ts zero`: the R1-Zero main job on built-in data, end to end:
 *   1. pre-train the tiny base (or reuse OUT/base/model, or --base DIR) on the built-in corpus, by default the
 *      templated style (R1-Zero prompt + tagged solutions: the base follows the format before RL); `--corpus plain`
 *      never shows the template nor a tagged solution, so the format has to emerge under RL as in R1-Zero (on the
 *      tiny preset it does not yet: README),
 *   2. evaluate it on held-out problems (pass@1 over k samples, cons@k, greedy, format rate, mean response length,
 *      reflection rate: src/rl/reflection.ts),
 *   3. run R1-Zero GRPO with rule-based rewards (accuracy + format) on the task's train split,
 *   4. evaluate again and print a before/after table with the paths of the models and metrics.
 * Run again with the same --out, it carries on: a finished stage is skipped (its settings are checked first: a stage
 * asked with other settings is an error naming them), and an interrupted pre-training or GRPO run resumes from its
 * last checkpoint (exactly, as `--resume` does; the settings its resume rule allows to change, such as --steps, are
 * applied and recorded). `--overwrite` starts both stages over. Ctrl-C / SIGTERM during a stage stop it at the end of
 * a step with a checkpoint and exit 130 / 143; the same command continues.
 * At the end it writes OUT/zero.json (the before/after evaluation) and OUT/report.html (`r1ts report OUT`: the
 * table and the curves of both stages) and prints the report's path. Progress: one live line per phase on a
 * terminal, a line every --log-every steps on a pipe (src/util/progress.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { type PretrainResult, pretrain } from '../../train/pretrain.js';
import { PRESETS } from '../../train/presets.js';
import { latestCheckpoint } from '../../train/checkpoint.js';
import {
  RunDir,
  type RunMode,
  type SettingChange,
  readRunRecord,
  runContents,
  runFinished,
  settingLabel,
  settingsDiff,
  showSetting,
} from '../../train/run_dir.js';
import { StopRequests, type StopSignal, stopExitCode } from '../../train/signals.js';
import { evaluate, type EvalResult } from '../../eval/eval.js';
import { taskProblems, taskSource } from '../../rl/problems.js';
import { resolveGrpoConfig } from '../../rl/config.js';
import { GRPO_RESUME_RULE, type GrpoResult, runGrpoAsync } from '../../rl/trainer.js';
import type { GrpoRunSpec } from './grpo.js';
import { loadModelAndTokenizer } from '../../io/load.js';
import { SAMPLING_RANGES } from '../../infer/sampling.js';
import { GRPO_RANGES } from '../../rl/config.js';
import {
  PROBLEMS_RANGE,
  type ProgressFlags,
  SEED_RANGE,
  STEPS_RANGE,
  flagsOf,
  nums,
  progressFor,
  progressOptions,
  shownDefault,
} from '../flags.js';
import { warn } from '../warn.js';
import { writeJsonFile } from '../../io/json.js';
import { CORPUS_STYLES, type CorpusStyle, DEFAULT_CORPUS_STYLE } from '../../data/corpus.js';
import { ZERO_FILE, ZERO_FORMAT, type ZeroRecord } from '../../report/runs.js';
import { writeReport } from '../../report/html.js';

interface ZeroFlags extends ProgressFlags {
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
  rolloutWorkers: number | 'auto';
  corpus: CorpusStyle;
  overwrite?: boolean;
}

/**
 * The main job pre-trains the tiny preset longer than the preset's own run: after 2000 steps the base's worked
 * solutions are right about half the time (1500: about a quarter), and R1-Zero's gain is bounded by that accuracy
 * (RL teaches the base to work problems out; it learns little new arithmetic from a 1-bit reward).
 */
export const ZERO_PRETRAIN_STEPS = 2000;

/** What zero reads of a base run's run.json. */
interface BaseSettings {
  preset?: unknown;
  seed?: unknown;
  data?: string[];
  corpus?: CorpusStyle;
  train?: { steps?: unknown };
}

/** "--pretrain-steps 30, not 40" */
function differences(d: SettingChange[]): string {
  return d.map((c) => `${settingLabel(c)} ${showSetting(c.from)}, not ${showSetting(c.to)}`).join('; ');
}

/**
 * How the base stage runs: reuse a finished base (its preset, seed and steps must be the ones asked), resume an
 * interrupted one, or start one.
 */
function baseMode(
  baseRun: string,
  seed: number,
  steps: number,
  corpus: CorpusStyle,
  overwrite: boolean,
): RunMode | 'reuse' {
  if (overwrite) return 'overwrite';
  const rec = readRunRecord(baseRun);
  if (!rec) {
    if (fs.existsSync(path.join(baseRun, 'model', 'model.safetensors'))) return 'reuse'; // a model put there by hand
    return 'new';
  }
  const asked = { preset: 'tiny', seed, corpus, train: { steps } };
  const s = rec.settings as BaseSettings;
  // a base run records its corpus style; one from before styles does not, and its generated corpus was templated; a
  // base trained on given data (a run put there by hand) has no style to compare
  const generated = s.data?.length === 1 && s.data[0] === path.resolve(baseRun, 'data', 'corpus.jsonl');
  const have = {
    preset: s.preset,
    seed: s.seed,
    corpus: s.corpus ?? (generated ? 'templated' : corpus),
    train: { steps: s.train?.steps },
  };
  const flags = { preset: 'preset', seed: '--seed', corpus: '--corpus', 'train.steps': '--pretrain-steps' };
  const diff = settingsDiff(have, asked, { flags });
  if (runFinished(baseRun)) {
    if (diff.length)
      throw new Error(
        `zero: ${baseRun} holds a finished base with other settings (${differences(diff)}); extend it with ` +
          `'r1ts pretrain --out ${baseRun} --resume --steps N', or use another --out, or --overwrite to start over`,
      );
    return 'reuse';
  }
  if (latestCheckpoint(path.join(baseRun, 'checkpoints'))) return 'resume';
  console.log(`      ${baseRun} holds a pre-training run without a checkpoint: starting it over`);
  return 'overwrite';
}

/** How the GRPO stage runs: reuse a finished run with the same settings, resume an interrupted one, or start one. */
function grpoMode(rlDir: string, spec: GrpoRunSpec, overwrite: boolean): RunMode | 'reuse' {
  if (overwrite) return 'overwrite';
  const rec = readRunRecord(rlDir);
  if (!rec) {
    if (runContents(rlDir).length)
      throw new Error(`zero: ${rlDir} holds a GRPO run without run.json (an older r1ts); --overwrite starts it over`);
    return 'new';
  }
  const diff = settingsDiff(rec.settings, spec, GRPO_RESUME_RULE);
  if (runFinished(rlDir)) {
    if (diff.length)
      throw new Error(
        `zero: ${rlDir} holds a finished GRPO run with other settings (${differences(diff)}); use another --out, or --overwrite to redo it`,
      );
    return 'reuse';
  }
  if (latestCheckpoint(path.join(rlDir, 'checkpoints'))) return 'resume';
  console.log(`      ${rlDir} holds a GRPO run without a checkpoint: starting it over`);
  return 'overwrite';
}

/**
 * Runs a training stage with Ctrl-C / SIGTERM handlers; returns the signal when the stage was stopped, or when one
 * arrived during its last step (zero then stops before the next stage), after setting the exit status.
 */
async function stage<R extends { stopped: StopSignal | null }>(
  f: (stops: StopRequests) => Promise<R>,
): Promise<{ result: R; stopped: StopSignal | null }> {
  const stops = new StopRequests((l) => process.stderr.write(`${l}\n`));
  try {
    const result = await f(stops);
    const stopped = result.stopped ?? stops.requested;
    if (stopped) {
      process.exitCode = stopExitCode(stopped);
      console.log(`zero: stopped by ${stopped}; run the same command again to continue`);
    }
    return { result, stopped };
  } finally {
    stops.dispose();
  }
}

function row(name: string, r: EvalResult): string {
  const pct = (x: number | null) => (x === null ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);
  return (
    `${name.padEnd(8)} ${pct(r['pass@1'])}  ${pct(r['cons@k'])}  ${pct(r.greedy)}  ${pct(r.formatRate)}  ` +
    `${r.meanLength.toFixed(1).padStart(7)}     ${pct(r.reflectionRate)}`
  );
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
    .addOption(
      f.workers(
        '--rollout-workers <n>',
        "threads that generate GRPO's rollouts, the rows split between them; the same rollouts as 1 (auto: 2 on 2+ cores)",
        'auto',
      ),
    )
    .addOption(
      f.choice(
        '--corpus <style>',
        "the base's corpus: plain (never the R1-Zero template or a tagged solution: the format must emerge under RL, as in R1-Zero) or templated (R1-Zero prompt + tagged solutions: the easier variant)",
        CORPUS_STYLES,
        DEFAULT_CORPUS_STYLE,
      ),
    )
    .option('--overwrite', 'start over: delete the runs in --out (the base unless --base, and the GRPO run)');
  for (const opt of progressOptions(f)) cmd.addOption(opt);
  cmd.action(async (o: ZeroFlags) => {
    const t0 = performance.now();
    const progress = progressFor(o);
    const say = (l: string) => progress.line(l);
    const mins = (): string => `${((performance.now() - t0) / 60000).toFixed(1)} min`;
    const { steps, promptsPerStep, lr, n, k, seed, pretrainSteps } = o;
    const overwrite = o.overwrite === true;
    let baseDir = o.base;
    let baseCorpus: CorpusStyle | undefined;
    if (!baseDir) {
      const baseRun = path.join(o.out, 'base');
      baseDir = path.join(baseRun, 'model');
      const mode = baseMode(baseRun, seed, pretrainSteps, o.corpus, overwrite);
      if (mode === 'reuse') {
        say(`[1/4] reusing the finished base model in ${baseDir}`);
      } else {
        say(
          mode === 'resume'
            ? '[1/4] resuming the interrupted pre-training of the tiny base'
            : `[1/4] pre-training the tiny base model on the built-in corpus (${o.corpus} style)`,
        );
        const { stopped } = await stage<PretrainResult>((stops) =>
          pretrain({
            outDir: baseRun,
            preset: 'tiny',
            seed,
            workers: 'auto',
            steps: pretrainSteps,
            ...(mode === 'resume' ? {} : { corpus: o.corpus }), // a resume keeps the run's (checked above)
            resume: mode === 'resume',
            overwrite: mode === 'overwrite',
            stops,
            progress,
          }),
        );
        if (stopped) return;
      }
      baseCorpus = (readRunRecord(baseRun)?.settings as BaseSettings | undefined)?.corpus;
    } else {
      say(`[1/4] base model: ${baseDir}`);
    }
    say(`      base ready after ${mins()}`);
    const { model, tok, warnings } = loadModelAndTokenizer(baseDir);
    warn(...warnings);
    const problems = taskProblems(o.task, n, { split: 'test', seed, difficulty: o.difficulty });
    const evalOpts = { k, temperature: 0.6, topP: 0.95, seed };
    say(`[2/4] evaluating the base on ${problems.length} held-out ${o.task} problems (k=${k}, T=0.6, top-p 0.95)`);
    const before = evaluate(model, tok, problems, { ...evalOpts, progress, phase: 'eval base' });
    const rlDir = path.join(o.out, 'grpo');
    const config = resolveGrpoConfig({ steps, seed, difficulty: o.difficulty, lr, promptsPerStep });
    const spec: GrpoRunSpec = {
      model: path.resolve(baseDir),
      task: o.task,
      tokenizer: null,
      rewardModules: [],
      config,
    };
    const mode = grpoMode(rlDir, spec, overwrite);
    let rlModel = model;
    if (mode === 'reuse') {
      say(`[3/4] reusing the finished GRPO run in ${rlDir} (same settings)`);
      rlModel = loadModelAndTokenizer(path.join(rlDir, 'model')).model;
    } else {
      say(`[3/4] R1-Zero GRPO: ${steps} steps on ${o.task} (train split, difficulty ${o.difficulty})`);
      if (mode === 'resume') say('      resuming the interrupted GRPO run');
      const { stopped } = await stage<GrpoResult>(async (stops) => {
        const run = RunDir.open({ dir: rlDir, command: 'grpo', mode, inputs: [baseDir], stops, log: say });
        try {
          if (mode === 'resume') run.resume(spec, GRPO_RESUME_RULE);
          else run.start(spec);
          return await runGrpoAsync({
            run,
            policy: model,
            codec: tok,
            source: taskSource(o.task, { split: 'train', seed, difficulty: o.difficulty }),
            config,
            progress,
            rolloutWorkers: o.rolloutWorkers === 'auto' ? undefined : o.rolloutWorkers,
          });
        } finally {
          run.close();
        }
      });
      if (stopped) return;
    }
    say('[4/4] evaluating the RL model');
    rlModel.eval();
    const after = evaluate(rlModel, tok, problems, { ...evalOpts, progress, phase: 'eval r1-zero' });
    const { problems: _b, ...baseEval } = before;
    const { problems: _a, ...rlEval } = after;
    const record: ZeroRecord = {
      format: ZERO_FORMAT,
      task: o.task,
      difficulty: o.difficulty,
      ...(baseCorpus ? { corpus: baseCorpus } : {}),
      n: problems.length,
      k,
      temperature: evalOpts.temperature,
      topP: evalOpts.topP,
      base: baseEval,
      rl: rlEval,
      baseModel: path.resolve(baseDir),
      rlModel: path.resolve(rlDir, 'model'),
    };
    writeJsonFile(path.join(o.out, ZERO_FILE), record);
    const report = writeReport(o.out);
    console.log('');
    console.log(`${o.task} (difficulty ${o.difficulty}), ${problems.length} held-out problems, k=${k}`);
    console.log('model     pass@1   cons@k   greedy   format  mean len  reflection');
    console.log(row('base', before));
    console.log(row('r1-zero', after));
    console.log('');
    console.log(`base model: ${baseDir}`);
    console.log(`RL model:   ${path.join(rlDir, 'model')}`);
    console.log(`metrics:    ${path.join(rlDir, 'metrics.jsonl')}`);
    console.log(`report:     ${report.file}`);
    console.log(`total:      ${mins()}`);
  });
}
