/**
 * The non-reasoning SFT tasks (see task.ts for the contract and the split) and their registry.
 *
 * | task      | what                                                                  | check                     |
 * |-----------|-----------------------------------------------------------------------|---------------------------|
 * | factqa    | capitals, continents, element symbols and numbers, planet order       | names the right value     |
 * | identity  | "Who are you?": the model's name and maker                            | name / maker present      |
 * | translate | glossary words and short sentences, English <-> Spanish               | exact after normalising   |
 * | writing   | exactly N words, a list of N, answer in capital letters               | the constraint (and fact) |
 */
import { factQaTask } from './factqa.js';
import { identitySftTask } from './identity.js';
import type { SftTask } from './task.js';
import { translateTask } from './translate.js';
import { writingTask } from './writing.js';

export * from './task.js';
export * from './knowledge.js';
export { factQaTask, factQuestion, factAnswer, factCheck, type FactQaData, type Relation } from './factqa.js';
export { identityTask, identitySftTask, DEFAULT_IDENTITY, type Identity, type IdentityData } from './identity.js';
export { NOUNS, ADJECTIVES, SENTENCE_PATTERNS, glossaryLine, type Noun, type Adjective } from './glossary.js';
export { translateTask, normalizeTranslation, type TranslateData } from './translate.js';
export { writingTask, countWords, listItems, type WritingData } from './writing.js';

/** Every built-in non-reasoning task by name. */
export const SFT_TASKS: Readonly<Record<string, SftTask<never>>> = Object.freeze({
  factqa: factQaTask,
  identity: identitySftTask,
  translate: translateTask,
  writing: writingTask,
} as unknown as Record<string, SftTask<never>>);

/** The SFT task called `name`; the error lists the known ones. */
export function getSftTask(name: string): SftTask<unknown> {
  const t = Object.hasOwn(SFT_TASKS, name) ? SFT_TASKS[name] : undefined;
  if (!t) throw new Error(`unknown SFT task '${name}' (known: ${Object.keys(SFT_TASKS).join(', ')})`);
  return t as unknown as SftTask<unknown>;
}
