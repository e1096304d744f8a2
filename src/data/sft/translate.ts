/**
 * `translate`: translation between English and Spanish of glossary words and of short sentences built from them
 * (glossary.ts). The direction is part of the item; the prompt's language is not (`Translate into Spanish: cat` and
 * `Traduce al español: cat` are the same item). The reference is the translation alone.
 *
 * Check: exact match after normalisation (case, surrounding quotes and punctuation, `¿`/`¡`, spaces; for a word, a
 * leading article: `el gato` and `gato` both count). Accents count: `arbol` is not `árbol`.
 *
 * Split: a word is held out in both directions (`gloss:<english>`). Sentences use only words of the train split, and
 * are split by their own content, so a held-out word never appears in any training translation item; the corpus's
 * glossary documents list every word (the knowledge), never a translation prompt.
 *
 * Not here: the glossary itself (glossary.ts).
 */
import type { Generator } from '../../tensor/random.js';
import { type Lang, otherLang } from '../language.js';
import { ADJECTIVES, type Adjective, NOUNS, type Noun, SENTENCE_PATTERNS } from './glossary.js';
import { choose, defineSftTask, sftSplitOf } from './task.js';

export interface TranslateData {
  /** Source language. */
  from: Lang;
  /** Text to translate. */
  source: string;
  /** The translation. */
  target: string;
  /** A word (articles are ignored in the check) or a sentence. */
  unit: 'word' | 'sentence';
}

/** Test share of glossary words and of sentences. */
export const GLOSSARY_TEST_PERCENT = 20;
const SENTENCE_TEST_PERCENT = 10;

/** The split key of a glossary entry. */
export const glossaryKey = (entry: Noun | Adjective): string => `gloss:${entry.en}`;

const esWord = (entry: Noun | Adjective): string => (typeof entry.es === 'string' ? entry.es : entry.es.m);

/** Glossary entries whose words are in the train split (the only ones sentences use). */
const trainNouns = NOUNS.filter((n) => sftSplitOf(glossaryKey(n), GLOSSARY_TEST_PERCENT) === 'train');
const trainAdjectives = ADJECTIVES.filter((a) => sftSplitOf(glossaryKey(a), GLOSSARY_TEST_PERCENT) === 'train');

const NAMES: Record<Lang, Record<Lang, string>> = {
  en: { en: 'English', es: 'Spanish' },
  es: { en: 'inglés', es: 'español' },
};

/** Lower case, quotes, `¿¡`, end punctuation and extra spaces removed; for a word also a leading article. */
export function normalizeTranslation(text: string, unit: 'word' | 'sentence'): string {
  let s = text
    .normalize('NFC')
    .toLowerCase()
    .replace(/[«»"“”‘’`¿¡]/g, '')
    .replace(/^'+|'+$/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.!?;:,]+$/, '')
    .trim();
  if (unit === 'word') s = s.replace(/^(the|a|an|el|la|los|las|un|una) /, '');
  return s;
}

function render(d: TranslateData, lang: Lang, rng: Generator): { prompt: string; reference: string } {
  const to = NAMES[lang][otherLang(d.from)];
  const forms =
    lang === 'en'
      ? [`Translate into ${to}: ${d.source}`, `How do you say "${d.source}" in ${to}?`]
      : [`Traduce al ${to}: ${d.source}`, `¿Cómo se dice «${d.source}» en ${to}?`];
  return { prompt: choose(rng, forms), reference: d.target };
}

export const translateTask = defineSftTask<TranslateData>({
  name: 'translate',
  description: 'translate glossary words and short sentences between English and Spanish',
  testPercent: GLOSSARY_TEST_PERCENT,
  sample(rng) {
    const from: Lang = rng.uniform(1, 'float64')[0] < 0.5 ? 'en' : 'es';
    const texts = (en: string, es: string) => (from === 'en' ? { source: en, target: es } : { source: es, target: en });
    if (rng.uniform(1, 'float64')[0] < 0.5) {
      const entry: Noun | Adjective = rng.uniform(1, 'float64')[0] < 0.7 ? choose(rng, NOUNS) : choose(rng, ADJECTIVES);
      return {
        key: `translate:${from}:word:${entry.en}`,
        splitKey: glossaryKey(entry),
        data: { from, unit: 'word', ...texts(entry.en, esWord(entry)) },
      };
    }
    const pattern = choose(rng, SENTENCE_PATTERNS);
    const noun = choose(rng, trainNouns);
    const adj = choose(rng, trainAdjectives);
    const content = `sentence:${pattern.key}:${noun.en}${pattern.usesAdjective ? `:${adj.en}` : ''}`;
    return {
      key: `translate:${from}:${content}`,
      splitKey: content,
      testPercent: SENTENCE_TEST_PERCENT,
      data: { from, unit: 'sentence', ...texts(pattern.render(noun, adj, 'en'), pattern.render(noun, adj, 'es')) },
    };
  },
  render,
  check: (d, _lang, answer) => normalizeTranslation(answer, d.unit) === normalizeTranslation(d.target, d.unit),
  corrupt(d, _lang, rng) {
    for (;;) {
      const entry: Noun | Adjective = choose(rng, [...NOUNS, ...ADJECTIVES]);
      const other = d.from === 'en' ? esWord(entry) : entry.en;
      const wrong = d.unit === 'word' ? other : d.target.replace(/\p{L}+(?=[.?]$)/u, other);
      if (normalizeTranslation(wrong, d.unit) !== normalizeTranslation(d.target, d.unit)) return wrong;
    }
  },
});
