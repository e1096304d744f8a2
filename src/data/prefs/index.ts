/**
 * Built-in preference pairs whose ground truth the generator knows (so a reward model's accuracy can be measured
 * against the truth): `helpful` (helpful.ts) and `harmless` (harmless.ts), each with train/test splits that never
 * share a prompt, in English, Spanish or both.
 */
import { distinctStream, type SftOptions } from '../sft/task.js';
import { harmlessPairAt } from './harmless.js';
import { helpfulPairAt } from './helpful.js';
import { PREF_KINDS, type PrefKind, type PrefPair } from './pair.js';

export * from './pair.js';
export {
  harmlessPairAt,
  harmlessPromptsOf,
  REQUEST_FAMILIES,
  requestsOf,
  type RequestFamily,
} from './harmless.js';
export { helpfulPairAt, reasoningResponse, answerSummary, wrongAnswer } from './helpful.js';

/** Pair number `index` of a kind's stream. */
export function prefPairAt(kind: PrefKind, index: number, opts: SftOptions = {}): PrefPair {
  if (kind === 'helpful') return helpfulPairAt(index, opts);
  if (kind === 'harmless') return harmlessPairAt(index, opts);
  throw new Error(`preference pairs: kind must be ${PREF_KINDS.join(' or ')}, got '${kind}'`);
}

/** `n` pairs of a kind: distinct (by prompt and responses) while the pool has new ones, then repeats. */
export function prefPairs(kind: PrefKind, n: number, opts: SftOptions = {}): PrefPair[] {
  prefPairAt(kind, 0, opts); // validates the kind and options even when n = 0
  return distinctStream(
    `${kind} pairs`,
    n,
    (i) => prefPairAt(kind, i, opts),
    (p) => `${p.prompt}\u0000${p.chosen}\u0000${p.rejected}`,
  );
}
