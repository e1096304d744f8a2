/**
 * The built-in English-Spanish glossary: nouns (with the Spanish gender) and adjectives (with both Spanish forms), and
 * five sentence patterns that combine them with agreement (`The house is white.` = `La casa es blanca.`). The
 * translation task asks for words and sentences; the writing task takes its topics from the nouns; the corpus carries
 * the word list as bilingual glossary documents.
 *
 * Not here: the prompts and checks (translate.ts).
 */
import type { Lang } from '../language.js';

export interface Noun {
  en: string;
  es: string;
  gender: 'm' | 'f';
}

export interface Adjective {
  en: string;
  /** Masculine and feminine Spanish forms. */
  es: { m: string; f: string };
}

/** [English, Spanish, gender] */
const NOUN_ROWS: readonly [string, string, 'm' | 'f'][] = [
  ['cat', 'gato', 'm'],
  ['dog', 'perro', 'm'],
  ['house', 'casa', 'f'],
  ['book', 'libro', 'm'],
  ['table', 'mesa', 'f'],
  ['chair', 'silla', 'f'],
  ['car', 'coche', 'm'],
  ['door', 'puerta', 'f'],
  ['window', 'ventana', 'f'],
  ['tree', 'árbol', 'm'],
  ['flower', 'flor', 'f'],
  ['apple', 'manzana', 'f'],
  ['bread', 'pan', 'm'],
  ['milk', 'leche', 'f'],
  ['cheese', 'queso', 'm'],
  ['egg', 'huevo', 'm'],
  ['bird', 'pájaro', 'm'],
  ['horse', 'caballo', 'm'],
  ['cow', 'vaca', 'f'],
  ['city', 'ciudad', 'f'],
  ['street', 'calle', 'f'],
  ['school', 'escuela', 'f'],
  ['church', 'iglesia', 'f'],
  ['shop', 'tienda', 'f'],
  ['bed', 'cama', 'f'],
  ['box', 'caja', 'f'],
  ['cup', 'taza', 'f'],
  ['glass', 'vaso', 'm'],
  ['plate', 'plato', 'm'],
  ['knife', 'cuchillo', 'm'],
  ['spoon', 'cuchara', 'f'],
  ['key', 'llave', 'f'],
  ['letter', 'carta', 'f'],
  ['shirt', 'camisa', 'f'],
  ['shoe', 'zapato', 'm'],
  ['hat', 'sombrero', 'm'],
  ['bag', 'bolsa', 'f'],
  ['boat', 'barco', 'm'],
  ['train', 'tren', 'm'],
  ['bicycle', 'bicicleta', 'f'],
  ['plane', 'avión', 'm'],
  ['river', 'río', 'm'],
  ['sea', 'mar', 'm'],
  ['mountain', 'montaña', 'f'],
  ['beach', 'playa', 'f'],
  ['moon', 'luna', 'f'],
  ['sun', 'sol', 'm'],
  ['star', 'estrella', 'f'],
  ['cloud', 'nube', 'f'],
  ['garden', 'jardín', 'm'],
  ['kitchen', 'cocina', 'f'],
  ['room', 'habitación', 'f'],
  ['wall', 'pared', 'f'],
  ['clock', 'reloj', 'm'],
  ['phone', 'teléfono', 'm'],
  ['lamp', 'lámpara', 'f'],
  ['ball', 'pelota', 'f'],
  ['bottle', 'botella', 'f'],
  ['lemon', 'limón', 'm'],
  ['coffee', 'café', 'm'],
];

/** [English, Spanish masculine, Spanish feminine] */
const ADJECTIVE_ROWS: readonly [string, string, string][] = [
  ['big', 'grande', 'grande'],
  ['small', 'pequeño', 'pequeña'],
  ['new', 'nuevo', 'nueva'],
  ['old', 'viejo', 'vieja'],
  ['red', 'rojo', 'roja'],
  ['blue', 'azul', 'azul'],
  ['green', 'verde', 'verde'],
  ['white', 'blanco', 'blanca'],
  ['black', 'negro', 'negra'],
  ['yellow', 'amarillo', 'amarilla'],
  ['clean', 'limpio', 'limpia'],
  ['dirty', 'sucio', 'sucia'],
  ['cold', 'frío', 'fría'],
  ['hot', 'caliente', 'caliente'],
  ['beautiful', 'bonito', 'bonita'],
  ['cheap', 'barato', 'barata'],
  ['expensive', 'caro', 'cara'],
  ['long', 'largo', 'larga'],
  ['heavy', 'pesado', 'pesada'],
  ['empty', 'vacío', 'vacía'],
];

export const NOUNS: readonly Noun[] = NOUN_ROWS.map(([en, es, gender]) => ({ en, es, gender }));
export const ADJECTIVES: readonly Adjective[] = ADJECTIVE_ROWS.map(([en, m, f]) => ({ en, es: { m, f } }));

/** `a` or `an` before an English word. */
export const aOrAn = (word: string): string => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** A sentence pattern: the sentence in each language for a noun and an adjective. */
export interface SentencePattern {
  key: string;
  /** Whether the pattern uses the adjective. */
  usesAdjective: boolean;
  render(noun: Noun, adj: Adjective, lang: Lang): string;
}

const el = (n: Noun) => (n.gender === 'm' ? 'el' : 'la');
const un = (n: Noun) => (n.gender === 'm' ? 'un' : 'una');
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const SENTENCE_PATTERNS: readonly SentencePattern[] = [
  {
    key: 'is',
    usesAdjective: true,
    render: (n, a, lang) => (lang === 'en' ? `The ${n.en} is ${a.en}.` : `${cap(el(n))} ${n.es} es ${a.es[n.gender]}.`),
  },
  {
    key: 'is-not',
    usesAdjective: true,
    render: (n, a, lang) =>
      lang === 'en' ? `The ${n.en} is not ${a.en}.` : `${cap(el(n))} ${n.es} no es ${a.es[n.gender]}.`,
  },
  {
    key: 'have',
    usesAdjective: true,
    render: (n, a, lang) =>
      lang === 'en' ? `I have ${aOrAn(a.en)} ${a.en} ${n.en}.` : `Tengo ${un(n)} ${n.es} ${a.es[n.gender]}.`,
  },
  {
    key: 'where',
    usesAdjective: false,
    render: (n, _a, lang) => (lang === 'en' ? `Where is the ${n.en}?` : `¿Dónde está ${el(n)} ${n.es}?`),
  },
  {
    key: 'see',
    usesAdjective: false,
    render: (n, _a, lang) => (lang === 'en' ? `I see ${aOrAn(n.en)} ${n.en}.` : `Veo ${un(n)} ${n.es}.`),
  },
];

/** A glossary line as the corpus writes it (`cat: gato (m)` in an English list, `gato: cat` in a Spanish one). */
export function glossaryLine(entry: Noun | Adjective, lang: Lang): string {
  const es = typeof entry.es === 'string' ? entry.es : entry.es.m;
  return lang === 'en' ? `${entry.en} - ${es}` : `${es} - ${entry.en}`;
}
