/**
 * The prompts rejection sampling draws from, each with what judges a response to it: built-in reasoning tasks (their
 * checker of the final answer), the non-reasoning SFT tasks of src/data/sft (their quality check), and records of a
 * JSONL or Parquet file (an optional `answer`, checked as GRPO and evaluation check JSONL problems).
 *
 * A reasoning task's response is correct when the final answer after `</think>` (`<answer>...</answer>` or `\boxed{}`,
 * src/eval/eval.ts `finalAnswer`) passes the task's checker: the same rule as GRPO's accuracy reward and evaluation. An
 * SFT task's response is correct when the task's `verify` passes (the text after `</think>`).
 *
 * Records (`--data`), one prompt each:
 * - `{"messages": [...]}`: the conversation; a trailing assistant turn (a reference answer) is dropped;
 * - `{"prompt": "..." | [messages]}` (TRL's prompt-only and prompt/completion forms; a completion is ignored), or
 *   `{"question": "..."}`;
 * - optional: `"answer"` (string or number; GSM8K's `#### 72` taken) makes the response checkable; `"id"`, `"task"`,
 *   `"lang"` (en or es) are kept as provenance; `"split"` (train or test: a test record is held out and refused
 *   unless allowed); `"code_task": true` lets the response hold code blocks.
 * Errors name the file and line.
 *
 * Not here: sampling and the filters (sample.ts), the record checks shared with SFT (chat_data.ts).
 */
import type { ChatMessage } from '../data/chat.js';
import { isLang, type Lang } from '../data/language.js';
import { getSftTask, SFT_TASKS, type LangOption } from '../data/sft/index.js';
import { hash32, TASKS, type DifficultySpec, type Split } from '../data/tasks/index.js';
import { readRecords } from '../data/readers.js';
import { finalAnswer } from '../eval/eval.js';
import { answersMatch, gsm8kAnswer, taskProblems } from '../rl/problems.js';
import { checkMessages } from './chat_data.js';

/** One prompt to sample: the conversation so far, what judges a response, and where the prompt came from. */
export interface SamplePrompt {
  /** The conversation before the response: at least one user turn, ending with the turn to answer. */
  messages: ChatMessage[];
  /** Whether a response (the whole text, chain of thought included) is correct; absent when nothing can tell. */
  check?: (response: string) => boolean;
  /** Content id of the problem or item (`lineq:...`, `qa:capital:...`), or `file:line` of a record. */
  id: string;
  /** The task it came from, when known. */
  task?: string;
  split?: Split;
  lang?: Lang;
  /** The prompt asks for code, so code blocks pass the readability filter. Default false. */
  codeTask?: boolean;
  /** `file:line` of the record it came from, for messages. */
  where?: string;
}

/** Which built-in prompts to draw. */
export interface TaskPromptOptions {
  /** Default 'train'. */
  split?: Split;
  /** Prompts per task (default 64). */
  n?: number;
  /** Language: `en` (default), `es`, or `mix` (half and half, decided per problem by its content). */
  lang?: LangOption;
  /** Seed of the problem streams (default 0, the streams evaluation uses). */
  seed?: number;
  /** Difficulty of the reasoning tasks (`2` or `1-3`; default: each task's). SFT tasks have none. */
  difficulty?: DifficultySpec | string;
}

/** The names `taskPrompts` accepts: the reasoning tasks, then the SFT tasks. */
export const SAMPLE_TASKS: readonly string[] = [...Object.keys(TASKS), ...Object.keys(SFT_TASKS)];

/** Whether `name` is a built-in task `taskPrompts` can draw from. */
export function isSampleTask(name: string): boolean {
  return SAMPLE_TASKS.includes(name);
}

/** A response's correctness under a checker of bare final answers (false when there is no final answer). */
function checksFinalAnswer(check: (answer: string) => boolean): (response: string) => boolean {
  return (response) => {
    const answer = finalAnswer(response);
    if (answer === null) return false;
    try {
      return check(answer);
    } catch {
      return false;
    }
  };
}

/** The language of problem `id` under `mix`: a function of its content, so a problem keeps it whatever `n` is. */
function mixedLang(id: string): Lang {
  return (hash32(`r1ts-sample-lang:${id}`) & 1) === 0 ? 'en' : 'es';
}

/**
 * `n` prompts of each task in `names` (reasoning tasks and SFT tasks alike), in order: task by task, each task's
 * problems as its stream gives them. Errors name the unknown task or the bad option.
 */
export function taskPrompts(names: readonly string[], opts: TaskPromptOptions = {}): SamplePrompt[] {
  const split = opts.split ?? 'train';
  const n = opts.n ?? 64;
  const lang = opts.lang ?? 'en';
  const seed = opts.seed ?? 0;
  if (lang !== 'en' && lang !== 'es' && lang !== 'mix')
    throw new Error(`sample: language must be en, es or mix, got '${lang}'`);
  const out: SamplePrompt[] = [];
  for (const name of names) {
    if (Object.hasOwn(SFT_TASKS, name)) {
      const task = getSftTask(name);
      for (const item of task.items(n, { split, lang, seed })) {
        out.push({
          messages: [{ role: 'user', content: item.prompt }],
          check: (r) => task.verify(item, r),
          id: item.id,
          task: name,
          split: item.split,
          lang: item.lang,
        });
      }
      continue;
    }
    if (!Object.hasOwn(TASKS, name)) {
      throw new Error(
        `sample: unknown task '${name}' (reasoning: ${Object.keys(TASKS).join(', ')}; SFT: ${Object.keys(SFT_TASKS).join(', ')})`,
      );
    }
    const pick = (l: Lang) => taskProblems(name, n, { split, seed, difficulty: opts.difficulty, lang: l });
    const en = lang === 'es' ? null : pick('en');
    const es = lang === 'en' ? null : pick('es');
    // problem i is the same problem in both languages (tasks draw the language after the problem)
    for (let i = 0; i < n; i++) {
      const l = lang === 'mix' ? mixedLang((en ?? es)![i].id) : lang;
      const p = (l === 'en' ? en : es)![i];
      out.push({
        messages: [{ role: 'user', content: p.question }],
        check: checksFinalAnswer(p.check),
        id: p.id,
        task: name,
        split,
        lang: l,
      });
    }
  }
  return out;
}

/** The prompt of one record (see the file header); `where` is its `file:line`. */
export function recordPrompt(rec: Record<string, unknown>, where: string): SamplePrompt {
  let messages: ChatMessage[];
  if (rec.messages !== undefined) {
    messages = checkMessages(rec.messages, where, 'messages');
    if (messages.at(-1)?.role === 'assistant') messages = messages.slice(0, -1);
  } else {
    const field = rec.prompt !== undefined ? 'prompt' : 'question';
    const p = rec[field];
    if (typeof p === 'string') {
      if (p.trim() === '') throw new Error(`${where}: "${field}" is empty`);
      messages = [{ role: 'user', content: p }];
    } else if (p !== undefined) messages = checkMessages(p, where, field);
    else throw new Error(`${where}: expected "messages", "prompt" or "question" (fields: ${Object.keys(rec)})`);
  }
  if (!messages.some((m) => m.role === 'user')) throw new Error(`${where}: the prompt has no user turn`);
  if (messages.at(-1)?.role !== 'user')
    throw new Error(`${where}: the prompt must end with a user turn (the one to answer), not ${messages.at(-1)?.role}`);
  const prompt: SamplePrompt = { messages, id: where, where };
  if (rec.answer !== undefined) {
    if (typeof rec.answer !== 'string' && typeof rec.answer !== 'number')
      throw new Error(`${where}: "answer" must be a string or a number`);
    const want = gsm8kAnswer(String(rec.answer));
    prompt.check = checksFinalAnswer((got) => answersMatch(got, want));
  }
  for (const key of ['id', 'task'] as const) {
    const v = rec[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw new Error(`${where}: "${key}" must be a non-empty string`);
    prompt[key] = v;
  }
  if (rec.lang !== undefined) {
    if (!isLang(rec.lang)) throw new Error(`${where}: "lang" must be en or es, got ${JSON.stringify(rec.lang)}`);
    prompt.lang = rec.lang;
  }
  if (rec.split !== undefined) {
    if (rec.split !== 'train' && rec.split !== 'test')
      throw new Error(`${where}: "split" must be train or test, got ${JSON.stringify(rec.split)}`);
    prompt.split = rec.split;
  }
  if (rec.code_task !== undefined) {
    if (typeof rec.code_task !== 'boolean') throw new Error(`${where}: "code_task" must be true or false`);
    prompt.codeTask = rec.code_task;
  }
  return prompt;
}

/** The prompts of JSONL / Parquet files (the first `n` records when given). Errors name the file and line. */
export async function filePrompts(paths: readonly string[], n?: number): Promise<SamplePrompt[]> {
  const out: SamplePrompt[] = [];
  for await (const r of readRecords(paths)) {
    if (n !== undefined && out.length >= n) break;
    out.push(recordPrompt(r.value, r.where));
  }
  if (out.length === 0) throw new Error(`sample: ${paths.join(', ')} holds no records`);
  return out;
}
