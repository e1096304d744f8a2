/**
 * The task contract and the machinery every built-in task shares: seeded problem streams, the train/test split, and
 * difficulty ranges.
 *
 * Every task states its prompt and writes its worked solution in English or Spanish (`lang`, default English, whose
 * text is unchanged from before there was a choice). The language is applied after a problem is drawn: the problem,
 * its content key and so its split are the same in both languages, so a held-out problem is held out in both.
 *
 * The split is a function of a problem's content: `splitOf(key)` hashes its canonical key (FNV-1a, then a
 * murmur3 finalizer) and puts 10% of all possible problems in `test`. A train stream rejects test problems and vice
 * versa, so train and test never overlap, for any seeds, and a corpus built from train problems never contains an
 * evaluation problem. Keys are canonical (`add:17+25` and `add:25+17` are one key), so a problem's trivial variants
 * land in the same split.
 *
 * Problem i of (task, seed, split, difficulty) comes from a Generator at a fixed counter offset (i * 2^20 blocks), so
 * it can be produced directly, without the problems before it: a data position for RL is just an index.
 */
import { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import { extractAnswer } from './answer.js';

export type Split = 'train' | 'test';

/** A generated problem. `data` is the task's own structured description. */
export interface Problem<D = unknown> {
  /** Task name (`add`, `countdown`, ...). */
  task: string;
  /** Canonical content key; equal keys are the same problem. */
  id: string;
  split: Split;
  difficulty: number;
  /** The language of `prompt` and of the worked solution. */
  lang: Lang;
  /** The question, without any chat or R1-Zero template. */
  prompt: string;
  /** Reference final answer, as text. */
  answer: string;
  data: D;
}

/** One candidate drawn by a task's sampler. */
export interface Candidate<D> {
  key: string;
  data: D;
}

/** What a task defines: sampler, prompt, reference answer, checker and worked solution. */
export interface TaskSpec<D = unknown> {
  name: string;
  description: string;
  /** Valid difficulties are integers in [min, max]; `default` is for evaluation/RL, `corpus` the pre-training mix. */
  difficulty: { min: number; max: number; default: number; corpus: [number, number] };
  /** Draws one problem at `difficulty` (before split filtering). */
  sample(rng: Generator, difficulty: number): Candidate<D>;
  /** The question in `lang` (default English). */
  prompt(data: D, lang?: Lang): string;
  answer(data: D): string;
  /**
   * Whether `answerText` solves the problem. It may be the bare answer or a whole response (the answer is then
   * extracted from `<answer>...</answer>` or `\boxed{}`).
   */
  check(data: D, answer: string): boolean;
  /**
   * Worked solution in R1 format: `<think>\n...steps...\n</think>\n<answer>X</answer>`, its steps written in `lang`
   * (default English). `rng` varies the wording or adds a failed attempt, drawing the same numbers in every language;
   * steps are always correct.
   */
  solve(data: D, rng: Generator, lang?: Lang): string;
}

/** A task with its problem streams and checkers bound (what `defineTask` returns). */
export interface Task<D = unknown> extends TaskSpec<D> {
  /** Problem number `index` of the stream (see problemAt). */
  problemAt(index: number, opts?: ProblemOptions): Problem<D>;
  /** `n` distinct problems (see problemSet). */
  problems(n: number, opts?: ProblemOptions): Problem<D>[];
  /** Whether a response or bare answer solves `problem`; never throws. */
  verify(problem: Problem<D>, answerText: string): boolean;
  /** The worked R1-format solution of `problem` in `lang` (default: the problem's), deterministic per (problem, variant). */
  solution(problem: Problem<D>, variant?: number, lang?: Lang): string;
}

/** Binds the shared machinery to a task spec. */
export function defineTask<D>(spec: TaskSpec<D>): Task<D> {
  const task: Task<D> = {
    ...spec,
    problemAt: (index, opts) => problemAt(task, index, opts),
    problems: (n, opts) => problemSet(task, n, opts),
    verify: (problem, text) => verify(task, problem, text),
    solution: (problem, variant, lang) => solve(task, problem, variant, lang),
  };
  return task;
}

/** Fraction of all problems (by key hash) that belong to the test split, in percent. */
export const TEST_PERCENT = 10;

/** 32-bit hash of a string: FNV-1a over UTF-16 code units, then the murmur3 finalizer. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The split a problem key belongs to (content-based, seed-independent). */
export function splitOf(key: string): Split {
  return hash32(`r1ts-split:${key}`) % 100 < TEST_PERCENT ? 'test' : 'train';
}

/** A difficulty: one level or an inclusive range (each problem draws a level uniformly). */
export type DifficultySpec = number | readonly [number, number];

/** Parses `3` or `2-4` (CLI form) into a DifficultySpec, checked against the task's range. */
export function parseDifficulty(
  spec: string | DifficultySpec | undefined,
  task: TaskSpec<never>,
  use: 'default' | 'corpus' = 'default',
): [number, number] {
  const { min, max } = task.difficulty;
  let lo: number;
  let hi: number;
  if (spec === undefined)
    [lo, hi] = use === 'corpus' ? task.difficulty.corpus : [task.difficulty.default, task.difficulty.default];
  else if (typeof spec === 'number') lo = hi = spec;
  else if (typeof spec === 'string') {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(spec);
    if (!m) throw new Error(`${task.name}: difficulty must be N or A-B, got '${spec}'`);
    lo = Number(m[1]);
    hi = m[2] === undefined ? lo : Number(m[2]);
  } else [lo, hi] = spec;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo > hi || lo < min || hi > max) {
    throw new Error(`${task.name}: difficulty ${lo === hi ? lo : `${lo}-${hi}`} is outside ${min}-${max}`);
  }
  return [lo, hi];
}

export interface ProblemOptions {
  /** Default 0. */
  seed?: number;
  /** Default 'train'. */
  split?: Split;
  /** Default: the task's default difficulty. */
  difficulty?: DifficultySpec | string;
  /** Language of the prompt and worked solution (not of the problem itself). Default 'en'. */
  lang?: Lang;
}

/** Blocks of the random stream reserved per problem index. */
const STRIDE = 2 ** 20;
const MAX_TRIES = 10_000;

/**
 * The generator of position `index` of the stream (seed, split): a fixed counter offset (index * 2^20 blocks), so a
 * position is reached without drawing the ones before it. Shared by the reasoning and the SFT tasks.
 */
export function streamRng(seed: number, index: number, split: Split): Generator {
  const rng = new Generator(seed);
  rng.setState({ seed, counter: (2 * index + (split === 'test' ? 1 : 0)) * STRIDE });
  return rng;
}

/** Problem number `index` of the stream (task, seed, split, difficulty). Deterministic; repeats are possible. */
export function problemAt<D>(task: TaskSpec<D>, index: number, opts: ProblemOptions = {}): Problem<D> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test')
    throw new Error(`${task.name}: split must be train or test, got '${split}'`);
  const lang = opts.lang ?? 'en';
  if (lang !== 'en' && lang !== 'es') throw new Error(`${task.name}: language must be en or es, got '${lang}'`);
  const [lo, hi] = parseDifficulty(opts.difficulty, task as TaskSpec<never>);
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 31)
    throw new RangeError(`${task.name}: problem index ${index} out of range`);
  const rng = streamRng(opts.seed ?? 0, index, split);
  for (let t = 0; t < MAX_TRIES; t++) {
    const d = lo === hi ? lo : lo + Math.min(hi - lo, Math.floor(rng.uniform(1, 'float64')[0] * (hi - lo + 1)));
    const c = task.sample(rng, d);
    if (splitOf(c.key) !== split) continue;
    return {
      task: task.name,
      id: c.key,
      split,
      difficulty: d,
      lang,
      prompt: task.prompt(c.data, lang),
      answer: task.answer(c.data),
      data: c.data,
    };
  }
  throw new Error(
    `${task.name}: no ${split} problem found at difficulty ${lo === hi ? lo : `${lo}-${hi}`} in ${MAX_TRIES} draws`,
  );
}

/** `n` distinct problems (by id): indices 0, 1, ... of the stream with repeats skipped. */
export function problemSet<D>(task: TaskSpec<D>, n: number, opts: ProblemOptions = {}): Problem<D>[] {
  const out: Problem<D>[] = [];
  const seen = new Set<string>();
  const limit = 20 * n + 1000;
  for (let i = 0; out.length < n; i++) {
    if (i >= limit) {
      throw new Error(
        `${task.name}: only ${out.length} distinct ${opts.split ?? 'train'} problems found in ${limit} draws (asked for ${n}); use a higher difficulty`,
      );
    }
    const p = problemAt(task, i, opts);
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    out.push(p);
  }
  return out;
}

/** Checks a response or bare answer against a problem (see Task.check). */
export function verify<D>(task: TaskSpec<D>, problem: Problem<D>, answerText: string): boolean {
  const extracted = /<answer>|\\boxed/.test(answerText) ? extractAnswer(answerText) : answerText;
  if (extracted === null) return false;
  try {
    return task.check(problem.data, extracted);
  } catch {
    return false;
  }
}

/**
 * The worked solution of a problem in `lang` (default: the problem's language), deterministic per problem id and
 * `variant`; the variant's random draws are the same in both languages (the same failed attempt, in other words).
 */
export function solve<D>(
  task: TaskSpec<D>,
  problem: Problem<D>,
  variant = 0,
  lang: Lang = problem.lang ?? 'en',
): string {
  return task.solve(problem.data, new Generator(hash32(`${problem.id}#${variant}`)), lang);
}

/** Uniform integer in [lo, hi] (inclusive). */
export function randInt(rng: Generator, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.floor(rng.uniform(1, 'float64')[0] * (hi - lo + 1)));
}

/** A uniformly random integer with exactly `digits` decimal digits, as a bigint. */
export function randDigits(rng: Generator, digits: number): bigint {
  let s = String(randInt(rng, 1, 9));
  for (let i = 1; i < digits; i++) s += String(randInt(rng, 0, 9));
  return BigInt(s);
}

/** R1 answer layout for a worked solution. */
export function r1Solution(steps: readonly string[], answer: string): string {
  return `<think>\n${steps.join('\n')}\n</think>\n<answer>${answer}</answer>`;
}
