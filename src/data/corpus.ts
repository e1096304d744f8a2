/**
 * The built-in pre-training corpus: documents made from the tasks' train split (never a test problem), so a small
 * base model learns some of the skills, but not all of them, before RL.
 *
 * Two styles (`style`):
 * - `plain`: task problems as textbooks and web pages write them (corpus_plain.ts): never the R1-Zero
 *   template, never `<think>` / `<answer>` around a task's solution, so the format R1-Zero's RL rewards has to emerge
 *   under RL, as in R1 (2.2.4); `worked`, `terse`, `partial` and `switched` documents take the layouts below in that
 *   form, and 15% of the documents (PLAIN_TAGGED_SHARE, unless the mix names `tagged`) are generic tagged documents;
 * - `templated` (the default): the corpus of the versions before styles, document for document: the kinds below
 *   after the R1-Zero prompt, with tagged solutions. A base trained on it follows the format before any RL (the easier
 *   variant).
 *
 * Document kinds (default shares):
 * - `worked` (60%): R1-Zero prompt + full worked solution `<think>...</think>\n<answer>...</answer>`;
 * - `answer` (15%): a worksheet of 2-6 questions with bare answers (`Q: ...` / `A: ...`), no reasoning;
 * - `partial` (10%): R1-Zero prompt + a worked solution cut off after some of its steps (no answer);
 * - `text` (15%): generic text: how the methods work, number facts (all statements true), the answer format;
 * - `drill` (0% unless asked for): an arithmetic drill sheet, one `A op B = C` line per calculation taken from the
 *   worked solutions of train problems of one task (so the drills match the sizes and signs of the task's own steps).
 *   A worked solution holds one or two such calculations among ~100 tokens of boilerplate; a drill sheet holds ~20, so
 *   a small model sees far more arithmetic per token.
 * - `copy` (0% unless asked for): a copying exercise, random equation-like lines each written twice;
 * - `terse` (0% unless asked for): R1-Zero prompt + a solution that restates the problem and goes straight to the
 *   answer (`<think>\n5x - 4 = -24\n</think>\n<answer>-4</answer>`). Mixed with `worked` documents under the same
 *   prompt, it gives a base that sometimes works a problem out and sometimes guesses, as a pre-trained model that has
 *   seen both careful and offhand answers does: R1-Zero's RL then has a longer, more accurate way of answering to find.
 * - `switched` (0% unless asked for): a worked document whose chain of thought changes language for a run of steps
 *   (some steps in the other language, as web text does), so that a base can mix languages in its reasoning; tasks
 *   whose solutions cannot be switched (mul's English steps have no words) are skipped, and a problem whose steps
 *   allow no such run (rare) is written unswitched;
 * - `facts` (0% unless asked for): the knowledge the non-reasoning SFT tasks need, as prose (corpus_text.ts);
 * - `tagged` (plain style: 15% unless asked for): markup such as `<think>`, `<answer>`, `<note>` around text about
 *   other things, some after an instruction naming the tags (corpus_plain.ts).
 *
 * Languages: with `languages` (`{en: 0.7, es: 0.3}`) each document draws its language: the question and worked
 * solution, worksheets (`P:` / `R:`), generic text and facts are then written in it; the template stays the English
 * R1-Zero scaffolding around the question, as R1's did. Without it every document is English, and the stream is the
 * one of the versions before languages (every default document is byte-identical).
 * Difficulties default to each task's `corpus` range, which reaches beyond its evaluation default so that the hardest
 * problems stay out of reach of a small model. Everything is a function of the seed.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Generator as Rng } from '../tensor/random.js';
import { copyText, factsText, genericText } from './corpus_text.js';
import { CALCULATION, plainDocument, solutionParts, taggedText } from './corpus_plain.js';
import { isLang, type Lang, languageCounts, LANGUAGES, otherLang } from './language.js';
import { getTask, TASKS } from './tasks/index.js';
import { formatPrompt, R1_ZERO_TEMPLATE } from './tasks/template.js';
import { parseDifficulty, randInt, type Task } from './tasks/task.js';

export type DocKind =
  | 'worked'
  | 'answer'
  | 'partial'
  | 'text'
  | 'drill'
  | 'copy'
  | 'terse'
  | 'switched'
  | 'facts'
  | 'tagged';
export const DOC_KINDS: readonly DocKind[] = [
  'worked',
  'answer',
  'partial',
  'text',
  'drill',
  'copy',
  'terse',
  'switched',
  'facts',
  'tagged',
];

/**
 * How task problems are written: `plain` (textbook and web layouts, never the R1-Zero template, never
 * `<think>`/`<answer>` around a task solution; corpus_plain.ts) or `templated` (the R1-Zero prompt, or its short form,
 * followed by the tagged solution: the corpus of the versions before styles, document for document; the default).
 */
export type CorpusStyle = 'plain' | 'templated';
export const CORPUS_STYLES: readonly CorpusStyle[] = ['plain', 'templated'];
/**
 * The default corpus style: `templated` until a base pre-trained on `plain` learns under RL (measured in README's
 * R1-Zero section: on the tiny preset it does not yet).
 */
export const DEFAULT_CORPUS_STYLE: CorpusStyle = 'templated';

/** Parses a --corpus value. */
export function parseCorpusStyle(s: string): CorpusStyle {
  if (!(CORPUS_STYLES as readonly string[]).includes(s))
    throw new Error(`corpus: the style is one of ${CORPUS_STYLES.join(', ')}, got '${s}'`);
  return s as CorpusStyle;
}

/** Share of all documents that are generic tagged documents in the plain style, unless the mix names `tagged`. */
export const PLAIN_TAGGED_SHARE = 0.15;

/** One corpus document. */
export interface CorpusDoc {
  text: string;
  kind: DocKind;
  /** The task it came from (not for `text`). */
  task?: string;
  /** Problem ids it contains. */
  ids?: string[];
  /** The document's language (for `switched`: the language it starts in); absent for language-free kinds. */
  lang?: Lang;
}

export interface CorpusOptions {
  /**
   * Task names, each optionally weighted as `name=weight` (default weight 1), or ['mix'] for all built-in tasks with
   * equal weights. Each task document picks its task with probability proportional to the weights.
   */
  tasks: readonly string[];
  /** Number of documents. */
  n: number;
  /** Default 0. */
  seed?: number;
  /**
   * `N` or `A-B` for every task, or per task `name=N|A-B,...` (tasks not named keep their corpus range); default each
   * task's corpus range.
   */
  difficulty?: string;
  /** Shares of the document kinds (normalised); missing kinds get 0. Default 0.6/0.15/0.1/0.15 (drill, copy, terse 0). */
  mix?: Partial<Record<DocKind, number>>;
  /** How task problems are written (default `templated`: DEFAULT_CORPUS_STYLE). */
  style?: CorpusStyle;
  /** Prompt template with `{prompt}` (default R1-Zero); templated style only. */
  template?: string;
  /** Shares of the document languages (normalised), e.g. `{en: 0.7, es: 0.3}`; default every document English. */
  languages?: Partial<Record<Lang, number>>;
  /**
   * Share of the worked and partial documents written with `template`; the others use the short form
   * `User: {prompt} Assistant:` (the template's tail), which packs about twice as many problems into the same tokens.
   * Default 1 (every document has the full template).
   */
  templateShare?: number;
}

export const DEFAULT_MIX: Readonly<Record<DocKind, number>> = {
  worked: 0.6,
  answer: 0.15,
  partial: 0.1,
  text: 0.15,
  drill: 0,
  copy: 0,
  terse: 0,
  switched: 0,
  facts: 0,
  tagged: 0,
};

/** A count or share of 0 for every document kind. */
const zeroPerKind = (): Record<DocKind, number> =>
  Object.fromEntries(DOC_KINDS.map((k) => [k, 0])) as Record<DocKind, number>;

/** The calculations in a worked solution, as `A op B = R` strings, in order. */
export function solutionCalculations(solution: string): string[] {
  const out: string[] = [];
  for (const m of solution.matchAll(CALCULATION)) out.push(`${m[1].replace(/[ \t]+/g, ' ')} = ${m[2]}`);
  return out;
}

/** Lines of one drill sheet. */
const DRILL_LINES: readonly [number, number] = [16, 24];

/** Parses `worked=0.6,answer=0.2,...` (CLI form). */
export function parseMix(spec: string): Partial<Record<DocKind, number>> {
  const out: Partial<Record<DocKind, number>> = {};
  for (const part of spec.split(',')) {
    const m = /^\s*(\w+)\s*=\s*([0-9.]+)\s*$/.exec(part);
    if (!m || !DOC_KINDS.includes(m[1] as DocKind) || !Number.isFinite(Number(m[2]))) {
      throw new Error(`corpus: --mix expects kind=share,... with kinds ${DOC_KINDS.join(', ')}; got '${part}'`);
    }
    out[m[1] as DocKind] = Number(m[2]);
  }
  return out;
}

/** Parses `en=0.7,es=0.3` (CLI form) into language shares. */
export function parseLanguages(spec: string): Partial<Record<Lang, number>> {
  const out: Partial<Record<Lang, number>> = {};
  for (const part of spec.split(',')) {
    const m = /^\s*(\w+)\s*=\s*([0-9.]+)\s*$/.exec(part);
    if (!m || !isLang(m[1]) || !Number.isFinite(Number(m[2]))) {
      throw new Error(
        `corpus: --languages expects lang=share,... with languages ${LANGUAGES.join(', ')}; got '${part}'`,
      );
    }
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** A language picker for the `languages` option (null when it is not set: every document is English, no draw). */
function languagePicker(languages: CorpusOptions['languages']): ((rng: Rng) => Lang) | null {
  if (languages === undefined) return null;
  const shares = LANGUAGES.map((l) => languages[l] ?? 0);
  const total = shares.reduce((a, b) => a + b, 0);
  if (!(total > 0) || shares.some((x) => !(x >= 0)))
    throw new Error('corpus: the language shares must be non-negative with a positive sum');
  return (rng) => {
    const u = uniform(rng) * total;
    return u < shares[0] ? LANGUAGES[0] : LANGUAGES[1];
  };
}

/** `items` with the given weights: an index, drawn in proportion (weights of 0 are never drawn). */
function weightedPick(rng: Rng, weights: readonly number[], sum: number): number {
  let u = uniform(rng) * sum;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] === 0) continue;
    if (u < weights[i]) return i;
    u -= weights[i];
  }
  let last = weights.length - 1;
  while (weights[last] === 0) last--;
  return last;
}

/** The steps of a worked solution's chain of thought (without the tags). */
const thinkSteps = (solution: string): string[] =>
  solution.slice('<think>\n'.length, solution.indexOf('\n</think>')).split('\n');

/**
 * Every way of writing `base`'s steps with one run [i, j) of them taken from `other` (aligned from the end: the two
 * languages may differ by a leading line) such that the result holds words of both languages.
 */
function switchedVersions(base: readonly string[], other: readonly string[]): string[][] {
  const offset = other.length - base.length;
  const out: string[][] = [];
  for (let i = Math.max(0, -offset); i < base.length; i++) {
    for (let j = i + 1; j <= base.length; j++) {
      const steps = [...base.slice(0, i), ...other.slice(i + offset, j + offset), ...base.slice(j)];
      const c = languageCounts(steps.join('\n'));
      if (c.en > 0 && c.es > 0) out.push(steps);
    }
  }
  return out;
}

/** The short prompt form of `templateShare`. */
export const SHORT_TEMPLATE = 'User: {prompt} Assistant:';

const uniform = (rng: Rng): number => rng.uniform(1, 'float64')[0];

/** Parses the task list (`mix`, or `name` / `name=weight` items) into names and weights. */
export function parseCorpusTasks(items: readonly string[]): { names: string[]; weights: number[] } {
  if (items.length === 1 && items[0].trim() === 'mix') {
    const names = Object.keys(TASKS);
    return { names, weights: names.map(() => 1) };
  }
  const names: string[] = [];
  const weights: number[] = [];
  for (const item of items) {
    const m = /^\s*([\w-]+)\s*(?:=\s*([0-9.eE+-]+)\s*)?$/.exec(item);
    const w = m?.[2] === undefined ? 1 : Number(m[2]);
    if (!m || !(Number.isFinite(w) && w > 0))
      throw new Error(`corpus: a task is NAME or NAME=WEIGHT with a positive weight, got '${item}'`);
    getTask(m[1]); // names the known tasks when unknown
    if (names.includes(m[1])) throw new Error(`corpus: task '${m[1]}' is listed twice`);
    names.push(m[1]);
    weights.push(w);
  }
  if (names.length === 0) throw new Error('corpus: no task given');
  return { names, weights };
}

/** Difficulty range of each task: one `N`/`A-B` for all, or `name=N|A-B,...` per task (others: corpus range). */
function corpusRanges(spec: string | undefined, tasks: readonly Task<never>[]): [number, number][] {
  if (spec === undefined || !spec.includes('=')) return tasks.map((t) => parseDifficulty(spec, t, 'corpus'));
  const per = new Map<string, string>();
  for (const part of spec.split(',')) {
    const m = /^\s*([\w-]+)\s*=\s*([^=]+?)\s*$/.exec(part);
    if (!m) throw new Error(`corpus: --difficulty expects N, A-B or task=N|A-B,...; got '${part}'`);
    if (!tasks.some((t) => t.name === m[1])) {
      throw new Error(
        `corpus: --difficulty names task '${m[1]}', which is not in the corpus (${tasks.map((t) => t.name).join(', ')})`,
      );
    }
    per.set(m[1], m[2]);
  }
  return tasks.map((t) => parseDifficulty(per.get(t.name), t, 'corpus'));
}

/** Generates the corpus documents lazily (see file header). */
export function* corpusDocuments(opts: CorpusOptions): Generator<CorpusDoc> {
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const { names, weights } = parseCorpusTasks(opts.tasks);
  const tasks = names.map((n) => getTask(n));
  const ranges = corpusRanges(opts.difficulty, tasks as Task<never>[]);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const equal = weights.every((w) => w === weights[0]);
  const pickTask = (): number => {
    if (equal) return randInt(rng, 0, tasks.length - 1); // the unweighted stream of earlier versions
    let u = uniform(rng) * weightSum;
    for (let i = 0; i < weights.length - 1; i++) {
      if (u < weights[i]) return i;
      u -= weights[i];
    }
    return weights.length - 1;
  };
  const pickLang = languagePicker(opts.languages);
  const style = opts.style ?? DEFAULT_CORPUS_STYLE;
  parseCorpusStyle(style);
  const plain = style === 'plain';
  const mix = { ...(opts.mix ? zeroPerKind() : DEFAULT_MIX), ...opts.mix };
  if (plain && opts.mix?.tagged === undefined) {
    const others = DOC_KINDS.reduce((s, k) => s + mix[k], 0);
    mix.tagged = (others * PLAIN_TAGGED_SHARE) / (1 - PLAIN_TAGGED_SHARE);
  }
  const total = DOC_KINDS.reduce((s, k) => s + mix[k], 0);
  if (!(total > 0)) throw new Error('corpus: the document mix is empty');
  if (!Number.isInteger(opts.n) || opts.n < 0)
    throw new Error(`corpus: --n must be a non-negative integer, got ${opts.n}`);
  const template = opts.template ?? R1_ZERO_TEMPLATE;
  const templateShare = opts.templateShare ?? 1;
  if (!(templateShare >= 0 && templateShare <= 1))
    throw new Error(`corpus: templateShare must be in [0, 1], got ${templateShare}`);
  const next = new Map<string, number>(); // next problem index per task
  const draw = (ti: number, lang: Lang = 'en') => {
    const t = tasks[ti];
    const i = next.get(t.name) ?? 0;
    next.set(t.name, i + 1);
    return t.problemAt(i, { seed, split: 'train', difficulty: ranges[ti], lang });
  };
  // drill sheets come from the tasks whose worked solutions calculate (sort's do not), with the same weights
  const drillWeights = weights.map((w, i) =>
    mix.drill > 0 &&
    solutionCalculations(tasks[i].solution(tasks[i].problemAt(0, { seed, split: 'train', difficulty: ranges[i] }), 0))
      .length > 0
      ? w
      : 0,
  );
  const drillSum = drillWeights.reduce((a, b) => a + b, 0);
  if (mix.drill > 0 && drillSum === 0)
    throw new Error(`corpus: drill documents need a task whose solutions calculate; none of ${names.join(', ')} does`);
  // switched documents come from the tasks whose solutions have words in both languages (mul's English has none)
  const switchWeights = weights.map((w, i) => {
    if (!(mix.switched > 0)) return 0;
    const p = tasks[i].problemAt(0, { seed, split: 'train', difficulty: ranges[i] });
    const steps = (lang: Lang) => thinkSteps(tasks[i].solution(p, 0, lang));
    const [en, es] = [steps('en'), steps('es')];
    return switchedVersions(en, es).length > 0 && switchedVersions(es, en).length > 0 ? w : 0;
  });
  const switchSum = switchWeights.reduce((a, b) => a + b, 0);
  if (mix.switched > 0 && switchSum === 0)
    throw new Error(
      `corpus: switched documents need a task with words in its solutions; none of ${names.join(', ')} has`,
    );
  for (let d = 0; d < opts.n; d++) {
    let u = uniform(rng) * total;
    let kind: DocKind = 'text';
    for (const k of DOC_KINDS) {
      if (u < mix[k]) {
        kind = k;
        break;
      }
      u -= mix[k];
    }
    const lang: Lang = pickLang ? pickLang(rng) : 'en';
    const tag = pickLang ? { lang } : {};
    if (kind === 'text') {
      yield { text: genericText(rng, lang), kind, ...tag };
      continue;
    }
    if (kind === 'copy') {
      yield { text: copyText(rng), kind };
      continue;
    }
    if (kind === 'facts') {
      yield { text: factsText(rng, lang), kind, lang };
      continue;
    }
    if (kind === 'tagged') {
      yield { text: taggedText(rng, lang), kind, ...tag };
      continue;
    }
    const ti =
      kind === 'drill'
        ? weightedPick(rng, drillWeights, drillSum)
        : kind === 'switched'
          ? weightedPick(rng, switchWeights, switchSum)
          : pickTask();
    const task = tasks[ti];
    if (kind === 'answer') {
      const k = randInt(rng, 2, 6);
      const ps = Array.from({ length: k }, () => draw(ti, lang));
      const [q, a] = lang === 'en' ? ['Q', 'A'] : ['P', 'R'];
      yield {
        text: ps.map((p) => `${q}: ${p.prompt}\n${a}: ${p.answer}`).join('\n\n'),
        kind,
        task: task.name,
        ids: ps.map((p) => p.id),
        ...tag,
      };
      continue;
    }
    if (kind === 'drill') {
      const want = randInt(rng, DRILL_LINES[0], DRILL_LINES[1]);
      const lines: string[] = [];
      const ids: string[] = [];
      // bounded: a task's solutions may calculate only sometimes
      for (let tries = 0; lines.length < want && tries < 4 * want; tries++) {
        const p = draw(ti);
        const calcs = solutionCalculations(task.solution(p, d));
        if (calcs.length > 0) ids.push(p.id);
        lines.push(...calcs.slice(0, want - lines.length));
      }
      yield { text: lines.join('\n'), kind, task: task.name, ids };
      continue;
    }
    const p = draw(ti, lang);
    const solution = task.solution(p, d);
    if (plain) {
      let parts = solutionParts(solution);
      if (kind === 'switched') {
        const other = task.solution(p, d, otherLang(lang));
        const versions = switchedVersions(parts.steps, thinkSteps(other));
        if (versions.length > 0) parts = { ...parts, steps: versions[randInt(rng, 0, versions.length - 1)] };
      }
      const as = kind === 'switched' ? 'worked' : kind;
      yield { text: plainDocument(rng, as, p.prompt, parts, lang), kind, task: task.name, ids: [p.id], ...tag };
      continue;
    }
    // no draw when every document has the template: the stream of earlier versions
    const prompt = formatPrompt(
      p.prompt,
      templateShare === 1 || uniform(rng) < templateShare ? template : SHORT_TEMPLATE,
    );
    if (kind === 'worked') {
      yield { text: `${prompt} ${solution}`, kind, task: task.name, ids: [p.id], ...tag };
      continue;
    }
    if (kind === 'switched') {
      // one run of steps in the other language, among the runs that leave words of both languages
      const versions = switchedVersions(thinkSteps(solution), thinkSteps(task.solution(p, d, otherLang(lang))));
      const steps = versions.length > 0 ? versions[randInt(rng, 0, versions.length - 1)] : thinkSteps(solution);
      const tail = solution.slice(solution.indexOf('\n</think>'));
      yield { text: `${prompt} <think>\n${steps.join('\n')}${tail}`, kind, task: task.name, ids: [p.id], lang };
      continue;
    }
    const thinkEnd = solution.indexOf('\n</think>');
    const lines = solution.slice(0, thinkEnd).split('\n'); // ['<think>', step, step, ...]
    if (kind === 'terse') {
      // the first line (the problem restated), then straight to the answer
      yield {
        text: `${prompt} ${lines.slice(0, 2).join('\n')}${solution.slice(thinkEnd)}`,
        kind,
        task: task.name,
        ids: [p.id],
        ...tag,
      };
      continue;
    }
    // partial: keep `<think>` and 1..(steps - 1) of its lines
    const keep = lines.length > 2 ? randInt(rng, 2, lines.length - 1) : lines.length;
    yield { text: `${prompt} ${lines.slice(0, keep).join('\n')}`, kind, task: task.name, ids: [p.id], ...tag };
  }
}

export interface CorpusStats {
  docs: number;
  bytes: number;
  kinds: Record<DocKind, number>;
  tasks: Record<string, number>;
}

/** Writes the corpus as JSONL (`{"text": ...}` per line); `onProgress(docsDone, bytes)` every 1000 documents. */
export async function writeCorpus(
  path: string,
  opts: CorpusOptions,
  onProgress?: (docs: number, bytes: number) => void,
): Promise<CorpusStats> {
  const docs = corpusDocuments(opts); // validates options before the file is created
  const first = docs.next();
  const out = createWriteStream(path);
  const stats: CorpusStats = { docs: 0, bytes: 0, kinds: zeroPerKind(), tasks: {} };
  const failed = once(out, 'error').then(([e]) => {
    throw new Error(`corpus: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  });
  failed.catch(() => undefined);
  for (let r = first; !r.done; r = docs.next()) {
    const doc = r.value;
    const line = JSON.stringify({ text: doc.text }) + '\n';
    stats.docs++;
    stats.bytes += Buffer.byteLength(line);
    stats.kinds[doc.kind]++;
    if (doc.task) stats.tasks[doc.task] = (stats.tasks[doc.task] ?? 0) + 1;
    if (!out.write(line)) await Promise.race([once(out, 'drain'), failed]);
    if (onProgress && stats.docs % 1000 === 0) onProgress(stats.docs, stats.bytes);
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return stats;
}
