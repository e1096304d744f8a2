/**
 * Cold-start data of the R1 recipe ([R1v1] 2.3.1, SPEC section 5): long, readable chains of thought in R1's output
 * pattern `|special_token|<reasoning_process>|special_token|<summary>`. The paper's two placeholders are the
 * tokenizer's added tokens `<think>` and `</think>` (ids 508 and 509 of the built-in tokenizer: added tokens, never split
 * by the byte-level BPE), so a cold-start response reads
 *
 *   <think>
 *   ...the reasoning, in the prompt's language...
 *   </think>
 *
 *   The answer is \boxed{42}.            (Spanish: La respuesta es \boxed{42}.)
 *
 * The summary is the prompt's language's answer line of the preference data (src/data/prefs `answerSummary`), with
 * the answer in `\boxed{}` so that the accuracy reward and evaluation read it (src/data/tasks/answer.ts).
 *
 * Two sources, as in R1: the tasks' worked solutions (their steps, written in the prompt's language) and R1-Zero
 * samples that pass a filter (correct; R1's readability filters; chain of thought in the prompt's language), rewritten
 * into the pattern. Only the train split is used: evaluation problems never reach this data.
 *
 * Not here: sampling the R1-Zero model (src/posttrain/sample.ts, called by ./r1.ts), SFT on the records.
 */
import type { ChatMessage } from '../data/chat.js';
import { type Lang, languageShare } from '../data/language.js';
import { answerSummary } from '../data/prefs/index.js';
import { readabilityFailures } from '../data/readability.js';
import { chainOfThought, extractAnswer, getTask } from '../data/tasks/index.js';
import type { DifficultySpec } from '../data/tasks/task.js';
import { taskPrompts } from '../posttrain/sample_prompts.js';

/** The added tokens that stand for R1's `|special_token|` placeholders: reasoning opens and closes with them. */
export const READABLE_TOKENS = ['<think>', '</think>'] as const;

/** Share of a chain of thought's language words that must be in the prompt's language (R1: "in the prompt's language"). */
export const COLD_START_MIN_LANGUAGE_SHARE = 0.95;

/** The summary that ends a readable response: the answer line in `lang`, the answer boxed. */
export function summaryOf(answer: string, lang: Lang): string {
  return answerSummary(`\\boxed{${answer}}`, lang);
}

/** A response in the readable pattern: `<think>\n` reasoning `\n</think>\n\n` summary. */
export function readableResponse(reasoning: string, answer: string, lang: Lang): string {
  return `${READABLE_TOKENS[0]}\n${reasoning.trim()}\n${READABLE_TOKENS[1]}\n\n${summaryOf(answer, lang)}`;
}

/** One cold-start record: TRL's conversational format plus provenance. */
export interface ColdStartRecord {
  messages: ChatMessage[];
  task: string;
  /** The problem's content id (train split). */
  id: string;
  lang: Lang;
  /** `worked`: a task's worked solution; `r1-zero`: a filtered R1-Zero sample. */
  source: 'worked' | 'r1-zero';
}

export interface WorkedOptions {
  /** Reasoning tasks (default ['lineq']). */
  tasks?: readonly string[];
  /** Records per task. */
  n: number;
  difficulty?: DifficultySpec | string;
  seed?: number;
}

/**
 * Cold-start records from the tasks' worked solutions: `n` train-split problems per task, half in English and half
 * in Spanish (by content), each with a worked solution (a varied wording per problem) rewritten into the pattern.
 */
export function workedColdStart(o: WorkedOptions): ColdStartRecord[] {
  const out: ColdStartRecord[] = [];
  for (const name of o.tasks ?? ['lineq']) {
    const task = getTask(name);
    const prompts = taskPrompts([name], {
      n: o.n,
      split: 'train',
      lang: 'mix',
      seed: o.seed,
      difficulty: o.difficulty,
    });
    const problems = {
      en: task.problems(o.n, { split: 'train', seed: o.seed, difficulty: o.difficulty, lang: 'en' }),
      es: task.problems(o.n, { split: 'train', seed: o.seed, difficulty: o.difficulty, lang: 'es' }),
    };
    prompts.forEach((p, i) => {
      const lang = p.lang ?? 'en';
      const problem = problems[lang][i];
      const reasoning = chainOfThought(task.solution(problem, i % 4));
      out.push({
        messages: [
          { role: 'user', content: problem.prompt },
          { role: 'assistant', content: readableResponse(reasoning, problem.answer, lang) },
        ],
        task: name,
        id: problem.id,
        lang,
        source: 'worked',
      });
    });
  }
  return out;
}

/** Why a sample was not turned into a cold-start record (null: it was). */
export type ZeroRejection = 'incorrect' | 'unreadable' | 'language' | null;

/** An R1-Zero sample to filter: its prompt (question, language, checker of a whole response) and the response. */
export interface ZeroSample {
  question: string;
  lang: Lang;
  task: string;
  id: string;
  response: string;
  /** Whether the whole response's final answer is correct. */
  check: (response: string) => boolean;
}

/**
 * Filters one R1-Zero sample and rewrites it: correct, readable (R1's filters: one language, no overlong paragraph,
 * no code block, `<think>...</think>` then an answer), and a chain of thought at least
 * COLD_START_MIN_LANGUAGE_SHARE in the prompt's language. The kept reasoning is the sample's own; the summary is
 * written from its final answer, in the prompt's language.
 */
export function zeroToColdStart(s: ZeroSample): { record: ColdStartRecord | null; rejected: ZeroRejection } {
  if (!s.check(s.response)) return { record: null, rejected: 'incorrect' };
  if (readabilityFailures(s.response).length) return { record: null, rejected: 'unreadable' };
  const cot = chainOfThought(s.response);
  if (languageShare(cot, s.lang) < COLD_START_MIN_LANGUAGE_SHARE) return { record: null, rejected: 'language' };
  const tail = s.response.slice(s.response.lastIndexOf('</think>') + '</think>'.length);
  const answer = extractAnswer(tail);
  if (answer === null) return { record: null, rejected: 'incorrect' };
  return {
    record: {
      messages: [
        { role: 'user', content: s.question },
        { role: 'assistant', content: readableResponse(cot, answer, s.lang) },
      ],
      task: s.task,
      id: s.id,
      lang: s.lang,
      source: 'r1-zero',
    },
    rejected: null,
  };
}
