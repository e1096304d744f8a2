/**
 * Language identification by word lists, for r1ts's two languages, English (`en`) and Spanish (`es`): the metric
 * behind R1's language-consistency reward ([R1v1] 2.3.2: the share of chain-of-thought words in the target language),
 * the mixed-language readability filter and the tests of the bilingual data.
 *
 * Both languages use the Latin script, so a word's script says nothing: a word counts for a language when that
 * language's word list has it (common words, src/data/wordlists/common.ts, plus every word the built-in data uses,
 * vocabulary.ts). Words in both lists (`no`, `me`, `real`, `hotel`), single letters used as variables (`x`) and the
 * listed neutral words count for neither; so do words in no list (names, typos, other languages).
 *
 * - `words(text)`: the words of a text. A word is a run of letters (accents and `ñ` included, case kept) with
 *   apostrophes allowed inside (`don't`). Not words: numbers, symbols, a letter run that touches a digit (`3x`, `x2`),
 *   tags (`<think>`, `<｜User｜>`) and backslash commands (`\boxed`).
 * - `languageOfWord(w)`: `en`, `es`, `neutral` or `unknown` (case-insensitive).
 * - `languageShare(text, lang)`: Num(words in `lang`) / Num(words in en or es), 0 when the text has no such word.
 * - `mixedLanguage(text)`: both languages above MIXED_SHARE of the language words.
 *
 * Not here: the reward that applies this to a chain of thought (src/rl/rewards.ts), the readability filters
 * (readability.ts).
 */
import { EN_COMMON, ES_COMMON } from './wordlists/common.js';
import { EN_EXTRA, ES_EXTRA, FORCE_EN, FORCE_ES, NEUTRAL } from './wordlists/vocabulary.js';

/** A language r1ts's built-in data is written in. */
export type Lang = 'en' | 'es';

/** The built-in languages. */
export const LANGUAGES: readonly Lang[] = ['en', 'es'];

/** English names of the languages. */
export const LANGUAGE_NAMES: Readonly<Record<Lang, string>> = { en: 'English', es: 'Spanish' };

/** What a word counts as. */
export type WordLanguage = Lang | 'neutral' | 'unknown';

/** Whether `s` is a built-in language code. */
export function isLang(s: unknown): s is Lang {
  return s === 'en' || s === 'es';
}

/** `s` as a language code; the error names `what` (a flag or field) and the known codes. */
export function parseLang(s: string, what = 'language'): Lang {
  if (!isLang(s)) throw new Error(`${what} must be en or es, got '${s}'`);
  return s;
}

/** The other built-in language. */
export const otherLang = (lang: Lang): Lang => (lang === 'en' ? 'es' : 'en');

const split = (s: string): string[] => s.split(/\s+/).filter(Boolean);

let table: Map<string, WordLanguage> | null = null;

/** The word table, built on first use: list membership, then the forced and neutral words. */
function wordTable(): Map<string, WordLanguage> {
  if (table) return table;
  const en = new Set([...split(EN_COMMON), ...split(EN_EXTRA)]);
  const es = new Set([...split(ES_COMMON), ...split(ES_EXTRA)]);
  const t = new Map<string, WordLanguage>();
  for (const w of en) t.set(w, es.has(w) ? 'neutral' : 'en');
  for (const w of es) if (!en.has(w)) t.set(w, 'es');
  for (const w of split(FORCE_EN)) t.set(w, 'en');
  for (const w of split(FORCE_ES)) t.set(w, 'es');
  for (const w of split(NEUTRAL)) t.set(w, 'neutral');
  table = t;
  return t;
}

const TAG = /<[^<>\s]+>/g;
const COMMAND = /\\[A-Za-z]+/g;
const WORD = /(?<![\p{L}\p{M}\p{N}_'’])\p{L}[\p{L}\p{M}]*(?:['’][\p{L}\p{M}]+)*(?![\p{L}\p{M}\p{N}_])/gu;

/** The words of `text`, in order, as written (see the file header for what is a word). */
export function words(text: string): string[] {
  const plain = text.normalize('NFC').replace(TAG, ' ').replace(COMMAND, ' ');
  return plain.match(WORD) ?? [];
}

/** What `word` counts as: a language, `neutral` (in both, or a listed neutral word) or `unknown` (in neither). */
export function languageOfWord(word: string): WordLanguage {
  const w = word.normalize('NFC').toLowerCase().replace(/’/g, "'");
  const t = wordTable();
  const hit = t.get(w);
  if (hit) return hit;
  if (w.length === 1) return 'neutral'; // a variable or a label
  return 'unknown';
}

/** Counts of a text's words by what they count as. */
export interface LanguageCounts {
  en: number;
  es: number;
  neutral: number;
  unknown: number;
}

/** How many of the words of `text` count as each language, neutral or unknown. */
export function languageCounts(text: string): LanguageCounts {
  const c: LanguageCounts = { en: 0, es: 0, neutral: 0, unknown: 0 };
  for (const w of words(text)) c[languageOfWord(w)]++;
  return c;
}

/** Num(words in `lang`) / Num(words in en or es) over `text`; 0 when it has no such word. */
export function languageShare(text: string, lang: Lang): number {
  const c = languageCounts(text);
  const n = c.en + c.es;
  return n === 0 ? 0 : c[lang] / n;
}

/** The language with the most words in `text` (ties and wordless texts: `fallback`). */
export function dominantLanguage(text: string, fallback: Lang = 'en'): Lang {
  const c = languageCounts(text);
  return c.en === c.es ? fallback : c.en > c.es ? 'en' : 'es';
}

/**
 * A text is mixed-language when each language has more than this share of its language words. With 0.1, one English
 * word among twenty Spanish ones is not mixing; three are.
 */
export const MIXED_SHARE = 0.1;

/** Whether both languages exceed `threshold` (default MIXED_SHARE) of the language words of `text`. */
export function mixedLanguage(text: string, threshold = MIXED_SHARE): boolean {
  const c = languageCounts(text);
  const n = c.en + c.es;
  return n > 0 && c.en / n > threshold && c.es / n > threshold;
}
