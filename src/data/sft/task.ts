/**
 * The contract of the non-reasoning SFT tasks (the kinds R1's stage 3 adds: factual QA, self-cognition, translation,
 * short writing) and the machinery they share: seeded item streams, a content-hashed train/test split, the response
 * layout and the `{"messages": [...]}` record.
 *
 * - Split: an item's split is a function of its split key (`kb:France` for every question about France, `gloss:cat`
 *   for both directions of a word), hashed as the reasoning tasks' keys are (tasks/task.ts), with a per-task test share
 *   (the pools here are small, so it is larger than the reasoning tasks' 10%). Never of the language or the seed.
 * - Language: `en`, `es`, or `mix` (each item draws one, half and half). It is drawn after the item, so the item stream
 *   is the same in every language.
 * - Response: `<think>\n\n</think>\n\n{reference}`, the layout R1 uses for queries that need no reasoning (an empty
 *   chain of thought, then the answer); `verify` checks the text after `</think>` (or the whole response when there is
 *   none), so a model may reason first.
 *
 * Not here: the reasoning tasks (tasks/), preference pairs (prefs/), chat templates (chat.ts).
 */
import type { Generator } from '../../tensor/random.js';
import type { ChatMessage } from '../chat.js';
import type { Lang } from '../language.js';
import { hash32, randInt, streamRng, type Split } from '../tasks/task.js';

/** `en`, `es`, or `mix` (half and half, drawn per item). */
export type LangOption = Lang | 'mix';

/** One drawn item: what the model is asked, the reference response and the data its check uses. */
export interface SftItem<D = unknown> {
  task: string;
  /** Content key (language-independent); equal ids are the same item. */
  id: string;
  split: Split;
  lang: Lang;
  prompt: string;
  /** The reference answer (without the response layout). */
  reference: string;
  data: D;
}

/** One candidate drawn by a task's sampler. */
export interface SftCandidate<D> {
  key: string;
  /** What decides the split (default: `key`). Items that share knowledge share a split key. */
  splitKey?: string;
  /** Test share for this candidate's split key (default: the task's). */
  testPercent?: number;
  data: D;
}

/** What a task defines. */
export interface SftTaskSpec<D = unknown> {
  name: string;
  description: string;
  /** Percent of split keys in the test split. */
  testPercent: number;
  sample(rng: Generator): SftCandidate<D>;
  /** The prompt and the reference answer in `lang`; `rng` picks among phrasings. */
  render(data: D, lang: Lang, rng: Generator): { prompt: string; reference: string };
  /** Whether `answer` (the text after `</think>`) passes the task's quality check. */
  check(data: D, lang: Lang, answer: string): boolean;
  /**
   * A plausible wrong answer (one that fails `check`): the other country's capital, a word count off by one, a list
   * with an outsider. Used for helpfulness preference pairs.
   */
  corrupt(data: D, lang: Lang, rng: Generator): string;
}

export interface SftOptions {
  /** Default 0. */
  seed?: number;
  /** Default 'train'. */
  split?: Split;
  /** Default 'en'. */
  lang?: LangOption;
}

/** A task with its item stream and checker bound. */
export interface SftTask<D = unknown> extends SftTaskSpec<D> {
  /** Item number `index` of the stream (task, seed, split, lang). */
  itemAt(index: number, opts?: SftOptions): SftItem<D>;
  /** `n` items: distinct (by prompt) while the pool has new ones, then repeats. */
  items(n: number, opts?: SftOptions): SftItem<D>[];
  /** Whether a response (or bare answer) passes the quality check; never throws. */
  verify(item: SftItem<D>, response: string): boolean;
}

/** The split of `splitKey` for a task whose test share is `percent`. */
export function sftSplitOf(splitKey: string, percent: number): Split {
  return hash32(`r1ts-split:${splitKey}`) % 100 < percent ? 'test' : 'train';
}

const MAX_TRIES = 10_000;

/** Binds the stream, split and checker to a task spec. */
export function defineSftTask<D>(spec: SftTaskSpec<D>): SftTask<D> {
  const task: SftTask<D> = {
    ...spec,
    itemAt: (index, opts = {}) => itemAt(task, index, opts),
    items: (n, opts = {}) => itemSet(task, n, opts),
    verify: (item, response) => {
      try {
        return spec.check(item.data, item.lang, finalAnswer(response));
      } catch {
        return false;
      }
    },
  };
  return task;
}

/** Checks the options shared by the SFT tasks and preference pairs; errors name the option. */
export function checkSftOptions(who: string, opts: SftOptions): { seed: number; split: Split; lang: LangOption } {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new Error(`${who}: split must be train or test, got '${split}'`);
  const lang = opts.lang ?? 'en';
  if (lang !== 'en' && lang !== 'es' && lang !== 'mix')
    throw new Error(`${who}: language must be en, es or mix, got '${lang}'`);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`${who}: seed must be a non-negative integer, got ${seed}`);
  return { seed, split, lang };
}

/** The language of an item: `lang`, or for `mix` a fair draw (always made, so the stream does not depend on it). */
export function drawLang(rng: Generator, lang: LangOption): Lang {
  const u = rng.uniform(1, 'float64')[0];
  return lang === 'mix' ? (u < 0.5 ? 'en' : 'es') : lang;
}

function itemAt<D>(task: SftTaskSpec<D>, index: number, opts: SftOptions): SftItem<D> {
  const { seed, split, lang } = checkSftOptions(task.name, opts);
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 31)
    throw new RangeError(`${task.name}: item index ${index} out of range`);
  const rng = streamRng(seed, index, split);
  for (let t = 0; t < MAX_TRIES; t++) {
    const c = task.sample(rng);
    if (sftSplitOf(c.splitKey ?? c.key, c.testPercent ?? task.testPercent) !== split) continue;
    const l = drawLang(rng, lang);
    const { prompt, reference } = task.render(c.data, l, rng);
    return { task: task.name, id: c.key, split, lang: l, prompt, reference, data: c.data };
  }
  throw new Error(`${task.name}: no ${split} item found in ${MAX_TRIES} draws`);
}

function itemSet<D>(task: SftTaskSpec<D>, n: number, opts: SftOptions): SftItem<D>[] {
  return distinctStream(
    task.name,
    n,
    (i) => itemAt(task, i, opts),
    (item) => item.prompt,
  );
}

/**
 * `n` values of the stream `at(0), at(1), ...`, skipping those whose `keyOf` was seen while new ones keep coming;
 * after 200 draws in a row with nothing new (a small pool), repeats are taken.
 */
export function distinctStream<T>(who: string, n: number, at: (i: number) => T, keyOf: (x: T) => string): T[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${who}: n must be a non-negative integer, got ${n}`);
  const out: T[] = [];
  const seen = new Set<string>();
  let stale = 0; // draws in a row that found nothing new
  for (let i = 0; out.length < n; i++) {
    const x = at(i);
    const key = keyOf(x);
    if (!seen.has(key) || stale >= 200) {
      out.push(x);
      seen.add(key);
      stale = 0;
    } else stale++;
  }
  return out;
}

/** The answer part of a response: the text after the last `</think>`, else all of it; trimmed. */
export function finalAnswer(response: string): string {
  const at = response.lastIndexOf('</think>');
  return (at < 0 ? response : response.slice(at + '</think>'.length)).trim();
}

/** The assistant response for a reference answer: an empty chain of thought, then the answer (R1's layout). */
export function sftResponse(reference: string): string {
  return `<think>\n\n</think>\n\n${reference}`;
}

/** The `{"messages": [...]}` record of an item, with its provenance (task, id, split, lang). */
export interface SftRecord {
  messages: ChatMessage[];
  task: string;
  id: string;
  split: Split;
  lang: Lang;
}

/** An item as an SFT record: the user's prompt and the reference response. */
export function sftRecord(item: SftItem): SftRecord {
  return {
    messages: [
      { role: 'user', content: item.prompt },
      { role: 'assistant', content: sftResponse(item.reference) },
    ],
    task: item.task,
    id: item.id,
    split: item.split,
    lang: item.lang,
  };
}

// ------------------------------------------------------------------ helpers the tasks share

/** A uniformly drawn element of `xs`. */
export function choose<T>(rng: Generator, xs: readonly T[]): T {
  return xs[randInt(rng, 0, xs.length - 1)];
}

/** A shuffled copy of `xs` (Fisher-Yates). */
export function shuffle<T>(rng: Generator, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randInt(rng, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Lower case, accents removed, punctuation to spaces, spaces collapsed: for lenient comparisons. */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Whether `text` contains `phrase` as whole words, ignoring case, accents and punctuation. */
export function mentions(text: string, phrase: string): boolean {
  const p = fold(phrase);
  return p.length > 0 && ` ${fold(text)} `.includes(` ${p} `);
}
