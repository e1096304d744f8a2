/**
 * A detector of reflective behaviour in responses (R1 2.2.4: R1-Zero learns to re-check its results and to redo
 * steps, the "aha moment"), for evaluation tables and GRPO's per-step metrics.
 *
 * Definition: a response is reflective when it re-checks a result or redoes a step, which the detector recognises by
 * either of
 * 1. a reflection phrase (case-insensitive, whole words; the English ones also with -s, -es, -ed, -ing): in English
 *    `check`, `verify` / `verified` / `verification`,
 *    `double-check`, `re-check` / `recheck`, `wait`, `redo`, `let me try again`, `try again`, `mistake`,
 *    `that is wrong` / `that's wrong` / `not right`; in Spanish `comprobación` / `comprobar` / `compruebo` /
 *    `comprueba`, `verifico` / `verificar` / `verificación`, `espera`, `repito` / `repetir`, `rehago` / `rehacer`,
 *    `otra vez`, `de nuevo`, `error`, `me equivoqué`, `no es correcto`;
 * 2. a redone calculation: a calculation `A op B = R` whose left side `A op B` was already written earlier in the
 *    response with a different result.
 * The whole response is scanned (with or without `<think>` tags). The rate is the share of responses that are
 * reflective. A task's own check line (`Check: ...`, lineq's substitution) counts: it re-checks the result.
 *
 * Not here: the evaluation (src/eval), the GRPO metrics that use it (trainer.ts).
 */

import { CALCULATION } from '../data/corpus_plain.js';

/** The reflection phrases (see the file header); whole words (English ones with -s, -es, -ed, -ing), any case. */
export const REFLECTION_PHRASES: Readonly<Record<'en' | 'es', readonly string[]>> = {
  en: [
    'check',
    'verify',
    'verified',
    'verification',
    'double-check',
    're-check',
    'recheck',
    'wait',
    'redo',
    'let me try again',
    'try again',
    'mistake',
    'that is wrong',
    "that's wrong",
    'not right',
  ],
  es: [
    'comprobación',
    'comprobar',
    'compruebo',
    'comprueba',
    'verifico',
    'verificar',
    'verificación',
    'espera',
    'repito',
    'repetir',
    'rehago',
    'rehacer',
    'otra vez',
    'de nuevo',
    'error',
    'me equivoqué',
    'no es correcto',
  ],
};

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whole phrases, with English endings (`checks`, `checked`, `checking`): not `unchecked`, `waiter`, `esperanza`. */
const PHRASE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${[...REFLECTION_PHRASES.en, ...REFLECTION_PHRASES.es].map(escapeRegExp).join('|')})(?:s|es|ed|ing)?(?![\\p{L}\\p{N}])`,
  'iu',
);

/** The reflection phrase a response contains (the first one found), or null. */
export function reflectionPhrase(text: string): string | null {
  const m = PHRASE.exec(text);
  return m ? m[0] : null;
}

/** Whether a response redoes a calculation: the same left side written again with another result. */
export function redoneCalculation(text: string): boolean {
  const seen = new Map<string, string>();
  for (const m of text.matchAll(CALCULATION)) {
    const lhs = m[1].replace(/[ \t]+/g, '');
    const prev = seen.get(lhs);
    if (prev !== undefined && prev !== m[2]) return true;
    seen.set(lhs, m[2]);
  }
  return false;
}

/** Whether a response re-checks a result or redoes a step (see the file header). */
export function isReflective(text: string): boolean {
  return reflectionPhrase(text) !== null || redoneCalculation(text);
}

/** Share of `responses` that are reflective (0 for none). */
export function reflectionRate(responses: readonly string[]): number {
  if (responses.length === 0) return 0;
  let n = 0;
  for (const r of responses) if (isReflective(r)) n++;
  return n / responses.length;
}
