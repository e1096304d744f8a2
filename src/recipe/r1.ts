/**
 * The R1 recipe's stage runners ([R1v1] 2.3, SPEC section 5), chained in one run directory OUT by library calls (no
 * subprocesses):
 *
 *   base      pre-train the tiny base (OUT/base), or use --base DIR
 *   zero      R1-Zero for comparison: GRPO on the base, R1-Zero prompt, accuracy + format (OUT/zero)
 *   cold      cold-start data (OUT/data/cold_start.jsonl): worked solutions + filtered R1-Zero samples (./cold_start.ts)
 *   sft1      stage 1: SFT of the base on the cold-start data (OUT/sft1)
 *   rl2       stage 2: reasoning GRPO from sft1, chat template, reward accuracy + language consistency (OUT/rl2)
 *   data3     stage 3 data (OUT/data/stage3.jsonl): rejection samples of rl2 (correct and readable) + the built-in
 *             non-reasoning SFT records and refusals of the harmlessness pairs
 *   sft3      stage 3: SFT of the *base* on data3 for 2 epochs (OUT/sft3)
 *   rm        the helpfulness and harmlessness reward models (OUT/rm-helpful, OUT/rm-harmless), from sft3, on the
 *             built-in preference pairs (train split)
 *   rl4       stage 4: GRPO from sft3 over reasoning and general prompts at temperature 0.7; rule rewards (accuracy,
 *             language) for reasoning prompts, the helpfulness model on the summary and the harmlessness model on the
 *             whole response for general prompts (OUT/rl4)
 *
 * Each stage's output is a model directory or a data file. A stage is skipped when complete (a finished run, a data
 * file written atomically); an interrupted training stage resumes from its last checkpoint under its trainer's resume
 * rule. OUT/run.json (RunDir) records every stage's settings; a re-run with other settings is refused by the resume
 * rule (only the evaluation settings may change). After each model stage the model is evaluated on held-out data
 * (./evaluate.ts, cached in OUT/eval/NAME.json) and the table is written to OUT/recipe.json.
 *
 * Deviations from R1, at this scale: the reward models are trained by the recipe on the built-in preference pairs
 * (R1 used DeepSeek-V3's); stage 4's reward models score only the general prompts (on reasoning prompts they would
 * add noise to a group-normalised advantage); non-reasoning SFT data are the built-in SFT tasks, not V3's corpus.
 *
 * Not here: the command line (src/cli/commands/recipe.ts), the evaluation (./evaluate.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getSftTask, SFT_TASKS } from '../data/sft/index.js';
import { sftRecord, sftResponse } from '../data/sft/task.js';
import { prefPairs } from '../data/prefs/index.js';
import type { Lang } from '../data/language.js';
import { writeFileAtomic, writeAll } from '../io/atomic.js';
import { writeJsonFile, readJsonFile } from '../io/json.js';
import { loadModelAndTokenizer } from '../io/load.js';
import { resolveGrpoConfig, type GrpoConfig } from '../rl/config.js';
import type { ProblemSource, RLProblem } from '../rl/problems.js';
import type { ResponseScorer } from '../rl/rewards.js';
import { GRPO_RESUME_RULE, runGrpoAsync } from '../rl/trainer.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { pretrain } from '../train/pretrain.js';
import { type ResumeRule, RunDir, readRunRecord, runFinished } from '../train/run_dir.js';
import type { StopRequests } from '../train/signals.js';
import { type ProgressSink, progressOutput } from '../util/progress.js';
import { loadRewardModel } from '../posttrain/reward_model.js';
import { trainRewardModel } from '../posttrain/rm_train.js';
import { describeCounts, rejectionSample } from '../posttrain/sample.js';
import { taskPrompts } from '../posttrain/sample_prompts.js';
import { sft } from '../posttrain/sft_run.js';
import { type ColdStartRecord, workedColdStart, zeroToColdStart } from './cold_start.js';
import { RecipeProgress } from './progress.js';
import {
  type PromptStyle,
  type RecipeEval,
  type RecipeRow,
  evaluateRecipeModel,
  generalPrompts,
  mixedProblems,
  promptFormat,
  recipeTable,
  winRate,
} from './evaluate.js';

/** The stages in order. */
export const RECIPE_STAGES = ['base', 'zero', 'cold', 'sft1', 'rl2', 'data3', 'sft3', 'rm', 'rl4'] as const;
export type RecipeStage = (typeof RECIPE_STAGES)[number];

/** The models the table has a row for, with the stage that makes each. */
export const RECIPE_MODELS: readonly (readonly [string, RecipeStage, PromptStyle])[] = [
  ['base', 'base', 'r1-zero'],
  ['r1-zero', 'zero', 'r1-zero'],
  ['cold start', 'sft1', 'chat'],
  ['stage 2', 'rl2', 'chat'],
  ['stage 3', 'sft3', 'chat'],
  ['r1', 'rl4', 'chat'],
];

interface GrpoStage {
  steps: number;
  lr: number;
  promptsPerStep: number;
  groupSize: number;
  maxTokens: number;
}
interface SftStage {
  lr: number;
  epochs: number;
  batch: number;
  microBatch: number;
  seqLen: number;
  /** Keep the head of a sample longer than a row instead of skipping it. */
  truncate: boolean;
}

/** Every setting of a recipe run (OUT/run.json). */
export interface RecipeSettings {
  [key: string]: unknown;
  /** A base model directory (absolute), or null: pre-train one in OUT/base. */
  base: string | null;
  seed: number;
  task: string;
  difficulty: string;
  pretrain: { preset: string; steps: number; workers: number | 'auto' };
  zero: GrpoStage;
  cold: { worked: number; zeroPrompts: number; zeroK: number; maxTokens: number };
  sft1: SftStage;
  /** Stage 2: accuracy + languageWeight x language (R1 sums the two). */
  rl2: GrpoStage & { languageWeight: number };
  data3: { prompts: number; k: number; sftPerTask: number; harmless: number; maxTokens: number };
  sft3: SftStage;
  /** The reward models: each kind its own pairs, learning rate, epochs and batch (pairs a step). */
  rm: { helpful: RmStage; harmless: RmStage };
  rl4: GrpoStage & { languageWeight: number; temperature: number; generalShare: number };
  eval: { n: number; k: number; sftN: number; generalN: number; maxTokens: number };
}

/** One reward model's training: `pairs` built-in train pairs of its kind, `epochs` passes in `batch`-pair steps. */
export interface RmStage {
  pairs: number;
  lr: number;
  epochs: number;
  batch: number;
}

const grpo = (steps: number, lr: number, promptsPerStep: number, maxTokens: number): GrpoStage => ({
  steps,
  lr,
  promptsPerStep,
  groupSize: 8,
  maxTokens,
});
const sftStage = (lr: number, epochs: number): SftStage => ({
  lr,
  epochs,
  batch: 16,
  microBatch: 4,
  seqLen: 256,
  truncate: false,
});

/** The default settings (`quick`: about a fifth of the work, for trying the recipe out). */
export function defaultRecipeSettings(quick = false): RecipeSettings {
  const q = (full: number, small: number) => (quick ? small : full);
  return {
    base: null,
    seed: 0,
    task: 'lineq',
    difficulty: '1',
    pretrain: { preset: 'tiny', steps: q(2000, 1500), workers: 'auto' },
    zero: grpo(q(100, 20), 1e-4, q(16, 8), 160),
    cold: { worked: q(2000, 400), zeroPrompts: q(256, 64), zeroK: 4, maxTokens: 160 },
    sft1: sftStage(1e-3, 2),
    rl2: { ...grpo(q(60, 15), 1e-4, q(16, 8), 160), languageWeight: 1 },
    // stage 2's policy is nearly deterministic on its own problems (k=4 at T 0.7 gives about 1.3 distinct correct
    // responses per prompt; duplicates are dropped), so reasoning records need many prompts to outweigh the
    // non-reasoning ones as R1's 600k:200k did
    // harmless: as many refusal / compliance records as another task's 500 were too few for stage 3's model to write
    // either (300 left its answers to general prompts broken and stage 4 reward-hacked them; 2000 give 84% right)
    data3: { prompts: q(2048, 384), k: 4, sftPerTask: q(500, 100), harmless: q(2000, 400), maxTokens: 160 },
    sft3: sftStage(1e-3, 2),
    rm: {
      helpful: { pairs: q(2000, 400), lr: 3e-4, epochs: 2, batch: 32 },
      // a refusal is right for one request and wrong for its look-alike: the model learns that interaction only after
      // many steps at a higher rate (from sft3, 12,000 pairs in 750 steps of 16 at 5e-4: 83.5% of 400 held-out test
      // pairs; 120 steps of 32 at 3e-4 stayed at chance), so it gets many fresh pairs, once each
      harmless: { pairs: q(24000, 4000), lr: 5e-4, epochs: 1, batch: 16 },
    },
    rl4: { ...grpo(q(40, 10), 5e-5, q(16, 8), 160), languageWeight: 1, temperature: 0.7, generalShare: 0.5 },
    eval: { n: q(64, 32), k: q(8, 4), sftN: q(50, 20), generalN: q(32, 12), maxTokens: 160 },
  };
}

/** What may change when a recipe run continues: only the evaluation settings (and the base's worker threads). */
export const RECIPE_RESUME_RULE: ResumeRule = {
  mutable: ['eval', 'pretrain.workers'],
  flags: { base: '--base', seed: '--seed', task: '--task', difficulty: '--difficulty' },
};

export interface RecipeOptions {
  outDir: string;
  settings: RecipeSettings;
  /** The stages to run (default all); a stage whose input is missing is an error naming it. */
  stages?: readonly RecipeStage[];
  /** Evaluate after each model stage (default true). */
  evaluate?: boolean;
  stops?: StopRequests;
  /** Messages; without `progress`, every stage's step lines too. With neither, a progress line on stdout. */
  log?: (line: string) => void;
  /**
   * One progress line for the whole recipe (./progress.ts): every stage's steps, sampling and evaluation as phases
   * named `[k/9 stage] ...`; messages then go to `log` (default: the sink's `line`).
   */
  progress?: ProgressSink | null;
}

export interface RecipeResult {
  /** Stages run, skipped (complete) and not asked. */
  ran: RecipeStage[];
  skipped: RecipeStage[];
  rows: RecipeRow[];
  table: string;
  /** Set when a signal stopped a stage (its checkpoint is saved); later stages did not run. */
  stopped: string | null;
}

/** Paths of a recipe run's outputs. */
export function recipePaths(out: string) {
  return {
    base: path.join(out, 'base'),
    zero: path.join(out, 'zero'),
    cold: path.join(out, 'data', 'cold_start.jsonl'),
    sft1: path.join(out, 'sft1'),
    rl2: path.join(out, 'rl2'),
    data3: path.join(out, 'data', 'stage3.jsonl'),
    sft3: path.join(out, 'sft3'),
    rmHelpful: path.join(out, 'rm-helpful'),
    rmHarmless: path.join(out, 'rm-harmless'),
    rl4: path.join(out, 'rl4'),
    eval: path.join(out, 'eval'),
    table: path.join(out, 'recipe.json'),
  };
}

/** Writes JSONL records atomically. */
function writeJsonl(file: string, records: readonly unknown[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(text, 'utf8')));
}

/** A trainer stage's mode: new, resume (a checkpoint), or overwrite (a run without one). */
function trainMode(dir: string): 'new' | 'resume' | 'overwrite' {
  if (!readRunRecord(dir)) return fs.existsSync(dir) && fs.readdirSync(dir).length ? 'overwrite' : 'new';
  return latestCheckpoint(path.join(dir, 'checkpoints')) ? 'resume' : 'overwrite';
}

/** Whether a stage's outputs are complete. */
export function stageDone(out: string, s: RecipeSettings, stage: RecipeStage): boolean {
  const p = recipePaths(out);
  switch (stage) {
    case 'base':
      return s.base !== null || runFinished(p.base);
    case 'cold':
      return fs.existsSync(p.cold);
    case 'data3':
      return fs.existsSync(p.data3);
    case 'rm':
      return runFinished(p.rmHelpful) && runFinished(p.rmHarmless);
    default:
      return runFinished(p[stage]);
  }
}

/** The model directory of a model stage. */
function modelOf(out: string, s: RecipeSettings, stage: RecipeStage): string {
  if (stage === 'base') return s.base ?? path.join(out, 'base', 'model');
  return path.join(out, stage, 'model');
}

/** A mixed-language (by content) train-split source of a reasoning task, problem i a function of i. */
function reasoningSource(s: RecipeSettings): ProblemSource {
  const cache = new Map<number, RLProblem>();
  return {
    name: s.task,
    size: Infinity,
    at(i) {
      let p = cache.get(i);
      if (!p) {
        // problem i of the mixed set: taskPrompts draws the same stream, so a small window suffices
        const block = Math.floor(i / 64);
        const ps = mixedProblems(s.task, 64 * (block + 1), { split: 'train', seed: s.seed, difficulty: s.difficulty });
        for (let j = 64 * block; j < ps.length; j++) cache.set(j, ps[j]);
        p = cache.get(i)!;
      }
      return p;
    },
  };
}

/** The id prefix of stage 4's general prompts (the reward models score only these). */
export const GENERAL_ID = 'general:';

/**
 * Stage 4's source: problem i is a general prompt (a preference pair's train prompt, helpful or harmless, alternating)
 * when its hash falls under `generalShare`, else reasoning problem i.
 */
export function allScenariosSource(s: RecipeSettings): ProblemSource {
  const reasoning = reasoningSource(s);
  const general = generalPrompts(256, s.seed + 1).map((g) => g.prompt);
  // generalPrompts draws from the test split for evaluation; stage 4 trains on the train split's prompts
  const train = [
    ...prefPairs('helpful', 256, { split: 'train', lang: 'mix', seed: s.seed }),
    ...prefPairs('harmless', 256, { split: 'train', lang: 'mix', seed: s.seed }),
  ].map((p) => ({ prompt: p.prompt, lang: p.lang }));
  const held = new Set(general);
  const pool = [...new Map(train.filter((t) => !held.has(t.prompt)).map((t) => [t.prompt, t])).values()];
  return {
    name: `${s.task}+general`,
    size: Infinity,
    at(i) {
      const u = ((i * 2654435761) >>> 0) / 2 ** 32;
      if (u >= s.rl4.generalShare) return reasoning.at(i);
      const g = pool[i % pool.length];
      return {
        id: `${GENERAL_ID}${i % pool.length}`,
        question: g.prompt,
        answer: '',
        check: () => false,
        lang: g.lang,
      };
    },
  };
}

/**
 * A reward model that scores only general prompts (0 for the others). GRPO normalises rewards within a prompt's
 * group, so a reward that is constant over a group changes nothing: a gated reward model leaves reasoning groups to
 * the rule rewards.
 */
export function generalOnly(scorer: ResponseScorer, isGeneral: (question: string) => boolean): ResponseScorer {
  return {
    score(prompts, responses) {
      const out = new Float64Array(responses.length);
      const idx = prompts.flatMap((p, i) => (isGeneral(p[p.length - 1].content) ? [i] : []));
      if (idx.length === 0) return out;
      const got = scorer.score(
        idx.map((i) => prompts[i]),
        idx.map((i) => responses[i]),
      );
      idx.forEach((i, j) => {
        out[i] = got[j];
      });
      return out;
    },
  };
}

/** The recipe's run: stages, evaluations, table. */
export async function runRecipe(o: RecipeOptions): Promise<RecipeResult> {
  const shown = progressOutput(o.log, o.progress);
  const log = shown.log;
  const progress = shown.progress ? new RecipeProgress(shown.progress) : null;
  const out = o.outDir;
  const P = recipePaths(out);
  const asked = new Set(o.stages ?? RECIPE_STAGES);
  const mode = readRunRecord(out) ? 'resume' : 'new';
  const run = RunDir.open({
    dir: out,
    command: 'recipe r1',
    mode,
    inputs: o.settings.base ? [o.settings.base] : [],
    log,
    stops: o.stops,
  });
  const ran: RecipeStage[] = [];
  const skipped: RecipeStage[] = [];
  let stopped: string | null = null;
  try {
    const s = (
      mode === 'resume' ? run.resume(o.settings, RECIPE_RESUME_RULE) : run.start(o.settings)
    ) as RecipeSettings;
    for (const [i, stage] of RECIPE_STAGES.entries()) {
      const tag = `[${i + 1}/${RECIPE_STAGES.length} ${stage}]`;
      progress?.stage(i + 1, RECIPE_STAGES.length, stage);
      if (stageDone(out, s, stage)) {
        if (asked.has(stage)) {
          skipped.push(stage);
          log(`${tag} complete: skipped`);
        }
      } else if (asked.has(stage)) {
        for (const need of inputsOf(stage)) {
          if (!stageDone(out, s, need))
            throw new Error(`recipe: stage ${stage} needs stage ${need}, which is not complete (add it to --stages)`);
        }
        log(`${tag} ${STAGE_TITLES[stage]}`);
        stopped = await runStage(stage, out, s, o.stops, log, progress);
        if (stopped) break;
        ran.push(stage);
      }
      const model = RECIPE_MODELS.find((m) => m[1] === stage);
      if (
        model &&
        o.evaluate !== false &&
        stageDone(out, s, stage) &&
        (asked.has(stage) || fs.existsSync(evalFile(out, model[0])))
      ) {
        evaluateStage(out, s, model[0], stage, model[2], log, progress);
      }
    }
    const rows = tableRows(out, s);
    const table = recipeTable(rows);
    writeJsonFile(P.table, { format: 'r1ts-recipe-1', settings: s, rows, curves: curves(out) });
    if (!stopped && RECIPE_STAGES.every((st) => stageDone(out, s, st))) run.markFinished({ models: rows.length });
    else run.markFinished({ models: rows.length, incomplete: RECIPE_STAGES.filter((st) => !stageDone(out, s, st)) });
    return { ran, skipped, rows, table, stopped };
  } finally {
    progress?.end(); // an error: clears the live line (a no-op when no phase is open)
    run.close();
  }
}

const STAGE_TITLES: Record<RecipeStage, string> = {
  base: 'pre-training the tiny base',
  zero: 'R1-Zero: GRPO on the base (accuracy + format), for comparison',
  cold: 'cold-start data: worked solutions and filtered R1-Zero samples in the readable pattern',
  sft1: 'stage 1: SFT of the base on the cold-start data',
  rl2: 'stage 2: reasoning GRPO, reward accuracy + language consistency',
  data3: 'stage 3 data: rejection samples of stage 2 + non-reasoning SFT data',
  sft3: 'stage 3: SFT of the base on the stage-3 data',
  rm: 'reward models: helpfulness and harmlessness, on the preference pairs',
  rl4: 'stage 4: GRPO for all scenarios (rules for reasoning, reward models for general prompts)',
};

/** The stages whose outputs a stage reads. */
export function inputsOf(stage: RecipeStage): RecipeStage[] {
  const deps: Record<RecipeStage, RecipeStage[]> = {
    base: [],
    zero: ['base'],
    cold: ['zero'],
    sft1: ['base', 'cold'],
    rl2: ['sft1'],
    data3: ['rl2'],
    sft3: ['base', 'data3'],
    rm: ['sft3'],
    rl4: ['sft3', 'rm'],
  };
  return deps[stage];
}

const evalFile = (out: string, name: string) => path.join(recipePaths(out).eval, `${name.replace(/ /g, '-')}.json`);

function evaluateStage(
  out: string,
  s: RecipeSettings,
  name: string,
  stage: RecipeStage,
  style: PromptStyle,
  log: (l: string) => void,
  progress: ProgressSink | null,
): RecipeEval {
  const file = evalFile(out, name);
  const key = { model: modelOf(out, s, stage), task: s.task, difficulty: s.difficulty, seed: s.seed, ...s.eval };
  if (fs.existsSync(file)) {
    const old = readJsonFile(file, 'recipe evaluation') as { key: unknown; eval: RecipeEval };
    if (JSON.stringify(old.key) === JSON.stringify(key)) return old.eval;
  }
  log(`  evaluating ${name} on held-out data`);
  // one phase of one step: the evaluation reports nothing in between, so its line shows the time it has taken
  progress?.begin(`evaluating ${name}`, 1, { unit: 'evaluation' });
  const { model, tok } = loadModelAndTokenizer(key.model);
  const e = evaluateRecipeModel(model, tok, {
    style,
    task: s.task,
    difficulty: s.difficulty,
    seed: s.seed,
    n: s.eval.n,
    k: s.eval.k,
    sftN: s.eval.sftN,
    generalN: s.eval.generalN,
    maxTokens: s.eval.maxTokens,
    sftTasks: Object.keys(SFT_TASKS),
  });
  progress?.update(1);
  progress?.end(`pass@1 ${(100 * e['pass@1']).toFixed(1)}%, greedy ${(100 * e.greedy).toFixed(1)}%`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonFile(file, { key, eval: e });
  return e;
}

/** The rows of every evaluated model, with reward-model win rates against the base once the reward models exist. */
function tableRows(out: string, s: RecipeSettings): RecipeRow[] {
  const P = recipePaths(out);
  const evals = RECIPE_MODELS.flatMap(([name]) => {
    const f = evalFile(out, name);
    return fs.existsSync(f)
      ? [[name, (readJsonFile(f, 'recipe evaluation') as { eval: RecipeEval }).eval] as const]
      : [];
  });
  const base = evals.find(([n]) => n === 'base')?.[1] ?? null;
  const rms =
    stageDone(out, s, 'rm') && base
      ? {
          help: loadRewardModel(path.join(P.rmHelpful, 'model')),
          harm: loadRewardModel(path.join(P.rmHarmless, 'model')),
        }
      : null;
  return evals.map(([name, e]) => {
    const { general, ...rest } = e;
    return {
      model: name,
      ...rest,
      helpfulWin: rms && base ? winRate(rms.help, 'summary', general, base.general, 'helpful') : null,
      harmlessWin: rms && base ? winRate(rms.harm, 'whole', general, base.general, 'harmless') : null,
    };
  });
}

/** Per-stage training curves: each training stage's metrics.jsonl reduced to a few fields per step. */
function curves(out: string): Record<string, Record<string, unknown>[]> {
  const c: Record<string, Record<string, unknown>[]> = {};
  for (const stage of ['base', 'zero', 'sft1', 'rl2', 'sft3', 'rm-helpful', 'rm-harmless', 'rl4']) {
    const f = path.join(out, stage, 'metrics.jsonl');
    if (!fs.existsSync(f)) continue;
    c[stage] = fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          const m = JSON.parse(l) as Record<string, unknown>;
          const keep = ['step', 'loss', 'reward', 'accuracy', 'rewards', 'responseLength', 'valLoss', 'accuracy'];
          return [Object.fromEntries(keep.filter((k) => k in m).map((k) => [k, m[k]]))];
        } catch {
          return [];
        }
      });
  }
  return c;
}

/** A GRPO stage in its own run directory (new, resumed or restarted); returns the stop signal, if any. */
async function grpoStage(
  dir: string,
  model: string,
  source: ProblemSource,
  config: GrpoConfig,
  stops: StopRequests | undefined,
  log: (l: string) => void,
  progress: ProgressSink | null,
  rewardModels: Record<string, ResponseScorer> = {},
): Promise<string | null> {
  const { model: policy, tok } = loadModelAndTokenizer(model);
  const mode = trainMode(dir);
  const spec = { model: path.resolve(model), task: source.name, tokenizer: null, rewardModules: [], config };
  const run = RunDir.open({ dir, command: 'grpo', mode, inputs: [model], stops, log });
  try {
    if (mode === 'resume') run.resume(spec, GRPO_RESUME_RULE);
    else run.start(spec);
    const r = await runGrpoAsync({ run, policy, codec: tok, source, config, rewardModels, log, progress });
    return r.stopped;
  } finally {
    run.close();
  }
}

async function sftStageRun(
  dir: string,
  model: string,
  data: string,
  c: SftStage,
  seed: number,
  stops: StopRequests | undefined,
  log: (l: string) => void,
  progress: ProgressSink | null,
): Promise<string | null> {
  const mode = trainMode(dir);
  const r = await sft({
    outDir: dir,
    model: mode === 'resume' ? undefined : model,
    data: mode === 'resume' ? undefined : [data],
    config: { ...c, seed },
    resume: mode === 'resume',
    overwrite: mode === 'overwrite',
    stops,
    log,
    progress,
  });
  return r.stopped ?? null;
}

/** Rejection sampling's progress as a phase of `prompts` prompts (begun here; the caller ends it), or nothing. */
function samplingProgress(progress: ProgressSink | null, prompts: number) {
  if (!progress) return {};
  progress.begin('rejection sampling', prompts, { unit: 'prompts' });
  return {
    onProgress: (p: { done: number; kept: number; samples: number }) =>
      progress.update(p.done, { kept: `${p.kept}/${p.samples}` }),
  };
}

/** Runs one stage; returns the signal that stopped it, or null. */
async function runStage(
  stage: RecipeStage,
  out: string,
  s: RecipeSettings,
  stops: StopRequests | undefined,
  log: (l: string) => void,
  progress: ProgressSink | null,
): Promise<string | null> {
  const P = recipePaths(out);
  const base = modelOf(out, s, 'base');
  const chat = (tokDir: string) => promptFormat(loadModelAndTokenizer(tokDir).tok, 'chat');
  const grpoConfig = (g: GrpoStage, extra: Record<string, unknown>) =>
    resolveGrpoConfig({
      steps: g.steps,
      lr: g.lr,
      promptsPerStep: g.promptsPerStep,
      groupSize: g.groupSize,
      maxTokens: g.maxTokens,
      seed: s.seed,
      sanityPrompts: 0,
      ...extra,
    });
  switch (stage) {
    case 'base': {
      const mode = trainMode(P.base);
      const r = await pretrain({
        outDir: P.base,
        preset: s.pretrain.preset,
        steps: s.pretrain.steps,
        seed: s.seed,
        workers: s.pretrain.workers,
        // the recipe's measured numbers are on the templated corpus (R1's pipeline starts with cold-start SFT, which
        // teaches the format anyway); `r1ts zero` is the run that starts from a base that never saw the template
        ...(mode === 'resume' ? {} : { corpus: 'templated' as const }),
        resume: mode === 'resume',
        overwrite: mode === 'overwrite',
        stops,
        log,
        progress,
      });
      return r.stopped ?? null;
    }
    case 'zero':
      return grpoStage(P.zero, base, reasoningSource(s), grpoConfig(s.zero, {}), stops, log, progress);
    case 'cold': {
      const worked = workedColdStart({ tasks: [s.task], n: s.cold.worked, difficulty: s.difficulty, seed: s.seed });
      const zeroRecords: ColdStartRecord[] = [];
      const rejected: Record<string, number> = {};
      if (s.cold.zeroPrompts > 0) {
        const { model, tok } = loadModelAndTokenizer(modelOf(out, s, 'zero'));
        // prompts after the worked ones' (seed + 1): other train problems
        const prompts = taskPrompts([s.task], {
          n: s.cold.zeroPrompts,
          split: 'train',
          lang: 'mix',
          seed: s.seed + 1,
          difficulty: s.difficulty,
        });
        const r = rejectionSample(model, tok, prompts, {
          k: s.cold.zeroK,
          template: 'r1-zero',
          keep: 'all',
          filters: 'none',
          maxTokens: s.cold.maxTokens,
          seed: s.seed,
          ...samplingProgress(progress, prompts.length),
        });
        progress?.end(`${r.records.length} of ${r.verdicts.length} responses kept`);
        for (const rec of r.records) {
          const p = prompts.find((x) => x.id === rec.id)!;
          const z = zeroToColdStart({
            question: p.messages[0].content,
            lang: p.lang as Lang,
            task: s.task,
            id: p.id,
            response: rec.messages[rec.messages.length - 1].content,
            check: p.check!,
          });
          if (z.record) zeroRecords.push(z.record);
          else rejected[z.rejected!] = (rejected[z.rejected!] ?? 0) + 1;
        }
      }
      writeJsonl(P.cold, [...worked, ...zeroRecords]);
      log(
        `  ${worked.length} worked solutions + ${zeroRecords.length} R1-Zero samples (dropped: ${JSON.stringify(rejected)}) -> ${P.cold}`,
      );
      return null;
    }
    case 'sft1':
      return sftStageRun(P.sft1, base, P.cold, s.sft1, s.seed, stops, log, progress);
    case 'rl2': {
      const m = modelOf(out, s, 'sft1');
      const f = chat(m);
      const config = grpoConfig(s.rl2, { ...f, rewards: { accuracy: 1, language: s.rl2.languageWeight } });
      return grpoStage(P.rl2, m, reasoningSource(s), config, stops, log, progress);
    }
    case 'data3': {
      const { model, tok } = loadModelAndTokenizer(modelOf(out, s, 'rl2'));
      const prompts = taskPrompts([s.task], {
        n: s.data3.prompts,
        split: 'train',
        lang: 'mix',
        seed: s.seed + 2,
        difficulty: s.difficulty,
      });
      const r = rejectionSample(model, tok, prompts, {
        k: s.data3.k,
        template: 'chat',
        keep: 'correct',
        maxTokens: s.data3.maxTokens,
        seed: s.seed,
        ...samplingProgress(progress, prompts.length),
      });
      progress?.end(`${r.records.length} of ${r.verdicts.length} responses kept`);
      for (const line of describeCounts(r.counts)) log(`  ${line}`);
      const reasoning = r.records.map((x) => ({
        messages: x.messages,
        task: x.task,
        id: x.id,
        lang: x.lang,
        source: 'rejection',
      }));
      const general = Object.keys(SFT_TASKS).flatMap((t) =>
        getSftTask(t).items(s.data3.sftPerTask, { split: 'train', lang: 'mix', seed: s.seed }).map(sftRecord),
      );
      const refusals = prefPairs('harmless', s.data3.harmless, { split: 'train', lang: 'mix', seed: s.seed }).map(
        (p) => ({
          messages: [
            { role: 'user', content: p.prompt },
            { role: 'assistant', content: sftResponse(p.chosen) },
          ],
          task: 'harmless',
          id: p.id,
          lang: p.lang,
        }),
      );
      writeJsonl(P.data3, [...reasoning, ...general, ...refusals]);
      log(
        `  ${reasoning.length} rejection samples (of ${r.verdicts.length}) + ${general.length} SFT-task records + ${refusals.length} harmlessness records -> ${P.data3}`,
      );
      return null;
    }
    case 'sft3':
      return sftStageRun(P.sft3, base, P.data3, s.sft3, s.seed, stops, log, progress);
    case 'rm': {
      const from = modelOf(out, s, 'sft3');
      for (const [kind, dir] of [
        ['helpful', P.rmHelpful],
        ['harmless', P.rmHarmless],
      ] as const) {
        if (runFinished(dir)) continue;
        const file = path.join(out, 'data', `${kind}_pairs.jsonl`);
        if (!fs.existsSync(file))
          writeJsonl(file, prefPairs(kind, s.rm[kind].pairs, { split: 'train', lang: 'mix', seed: s.seed }));
        const mode = trainMode(dir);
        const r = await trainRewardModel({
          outDir: dir,
          model: mode === 'resume' ? undefined : from,
          data: mode === 'resume' ? undefined : [file],
          train: {
            lr: s.rm[kind].lr,
            epochs: s.rm[kind].epochs,
            batchSize: s.rm[kind].batch,
            microBatch: Math.min(16, s.rm[kind].batch),
            seed: s.seed,
          },
          resume: mode === 'resume',
          overwrite: mode === 'overwrite',
          stops,
          log,
          progress,
        });
        if (r.stopped) return r.stopped;
      }
      return null;
    }
    case 'rl4': {
      const m = modelOf(out, s, 'sft3');
      const helpful = `rm:${path.resolve(P.rmHelpful, 'model')}@summary`;
      const harmless = `rm:${path.resolve(P.rmHarmless, 'model')}@whole`;
      const source = allScenariosSource(s);
      const general = new Set<string>();
      const gated: ProblemSource = {
        ...source,
        at(i) {
          const p = source.at(i);
          if (p.id.startsWith(GENERAL_ID)) general.add(p.question);
          return p;
        },
      };
      const isGeneral = (q: string) => general.has(q);
      const config = grpoConfig(s.rl4, {
        ...chat(m),
        temperature: s.rl4.temperature,
        rewards: { accuracy: 1, language: s.rl4.languageWeight, [helpful]: 1, [harmless]: 1 },
      });
      const models = {
        [helpful]: generalOnly(loadRewardModel(path.join(P.rmHelpful, 'model')), isGeneral),
        [harmless]: generalOnly(loadRewardModel(path.join(P.rmHarmless, 'model')), isGeneral),
      };
      return grpoStage(P.rl4, m, gated, config, stops, log, progress, models);
    }
  }
}
