/**
 * Helpfulness preference pairs: a correct and complete answer is chosen over a flawed one, and the generator knows
 * which is which. Half of the prompts come from the reasoning tasks, half from the non-reasoning SFT tasks:
 * - reasoning: chosen = the worked solution's chain of thought, then a one-line summary with the answer
 *   (`<think>\n...\n</think>\nThe answer is 42.`, R1's readable layout: the reasoning, then a summary). Rejected:
 *   `wrong` (the same reasoning, a summary with a wrong answer the checker rejects), `truncated` (the reasoning cut
 *   off, no summary), or `off-topic` (a complete answer to another problem);
 * - non-reasoning: chosen = the task's reference response. Rejected: `wrong` (the task's corruption: another
 *   country's capital, a list one item short), `truncated` (the first half of the answer), or `off-topic` (the answer
 *   to an item of another task).
 * A pair takes its split from its prompt (the problem's or the item's split), so held-out problems make held-out
 * pairs; an off-topic answer comes from the same split.
 *
 * Not here: harmlessness pairs (harmless.ts), the record format (pair.ts).
 */
import type { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import { SFT_TASKS } from '../sft/index.js';
import { checkSftOptions, choose, drawLang, type SftOptions, sftResponse } from '../sft/task.js';
import { TASKS, type Problem, type Task } from '../tasks/index.js';
import { type Split, streamRng } from '../tasks/task.js';
import type { Flaw, PrefPair } from './pair.js';

/** The summary line after a reasoning task's chain of thought. */
export function answerSummary(answer: string, lang: Lang): string {
  return lang === 'en' ? `The answer is ${answer}.` : `La respuesta es ${answer}.`;
}

/** The chain of thought (with its tags) of a worked solution. */
function thinkPart(solution: string): string {
  return solution.slice(0, solution.indexOf('</think>') + '</think>'.length);
}

/** A reasoning task's response in R1's readable layout: the worked reasoning, then a summary with the answer. */
export function reasoningResponse(task: Task<unknown>, p: Problem<unknown>, variant = 0): string {
  return `${thinkPart(task.solution(p, variant))}\n${answerSummary(p.answer, p.lang)}`;
}

/** An answer the checker rejects: a near-miss number, two list items swapped, an operator changed. */
export function wrongAnswer(task: Task<unknown>, p: Problem<unknown>, rng: Generator): string {
  const a = p.answer;
  for (let tries = 0; tries < 100; tries++) {
    let wrong: string;
    const u = rng.uniform(1, 'float64')[0];
    if (/^-?\d+$/.test(a)) {
      const delta = 1 + Math.floor(u * 10);
      wrong = String(BigInt(a) + BigInt(tries % 2 === 0 ? delta : -delta));
    } else if (a.includes(', ')) {
      const items = a.split(', ');
      const i = Math.floor(u * (items.length - 1));
      [items[i], items[i + 1]] = [items[i + 1], items[i]];
      wrong = items.join(', ');
      if (wrong === a) wrong = [...items, items[0]].join(', ');
    } else {
      const ops = [...a.matchAll(/[-+*/]/g)];
      const at = ops[Math.floor(u * ops.length)]?.index ?? -1;
      const swap: Record<string, string> = { '+': '-', '-': '+', '*': '+', '/': '*' };
      wrong = at < 0 ? `${a} + 1` : a.slice(0, at) + swap[a[at]] + a.slice(at + 1);
    }
    if (!task.verify(p, wrong)) return wrong;
  }
  throw new Error(`helpful pairs: no wrong answer found for ${p.id}`);
}

const REASONING = Object.keys(TASKS);
const NON_REASONING = Object.keys(SFT_TASKS);
const FLAWS: readonly Flaw[] = ['wrong', 'truncated', 'off-topic'];

/** A complete answer to another prompt of the same split and language (a problem or item of another task). */
function offTopic(rng: Generator, at: { index: number; seed: number; split: Split; lang: Lang }, not: string): string {
  const opts = { seed: at.seed, split: at.split, lang: at.lang };
  for (;;) {
    if (rng.uniform(1, 'float64')[0] < 0.5) {
      const name = choose(rng, REASONING);
      if (name === not) continue;
      const task = TASKS[name] as unknown as Task<unknown>;
      return reasoningResponse(task, task.problemAt(at.index, opts));
    }
    const name = choose(rng, NON_REASONING);
    if (name === not) continue;
    return sftResponse(SFT_TASKS[name].itemAt(at.index, opts).reference);
  }
}

/** Pair number `index` of the helpfulness stream (seed, split, lang). */
export function helpfulPairAt(index: number, opts: SftOptions = {}): PrefPair {
  const { seed, split, lang } = checkSftOptions('helpful pairs', opts);
  const rng = streamRng(seed, index, split);
  const reasoning = rng.uniform(1, 'float64')[0] < 0.5;
  const source = choose(rng, reasoning ? REASONING : NON_REASONING);
  const l = drawLang(rng, lang);
  const flaw = choose(rng, FLAWS);
  if (reasoning) {
    const task = TASKS[source] as unknown as Task<unknown>;
    const p = task.problemAt(index, { seed, split, lang: l });
    const solution = task.solution(p, index);
    const chosen = reasoningResponse(task, p, index);
    let rejected: string;
    if (flaw === 'wrong') rejected = `${thinkPart(solution)}\n${answerSummary(wrongAnswer(task, p, rng), l)}`;
    else if (flaw === 'truncated') {
      const lines = solution.slice(0, solution.indexOf('\n</think>')).split('\n'); // ['<think>', step, ...]
      rejected = lines.slice(0, Math.max(2, Math.ceil(lines.length / 2))).join('\n');
    } else rejected = offTopic(rng, { index, seed, split, lang: l }, source);
    return { prompt: p.prompt, chosen, rejected, kind: 'helpful', flaw, id: p.id, split, lang: l, source };
  }
  const task = SFT_TASKS[source];
  const item = task.itemAt(index, { seed, split, lang: l });
  let rejected: string;
  let actual: Flaw = flaw;
  const words = item.reference.split(' ');
  if (flaw === 'truncated' && words.length >= 4) rejected = words.slice(0, Math.ceil(words.length / 2)).join(' ');
  else if (flaw === 'off-topic') rejected = offTopic(rng, { index, seed, split, lang: l }, source);
  else {
    actual = 'wrong';
    rejected = task.corrupt(item.data, item.lang, rng);
  }
  if (actual !== 'off-topic') rejected = sftResponse(rejected);
  if (task.verify(item, rejected)) {
    // a cut that still passes the check (rare): use the task's own corruption
    actual = 'wrong';
    rejected = sftResponse(task.corrupt(item.data, item.lang, rng));
  }
  return {
    prompt: item.prompt,
    chosen: sftResponse(item.reference),
    rejected,
    kind: 'helpful',
    flaw: actual,
    id: item.id,
    split,
    lang: item.lang,
    source,
  };
}
