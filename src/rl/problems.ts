/**
 * Verifiable problems for RL and evaluation, from two places: the built-in tasks of src/data/tasks (seeded streams,
 * train/test split, the task's own checker) and JSONL files of `{"prompt", "answer"}` (also `question` for `prompt`,
 * GSM8K's `answer` with the reasoning before `#### 72`, and an optional `lang`, en or es). A JSONL answer is checked
 * numerically when both sides parse as numbers (`1,234` = `1234.0` = `2468/2`), otherwise as text with whitespace
 * collapsed.
 *
 * Not here: reward functions (rewards.ts), prompt templates (src/data/tasks/template.ts).
 */
import { isLang, type Lang } from '../data/language.js';
import { parseNumber } from '../data/tasks/answer.js';
import { parseJsonlRecord } from '../data/readers.js';
import { type FileAccessError, readTextFile } from '../util/files.js';
import { getTask } from '../data/tasks/index.js';
import type { DifficultySpec, Split } from '../data/tasks/task.js';

/** One problem: what the model is asked and how a final answer is checked. */
export interface RLProblem {
  id: string;
  /** The question, without any template. */
  question: string;
  /** The reference final answer. */
  answer: string;
  /** Whether a bare final answer (already extracted from the response) is correct. */
  check: (finalAnswer: string) => boolean;
  /** The question's language, when known (the language reward's default target). */
  lang?: Lang;
}

/** An indexable stream of problems: problem i is a pure function of i (so a run resumes at a data position). */
export interface ProblemSource {
  name: string;
  at(index: number): RLProblem;
  /** Distinct problems available (Infinity for generated tasks). */
  size: number;
}

/** Whether `got` matches `want`: numerically when both are numbers, else as whitespace-normalised text. */
export function answersMatch(got: string, want: string): boolean {
  const a = parseNumber(got);
  const b = parseNumber(want);
  if (a !== null && b !== null) return a.equals(b);
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ');
  return norm(got) === norm(want);
}

export interface TaskSourceOptions {
  split?: Split;
  seed?: number;
  difficulty?: DifficultySpec | string;
  /** Language of the questions (default 'en'). */
  lang?: Lang;
}

/** Problems of a built-in task (`add`, `countdown`, ...), checked by the task itself. */
export function taskSource(taskName: string, opts: TaskSourceOptions = {}): ProblemSource {
  const task = getTask(taskName);
  const po = { split: opts.split ?? 'train', seed: opts.seed ?? 0, difficulty: opts.difficulty, lang: opts.lang };
  return {
    name: taskName,
    size: Infinity,
    at(i) {
      const p = task.problemAt(i, po);
      return { id: p.id, question: p.prompt, answer: p.answer, check: (a) => task.verify(p, a), lang: p.lang };
    },
  };
}

/** `n` distinct problems of a built-in task (the task's problem set: the same for the same options). */
export function taskProblems(taskName: string, n: number, opts: TaskSourceOptions = {}): RLProblem[] {
  const task = getTask(taskName);
  return task
    .problems(n, { split: opts.split ?? 'test', seed: opts.seed ?? 0, difficulty: opts.difficulty, lang: opts.lang })
    .map((p) => ({
      id: p.id,
      question: p.prompt,
      answer: p.answer,
      check: (a: string) => task.verify(p, a),
      lang: p.lang,
    }));
}

/** The final answer of a GSM8K-style solution (`... #### 1,234` -> `1234`), or the text itself. */
export function gsm8kAnswer(text: string): string {
  const at = text.lastIndexOf('####');
  return at < 0
    ? text.trim()
    : text
        .slice(at + 4)
        .trim()
        .replace(/,/g, '');
}

/** Largest problem file read whole (a JSONL file of problems is usually a few MB). */
export const MAX_PROBLEM_FILE_BYTES = 256 << 20;

/**
 * Reads a JSONL file of problems; errors name the file and line. A byte-order mark is skipped; FIFOs, devices and
 * files over 256 MiB are refused before reading.
 */
export function loadJsonlProblems(file: string): RLProblem[] {
  let text: string;
  try {
    text = readTextFile(file, 'problems', MAX_PROBLEM_FILE_BYTES);
  } catch (e) {
    const f = e as FileAccessError;
    throw new Error(f.code ? `problems: cannot read ${file} (${f.code})` : f.message);
  }
  const out: RLProblem[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const rec = parseJsonlRecord(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (!rec.ok) throw new Error(`${file}:${i + 1}: ${rec.problem}`);
    const o = rec.value;
    const q = o.prompt ?? o.question;
    const a = o.answer;
    if (typeof q !== 'string') throw new Error(`${file}:${i + 1}: needs a string "prompt" (or "question")`);
    if (typeof a !== 'string' && typeof a !== 'number')
      throw new Error(`${file}:${i + 1}: needs an "answer" (string or number)`);
    if (o.lang !== undefined && !isLang(o.lang))
      throw new Error(`${file}:${i + 1}: "lang" must be en or es, got ${JSON.stringify(o.lang)}`);
    const answer = gsm8kAnswer(String(a));
    const p: RLProblem = { id: `${file}:${i + 1}`, question: q, answer, check: (got) => answersMatch(got, answer) };
    if (o.lang !== undefined) p.lang = o.lang;
    out.push(p);
  });
  if (out.length === 0) throw new Error(`problems: ${file} has no problems`);
  return out;
}

/** A source cycling through a fixed list (epoch e visits the list in a fixed shuffled order seeded by e). */
export function listSource(name: string, problems: readonly RLProblem[], seed = 0): ProblemSource {
  const n = problems.length;
  const orders = new Map<number, number[]>();
  const order = (epoch: number): number[] => {
    let o = orders.get(epoch);
    if (!o) {
      o = Array.from({ length: n }, (_, i) => i);
      // Fisher-Yates with a small integer hash (deterministic, no global state)
      let h = (seed * 2654435761 + epoch * 40503 + 1) >>> 0;
      for (let i = n - 1; i > 0; i--) {
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
        h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
        const j = h % (i + 1);
        [o[i], o[j]] = [o[j], o[i]];
      }
      orders.clear();
      orders.set(epoch, o);
    }
    return o;
  };
  return { name, size: n, at: (i) => problems[order(Math.floor(i / n))[i % n]] };
}
