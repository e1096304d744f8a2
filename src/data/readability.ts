/**
 * R1's readability filters ([R1v1] 2.3.3: "we have filtered out chain-of-thought with mixed languages, long
 * paragraphs, and code blocks"; 2.3.1: the readable pattern `<reasoning_process>` then `<summary>`), each a function
 * of a response, for rejection sampling and the R1 recipe. A response passes when every filter passes.
 *
 * | filter     | a response fails when                                                                          |
 * |------------|------------------------------------------------------------------------------------------------|
 * | language   | its chain of thought mixes English and Spanish (both above MIXED_SHARE of its language words)  |
 * | paragraphs | a paragraph is longer than MAX_PARAGRAPH_CHARS (600) characters                                |
 * | code       | it has a code block (``` or ~~~ fences, <pre> or <code>) and the prompt is not a code task    |
 * | format     | it is not `<think>...</think>` then a non-empty summary or answer, with nothing before         |
 *
 * A paragraph is a line: models write a paragraph as one line and break lines between them, so an overlong line is
 * R1's wall of text; the built-in worked solutions write one step per line and pass at every corpus difficulty. The
 * format filter takes `thinkOpened` for responses generated after a prompt that already opened `<think>` (R1's chat
 * template forces it).
 *
 * Not here: the language metric (language.ts), the reward functions (src/rl/rewards.ts).
 */
import { mixedLanguage } from './language.js';
import { chainOfThought } from './tasks/answer.js';

/** The longest paragraph (line) the paragraphs filter allows, in characters. */
export const MAX_PARAGRAPH_CHARS = 600;

export interface ReadabilityOptions {
  /** The prompt asks for code, so code blocks are fine. Default false. */
  codeTask?: boolean;
  /** The prompt ended with `<think>`, so the response starts inside the chain of thought. Default false. */
  thinkOpened?: boolean;
  /** Default MAX_PARAGRAPH_CHARS. */
  maxParagraphChars?: number;
}

/** Whether the chain of thought mixes the two languages (see language.ts `mixedLanguage`). */
export function hasMixedLanguage(response: string): boolean {
  return mixedLanguage(chainOfThought(response));
}

/** The length in characters of the longest paragraph (line) of `text`. */
export function longestParagraph(text: string): number {
  return Math.max(0, ...text.split('\n').map((line) => line.trim().length));
}

/** Whether some paragraph is longer than `max` characters. */
export function hasOverlongParagraph(text: string, max = MAX_PARAGRAPH_CHARS): boolean {
  return longestParagraph(text) > max;
}

/** Whether `text` has a code block: a ``` or ~~~ fence, or a <pre> or <code> element. */
export function hasCodeBlock(text: string): boolean {
  return /^[ \t]*(```|~~~)/m.test(text) || /<(pre|code)[\s>]/i.test(text);
}

/**
 * Whether `response` is in R1's readable format: `<think>`, the reasoning, `</think>`, then a non-empty summary or
 * answer; one chain of thought, nothing before it. With `thinkOpened` the leading `<think>` is in the prompt.
 */
export function isReadableFormat(response: string, thinkOpened = false): boolean {
  const text = thinkOpened && !response.trimStart().startsWith('<think>') ? `<think>${response}` : response;
  const m = /^\s*<think>([\s\S]*?)<\/think>([\s\S]*)$/.exec(text);
  if (!m) return false;
  const [, reasoning, summary] = m;
  return !/<\/?think>/.test(reasoning) && !/<\/?think>/.test(summary) && summary.trim().length > 0;
}

/** The filters by name, each true when the response passes. */
export const READABILITY_FILTERS: Readonly<Record<string, (response: string, opts: ReadabilityOptions) => boolean>> = {
  language: (r) => !hasMixedLanguage(r),
  paragraphs: (r, o) => !hasOverlongParagraph(r, o.maxParagraphChars),
  code: (r, o) => o.codeTask === true || !hasCodeBlock(r),
  format: (r, o) => isReadableFormat(r, o.thinkOpened),
};

/** The names of the filters `response` fails (empty when it is readable). */
export function readabilityFailures(response: string, opts: ReadabilityOptions = {}): string[] {
  return Object.entries(READABILITY_FILTERS)
    .filter(([, pass]) => !pass(response, opts))
    .map(([name]) => name);
}

/** Whether `response` passes every readability filter. */
export function isReadable(response: string, opts: ReadabilityOptions = {}): boolean {
  return readabilityFailures(response, opts).length === 0;
}
