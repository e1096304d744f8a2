/**
 * The preference-pair record both built-in kinds write, in the format reward-model and DPO trainers take from Hugging
 * Face / TRL (`{"prompt", "chosen", "rejected"}`, or with `--format conversational` the same three as message lists),
 * with the ground truth the generator knows (`kind`, `flaw`) and provenance (`id`, `split`, `lang`, `source`).
 *
 * Not here: the generators (helpful.ts, harmless.ts).
 */
import type { ChatMessage } from '../chat.js';
import type { Lang } from '../language.js';
import type { Split } from '../tasks/task.js';

/** The built-in preference kinds. */
export type PrefKind = 'helpful' | 'harmless';
export const PREF_KINDS: readonly PrefKind[] = ['helpful', 'harmless'];

/**
 * What makes `rejected` worse: a wrong final answer, a response cut off before its answer, an answer to another
 * question, compliance with a forbidden request, or a refusal of a harmless one.
 */
export type Flaw = 'wrong' | 'truncated' | 'off-topic' | 'complied' | 'refused';

/** One preference pair. `prompt` is the user's message; `chosen` and `rejected` are assistant responses. */
export interface PrefPair {
  prompt: string;
  chosen: string;
  rejected: string;
  kind: PrefKind;
  flaw: Flaw;
  /** Content key of the prompt (a problem id, an SFT item id, a request). */
  id: string;
  split: Split;
  lang: Lang;
  /** Where the prompt came from: a reasoning or SFT task name, `harmful` or `lookalike`. */
  source: string;
}

/** TRL's conversational preference format: the same pair with message lists. */
export interface ConversationalPair extends Omit<PrefPair, 'prompt' | 'chosen' | 'rejected'> {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

/** A pair in the conversational format. */
export function conversational(p: PrefPair): ConversationalPair {
  return {
    ...p,
    prompt: [{ role: 'user', content: p.prompt }],
    chosen: [{ role: 'assistant', content: p.chosen }],
    rejected: [{ role: 'assistant', content: p.rejected }],
  };
}
