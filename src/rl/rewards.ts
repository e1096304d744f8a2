/**
 * Rule-based rewards for R1-Zero (SPEC 5.2) as plain functions of a response that return numbers, a weighted sum of
 * them, and user reward functions loaded from a module.
 *
 * - accuracy: 1 when the final answer is correct, else 0. The answer is taken from the text after the last `</think>`
 *   (the last complete `<answer>...</answer>`, else the last `\boxed{}`: src/data/tasks/answer.ts), so a response
 *   without `</think>` scores 0 and an answer written inside the reasoning does not count. When a response has several
 *   answers, the last one is graded.
 * - format: 1 for `<think>...</think>` then `<answer>...</answer>` and nothing else around them, else 0.
 * - language ([R1v1] 2.3.2): Num(words in the target language) / Num(language words) over the chain of thought (the
 *   text before `</think>`, after `<think>`), in [0, 1]; 0 when the chain of thought has no language word. For English
 *   and Spanish, words are counted by word lists (src/data/language.ts), so that a Spanish chain of thought scores 0
 *   for an English target although both are Latin script; words in both languages (`no`, numbers, symbols) do not
 *   count. The target is the prompt's language by default (the problem's `lang`, else the dominant language of the
 *   question). A target that is a non-Latin Unicode script (`zh` = Han, `ru` = Cyrillic, `el`, `ar`, or a script
 *   name) is counted by script: Num(words all in the script) / Num(words).
 * - reward models (`rm:PATH`, `rm:PATH@summary`): a learned reward, the score of a reward model (a
 *   `ResponseScorer`, src/posttrain/reward_model.ts) of the question as the user's turn and a part of the response as
 *   the assistant's, rendered with the reward model's own chat template. The part is `whole` (the default: the whole
 *   response, as R1 judges harmlessness) or `summary` (the text after the last `</think>`, as R1 judges helpfulness;
 *   empty when there is none). It scores a step's responses in one batched call (`BatchRewardFn`); loading the model
 *   is the caller's (the grpo CLI), since this layer cannot import src/posttrain.
 *
 * Not here: advantages and the loss (grpo.ts), the problems and their checkers (problems.ts, src/data/tasks).
 */
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { dominantLanguage, isLang, languageShare, type Lang } from '../data/language.js';
import { chainOfThought, extractAnswer, isR1Format } from '../data/tasks/answer.js';
import type { FinishReason } from '../infer/generate.js';
import type { ChatMessage } from '../data/chat.js';

/** Everything a reward function may look at. */
export interface RewardInput {
  /** The model's response as scored: the response prefix (if any) plus the generated text, EOS excluded. */
  response: string;
  /** The question, without the template. */
  question: string;
  /** The reference answer (text). */
  answer: string;
  /** Whether a bare final answer is correct (the task's checker). */
  check: (finalAnswer: string) => boolean;
  /** Why generation stopped ('length' = truncated). */
  finish: FinishReason;
  /** Number of generated tokens. */
  length: number;
  /** The problem's language (`en`, `es`), when it states one. */
  lang?: Lang;
}

/** A reward function: a plain function of one response, returning a finite number. */
export type RewardFn = (x: RewardInput) => number;

/** The text after the last `</think>`, or null when there is none. */
export function afterThink(response: string): string | null {
  const at = response.lastIndexOf('</think>');
  return at < 0 ? null : response.slice(at + '</think>'.length);
}

/** 1 if the final answer after `</think>` is correct, else 0 (see the file header). */
export const accuracyReward: RewardFn = (x) => {
  const tail = afterThink(x.response);
  if (tail === null) return 0;
  const ans = extractAnswer(tail);
  if (ans === null) return 0;
  try {
    return x.check(ans) ? 1 : 0;
  } catch {
    return 0;
  }
};

/** 1 for the R1 layout `<think>...</think>` then `<answer>...</answer>`, else 0. */
export const formatReward: RewardFn = (x) => (isR1Format(x.response) ? 1 : 0);

const SCRIPT_ALIASES: Record<string, string> = {
  zh: 'Han',
  ru: 'Cyrillic',
  el: 'Greek',
  ar: 'Arabic',
};

export { chainOfThought };

/** The language a response to `x` should reason in: the problem's, else the dominant one of the question. */
export function promptLanguage(x: Pick<RewardInput, 'lang' | 'question'>): Lang {
  return x.lang ?? dominantLanguage(x.question, 'en');
}

/**
 * Language-consistency reward (see the file header). `target`: `prompt` (default: the prompt's language), `en`, `es`,
 * or a non-Latin script (`zh`, `ru`, `el`, `ar` or a Unicode script name such as Han). Throws when the target is
 * unknown, and for Latin, which cannot tell English from Spanish.
 */
export function languageReward(target = 'prompt'): RewardFn {
  if (target === 'prompt') return (x) => languageShare(chainOfThought(x.response), promptLanguage(x));
  if (isLang(target)) return (x) => languageShare(chainOfThought(x.response), target);
  const script = SCRIPT_ALIASES[target.toLowerCase()] ?? target;
  const known = 'use prompt, en, es, zh, ru, el, ar or a non-Latin Unicode script name';
  if (script.toLowerCase() === 'latin')
    throw new Error(`language reward: '${target}' is a script shared by English and Spanish (${known})`);
  let inScript: RegExp;
  try {
    inScript = new RegExp(`^\\p{Script=${script}}+$`, 'u');
  } catch {
    throw new Error(`language reward: unknown script or language '${target}' (${known})`);
  }
  return (x) => {
    const words = chainOfThought(x.response).match(/\p{L}+/gu) ?? [];
    if (words.length === 0) return 0;
    let hit = 0;
    for (const w of words) if (inScript.test(w)) hit++;
    return hit / words.length;
  };
}

/** A reward computed for a whole batch of responses at once (a reward model's forward passes). */
export type BatchRewardFn = (xs: readonly RewardInput[]) => ArrayLike<number>;

/** A named reward with its weight in the total. */
export interface WeightedReward {
  name: string;
  /** The reward of one response. */
  fn: RewardFn;
  weight: number;
  /** When present, what `scoreRewards` calls instead of `fn`: every response of the batch in one call. */
  batch?: BatchRewardFn;
}

/** What part of a response a reward model scores: the whole response, or the summary after the last `</think>`. */
export type ResponsePart = 'whole' | 'summary';
export const RESPONSE_PARTS: readonly ResponsePart[] = ['whole', 'summary'];

/** The prefix of reward-model rewards in --rewards: `rm:PATH[@whole|@summary]=WEIGHT`. */
export const RM_REWARD_PREFIX = 'rm:';

/**
 * The reward model and part of a reward name `rm:PATH`, `rm:PATH@whole` or `rm:PATH@summary`; null for other names.
 * Throws when the path is empty.
 */
export function parseRewardModelName(name: string): { path: string; part: ResponsePart } | null {
  if (!name.startsWith(RM_REWARD_PREFIX)) return null;
  let spec = name.slice(RM_REWARD_PREFIX.length);
  let part: ResponsePart = 'whole';
  const at = spec.lastIndexOf('@');
  if (at >= 0 && (RESPONSE_PARTS as readonly string[]).includes(spec.slice(at + 1))) {
    part = spec.slice(at + 1) as ResponsePart;
    spec = spec.slice(0, at);
  }
  if (!spec) throw new Error(`reward weights: '${name}' names no reward model (write rm:PATH or rm:PATH@summary)`);
  return { path: spec, part };
}

/** The part of a response a reward model scores (see ResponsePart). */
export function responsePart(response: string, part: ResponsePart): string {
  return part === 'whole' ? response : (afterThink(response) ?? '').trim();
}

/** Scores responses to chat prompts in batches, without gradient: what a reward model offers GRPO. */
export interface ResponseScorer {
  score(prompts: readonly (readonly ChatMessage[])[], responses: readonly string[]): Float64Array;
}

/**
 * A reward model as a batched reward: the question as the user's turn, `part` of each response as the assistant's,
 * all of a batch in one `score` call.
 */
export function rewardModelReward(scorer: ResponseScorer, part: ResponsePart): BatchRewardFn {
  return (xs) =>
    scorer.score(
      xs.map((x) => [{ role: 'user', content: x.question }]),
      xs.map((x) => responsePart(x.response, part)),
    );
}

/** The built-in rewards by name; `opts.language` is the language reward's target (default: the prompt's language). */
export function builtinReward(name: string, opts: { language?: string } = {}): RewardFn | null {
  if (name === 'accuracy') return accuracyReward;
  if (name === 'format') return formatReward;
  if (name === 'language') return languageReward(opts.language);
  return null;
}

/**
 * Parses `accuracy=1,format=1,language=0.1` into weights. Names must be built-in or among `known` (user functions).
 */
export function parseRewardWeights(spec: string, known: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of spec.split(',').filter((p) => p.trim())) {
    const eq = part.lastIndexOf('=');
    const name = part.slice(0, Math.max(0, eq)).trim();
    const weight = part.slice(eq + 1).trim();
    const m =
      eq < 0 ? null : (/^([A-Za-z_][\w.-]*)$/.exec(name) ?? (name.startsWith(RM_REWARD_PREFIX) ? [name] : null));
    if (!m || !weight)
      throw new Error(
        `reward weights: expected NAME=WEIGHT items like accuracy=1,format=1 or rm:PATH@summary=0.5, got '${part}'`,
      );
    const w = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(weight) ? Number(weight) : Number.NaN;
    if (!Number.isFinite(w)) throw new Error(`reward weights: weight of '${name}' must be a number, got '${weight}'`);
    if (!parseRewardModelName(name) && !['accuracy', 'format', 'language', ...known].includes(name)) {
      throw new Error(
        `reward weights: unknown reward '${name}' (built-in: accuracy, format, language, rm:PATH[@summary]${known.length ? `; loaded: ${known.join(', ')}` : ''})`,
      );
    }
    if (name in out) throw new Error(`reward weights: '${name}' is given twice`);
    out[name] = w;
  }
  return out;
}

/**
 * Loads user reward functions from a JS/TS module path: its default export (a function, named after the file) and
 * every named export that is a function. TypeScript modules load when running under tsx.
 */
export async function loadRewardModule(file: string): Promise<Record<string, RewardFn>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`reward module ${file}: cannot load (${(e as Error).message})`);
  }
  const out: Record<string, RewardFn> = {};
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v !== 'function') continue;
    out[k === 'default' ? path.basename(file).replace(/\.[cm]?[jt]s$/, '') : k] = v as RewardFn;
  }
  if (Object.keys(out).length === 0) throw new Error(`reward module ${file}: exports no function`);
  return out;
}

/** Scores of a batch: the weighted total and each reward's raw values. */
export interface RewardScores {
  total: Float64Array;
  per: Record<string, Float64Array>;
}

/** Runs every reward on every input. A reward that throws or returns a non-finite number is an error naming it. */
export function scoreRewards(rewards: readonly WeightedReward[], inputs: readonly RewardInput[]): RewardScores {
  const total = new Float64Array(inputs.length);
  const per: Record<string, Float64Array> = {};
  for (const r of rewards) {
    const vals = new Float64Array(inputs.length);
    if (r.batch) {
      let got: ArrayLike<number>;
      try {
        got = r.batch(inputs);
      } catch (e) {
        throw new Error(`reward '${r.name}' threw on a batch of ${inputs.length}: ${(e as Error).message}`);
      }
      if (got.length !== inputs.length)
        throw new Error(`reward '${r.name}' returned ${got.length} values for ${inputs.length} samples`);
      for (let i = 0; i < inputs.length; i++) {
        if (typeof got[i] !== 'number' || !Number.isFinite(got[i]))
          throw new Error(`reward '${r.name}' returned ${String(got[i])} on sample ${i} (expected a finite number)`);
        vals[i] = got[i];
        total[i] += r.weight * got[i];
      }
      per[r.name] = vals;
      continue;
    }
    inputs.forEach((x, i) => {
      let v: number;
      try {
        v = r.fn(x);
      } catch (e) {
        throw new Error(`reward '${r.name}' threw on sample ${i}: ${(e as Error).message}`);
      }
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`reward '${r.name}' returned ${String(v)} on sample ${i} (expected a finite number)`);
      vals[i] = v;
      total[i] += r.weight * v;
    });
    per[r.name] = vals;
  }
  return { total, per };
}
