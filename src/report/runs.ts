/**
 * What `r1ts report` reads: a run directory (run.json + metrics.jsonl, src/train/run_dir.ts), or a folder of them
 * (`r1ts zero`'s OUT with base/ and grpo/, the FP8 experiment's OUT with one run per precision), and the files the
 * jobs above single runs write there (`zero.json`: the zero job's before/after evaluation; `recipe.json`: the R1
 * recipe's evaluation table, whose OUT is a run directory itself with one run directory per training stage;
 * `distill_vs_rl.json`: `r1ts experiment distill-vs-rl`'s comparison, beside its distill/ and grpo/ runs), and the
 * FP8 experiment over seeds (`r1ts experiment fp8 --seeds N`: OUT/seed-S folders of runs, two levels down).
 *
 * metrics.jsonl is read as a live run leaves it: an incomplete last line (a write in progress) is left out; a bad line
 * elsewhere is an error naming the file and line. Not here: which plots a run yields (./plots.ts), drawing (./svg.ts,
 * ./html.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type RunRecord, readRunRecord } from '../train/run_dir.js';
import type { EvalResult } from '../eval/eval.js';
import { readJsonObject } from '../io/json.js';
import { readTextFile } from '../util/files.js';

/** One line of metrics.jsonl. */
export type MetricsRow = Record<string, unknown> & { step: number };

/** A run directory as the report sees it. */
export interface RunInfo {
  dir: string;
  /** The folder's name (`base`, `grpo`, `fp8`, ...). */
  name: string;
  record: RunRecord;
  rows: MetricsRow[];
}

/** `zero.json`: what `r1ts zero` measured before and after RL (written into its --out). */
export interface ZeroRecord {
  format: typeof ZERO_FORMAT;
  task: string;
  difficulty: string;
  /** Held-out problems and samples per problem. */
  n: number;
  k: number;
  temperature: number;
  topP: number;
  /** Style of the corpus the base was pre-trained on (absent with --base, and in files before corpus styles). */
  corpus?: 'plain' | 'templated';
  /** The evaluations without their per-problem rows (`reflectionRate` is absent in files before it existed). */
  base: ZeroEval;
  rl: ZeroEval;
  baseModel: string;
  rlModel: string;
}

/** One evaluation of zero.json. */
export type ZeroEval = Omit<EvalResult, 'problems' | 'reflectionRate'> & { reflectionRate?: number };

export const ZERO_FILE = 'zero.json';
export const ZERO_FORMAT = 'r1ts-zero-1';

/** One model's row of `recipe.json`'s table (src/recipe/evaluate.ts RecipeRow; NaN was written as null). */
export interface RecipeRowRecord {
  model: string;
  'pass@1': number | null;
  'cons@k': number | null;
  greedy: number | null;
  language: number | null;
  readable: number | null;
  meanLength: number | null;
  harmless: number | null;
  helpfulWin: number | null;
  harmlessWin: number | null;
  tasks: Record<string, number | null>;
}

/** `recipe.json`: the R1 recipe's evaluation table (written into its OUT by `r1ts recipe r1`). */
export interface RecipeRecord {
  format: typeof RECIPE_FORMAT;
  settings: Record<string, unknown>;
  rows: RecipeRowRecord[];
  /** Each training stage's curve (a few fields per step), by stage folder, in stage order. */
  curves: Record<string, Record<string, unknown>[]>;
}

export const RECIPE_FILE = 'recipe.json';
export const RECIPE_FORMAT = 'r1ts-recipe-1';

/** One model's row of `distill_vs_rl.json` (src/posttrain/distill_vs_rl.ts ComparisonRow). */
export interface DistillVsRlRowRecord {
  model: string;
  dir: string;
  'pass@1': number | null;
  'cons@k': number | null;
  greedy: number | null;
  meanLength: number | null;
  /** Parameters of the model. */
  params: number | null;
  /** Minutes of training that made it in the call that wrote the file (null: not trained there). */
  trainMinutes: number | null;
}

/** `distill_vs_rl.json`: `r1ts experiment distill-vs-rl`'s comparison table (written into its --out). */
export interface DistillVsRlRecord {
  format: typeof DISTILL_VS_RL_FORMAT;
  task: string;
  /** Held-out problems and samples per problem. */
  n: number;
  k: number;
  rows: DistillVsRlRowRecord[];
}

export const DISTILL_VS_RL_FILE = 'distill_vs_rl.json';
export const DISTILL_VS_RL_FORMAT = 'r1ts-distill-vs-rl-1';

/** One seed's folder of `r1ts experiment fp8 --seeds N` (OUT/seed-S) and the runs in it. */
export interface SeedFolder {
  seed: number;
  dir: string;
  runs: RunInfo[];
}

/** The largest metrics.jsonl the report reads (a run of a million steps is ~500 MB; this is 10x the main job's). */
const MAX_METRICS_BYTES = 512 * 1024 * 1024;

/** The rows of a metrics.jsonl (none when the file is absent). */
export function readMetrics(file: string): MetricsRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = readTextFile(file, 'metrics', MAX_METRICS_BYTES).split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  const rows: MetricsRow[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(l);
    } catch (e) {
      throw new Error(`report: ${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (row === null || typeof row !== 'object' || typeof (row as { step?: unknown }).step !== 'number')
      throw new Error(`report: ${file}:${i + 1}: no "step" number`);
    rows.push(row as MetricsRow);
  });
  return rows;
}

/** The run in `dir` (null when it has no run.json). */
export function readRun(dir: string): RunInfo | null {
  const record = readRunRecord(dir);
  if (!record) return null;
  return { dir, name: path.basename(path.resolve(dir)), record, rows: readMetrics(path.join(dir, 'metrics.jsonl')) };
}

/**
 * What `dir` holds: its own run, or the runs of its folders (sorted by name; a recipe's in stage order), and the zero
 * job's or the recipe's record.
 */
export interface RunTree {
  dir: string;
  /** The run of `dir` itself, when it has a run.json. */
  run: RunInfo | null;
  /** Runs in the folders of `dir` (one level down), when `dir` is not a run itself or is a recipe's run. */
  children: RunInfo[];
  zero: ZeroRecord | null;
  recipe: RecipeRecord | null;
  distillVsRl: DistillVsRlRecord | null;
  /** The seed-S folders of runs (`experiment fp8 --seeds`), by seed, when `dir` is not a run itself. */
  seeds: SeedFolder[];
}

const isRecipe = (run: RunInfo | null) => run?.record.command?.startsWith('recipe') === true;

/** Reads `dir` as a run directory or a folder of them; an error naming `dir` when it holds neither. */
export function readRunTree(dir: string): RunTree {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`report: ${dir} is not a directory`);
  const run = readRun(dir);
  const recipeFile = path.join(dir, RECIPE_FILE);
  const recipe = fs.existsSync(recipeFile) ? readRecipeRecord(recipeFile) : null;
  const children = run && !isRecipe(run) ? [] : runsIn(dir);
  if (recipe) {
    // the recipe's stages in the order of its curves (the stage order); folders it does not name after them
    const order = Object.keys(recipe.curves);
    const rank = (r: RunInfo) => (order.includes(r.name) ? order.indexOf(r.name) : order.length);
    children.sort((a, b) => rank(a) - rank(b));
  }
  const zeroFile = path.join(dir, ZERO_FILE);
  const zero = fs.existsSync(zeroFile) ? readZeroRecord(zeroFile) : null;
  const dvrFile = path.join(dir, DISTILL_VS_RL_FILE);
  const distillVsRl = fs.existsSync(dvrFile) ? readDistillVsRlRecord(dvrFile) : null;
  const seeds = run ? [] : readSeedFolders(dir);
  if (!run && !children.length && !zero && !recipe && !distillVsRl && !seeds.length)
    throw new Error(`report: ${dir} holds no run (no run.json in it or in its folders, no ${ZERO_FILE})`);
  return { dir, run, children, zero, recipe, distillVsRl, seeds };
}

/** The runs in the folders of `dir` (one level down), sorted by name. */
function runsIn(dir: string): RunInfo[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => readRun(path.join(dir, name)))
    .filter((r): r is RunInfo => r !== null);
}

/** The folders `seed-S` of `dir` that hold runs, by seed. */
function readSeedFolders(dir: string): SeedFolder[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      const m = e.isDirectory() ? /^seed-(\d+)$/.exec(e.name) : null;
      if (!m) return [];
      const sub = path.join(dir, e.name);
      const runs = runsIn(sub);
      return runs.length ? [{ seed: Number(m[1]), dir: sub, runs }] : [];
    })
    .sort((a, b) => a.seed - b.seed);
}

/** A job's record in `file`: a JSON object of `format`, with `rows` of models (when `rows`); an error naming the file. */
function readRecord(file: string, format: string, rows: boolean): Record<string, unknown> {
  const raw = readJsonObject(file, 'report:');
  if (raw.format !== format)
    throw new Error(`report: ${file}: "format" must be ${JSON.stringify(format)}, got ${JSON.stringify(raw.format)}`);
  if (!rows) return raw;
  if (!Array.isArray(raw.rows)) throw new Error(`report: ${file}: "rows" must be an array`);
  raw.rows.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || typeof (r as { model?: unknown }).model !== 'string')
      throw new Error(`report: ${file}: rows[${i}] must be an object with a "model" name`);
  });
  return raw;
}

function readDistillVsRlRecord(file: string): DistillVsRlRecord {
  const raw = readRecord(file, DISTILL_VS_RL_FORMAT, true);
  for (const k of ['n', 'k'] as const)
    if (typeof raw[k] !== 'number') throw new Error(`report: ${file}: "${k}" must be a number`);
  return raw as unknown as DistillVsRlRecord;
}

function readRecipeRecord(file: string): RecipeRecord {
  const raw = readRecord(file, RECIPE_FORMAT, true);
  for (const k of ['settings', 'curves'] as const)
    if (raw[k] === null || typeof raw[k] !== 'object' || Array.isArray(raw[k]))
      throw new Error(`report: ${file}: "${k}" must be an object`);
  return raw as unknown as RecipeRecord;
}

function readZeroRecord(file: string): ZeroRecord {
  const raw = readRecord(file, ZERO_FORMAT, false);
  for (const k of ['base', 'rl'] as const)
    if (raw[k] === null || typeof raw[k] !== 'object') throw new Error(`report: ${file}: "${k}" must be an object`);
  return raw as unknown as ZeroRecord;
}
