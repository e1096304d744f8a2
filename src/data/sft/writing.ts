/**
 * `writing`: short writing with a constraint a program can check, in English or Spanish:
 * - `words`: a sentence about a glossary noun in exactly N words (5-12). Check: N words (white-space separated pieces
 *   with a letter or digit) and the topic named (in either language).
 * - `list`: N (2-5) members of a category (colors, animals, fruits, planets, continents, days, months, metals,
 *   countries of South America), one per line. Check: exactly N distinct members, as lines (`-`, `*` or `1.`
 *   bullets) or a comma list; members count in either language.
 * - `caps`: a knowledge-base question to be answered in capital letters. Check: no lower-case letter, and the answer
 *   is right (factqa's check). Split by entity, like factqa, so a held-out fact is held out here too.
 *
 * Not here: the knowledge base (knowledge.ts), the glossary (glossary.ts).
 */
import type { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import { randInt } from '../tasks/task.js';
import { factAnswer, factCheck, factQuestion, type FactQaData, KB_TEST_PERCENT, sampleFact } from './factqa.js';
import { ADJECTIVES, NOUNS, type Noun } from './glossary.js';
import { COUNTRIES, ELEMENTS, PLANETS } from './knowledge.js';
import { choose, defineSftTask, fold, shuffle } from './task.js';

type Category =
  | 'colors'
  | 'animals'
  | 'fruits'
  | 'planets'
  | 'continents'
  | 'days'
  | 'months'
  | 'metals'
  | 'south-america';

const METALS = ['iron', 'copper', 'zinc', 'silver', 'tin', 'gold', 'lead', 'nickel', 'cobalt', 'aluminium'];

/** Members of each category, in both languages, and how a prompt names the category. */
const CATEGORIES: Record<Category, { en: string[]; es: string[]; name: Record<Lang, string> }> = {
  colors: {
    en: ['red', 'blue', 'green', 'white', 'black', 'yellow', 'orange', 'purple', 'pink', 'brown', 'grey'],
    es: ['rojo', 'azul', 'verde', 'blanco', 'negro', 'amarillo', 'naranja', 'morado', 'rosa', 'marrón', 'gris'],
    name: { en: 'colors', es: 'colores' },
  },
  animals: {
    en: ['cat', 'dog', 'bird', 'horse', 'cow', 'fish', 'lion', 'tiger', 'bear', 'sheep', 'pig', 'mouse'],
    es: ['gato', 'perro', 'pájaro', 'caballo', 'vaca', 'pez', 'león', 'tigre', 'oso', 'oveja', 'cerdo', 'ratón'],
    name: { en: 'animals', es: 'animales' },
  },
  fruits: {
    en: ['apple', 'lemon', 'orange', 'banana', 'pear', 'grape', 'cherry', 'strawberry', 'peach', 'melon'],
    es: ['manzana', 'limón', 'naranja', 'plátano', 'pera', 'uva', 'cereza', 'fresa', 'melocotón', 'melón'],
    name: { en: 'fruits', es: 'frutas' },
  },
  planets: {
    en: PLANETS.map((p) => p.name.en),
    es: PLANETS.map((p) => p.name.es.replace(/^la /, '')),
    name: { en: 'planets of the solar system', es: 'planetas del sistema solar' },
  },
  continents: {
    en: ['Europe', 'Africa', 'Asia', 'North America', 'South America', 'Oceania', 'Antarctica'],
    es: ['Europa', 'África', 'Asia', 'América del Norte', 'América del Sur', 'Oceanía', 'Antártida'],
    name: { en: 'continents', es: 'continentes' },
  },
  days: {
    en: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
    es: ['lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado', 'domingo'],
    name: { en: 'days of the week', es: 'días de la semana' },
  },
  months: {
    en: 'January February March April May June July August September October November December'.split(' '),
    es: 'enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre'.split(' '),
    name: { en: 'months of the year', es: 'meses del año' },
  },
  metals: {
    en: METALS,
    es: METALS.map((m) => ELEMENTS.find((e) => e.name.en === m)?.name.es ?? m),
    name: { en: 'metals', es: 'metales' },
  },
  'south-america': {
    en: COUNTRIES.filter((c) => c.continent.en === 'South America').map((c) => c.name.en),
    es: COUNTRIES.filter((c) => c.continent.en === 'South America').map((c) => c.name.es),
    name: { en: 'countries in South America', es: 'países de América del Sur' },
  },
};

const NUMBER_WORDS: Record<Lang, string[]> = {
  en: ['zero', 'one', 'two', 'three', 'four', 'five'],
  es: ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco'],
};

export type WritingData =
  | { kind: 'words'; noun: Noun; n: number }
  | { kind: 'list'; category: Category; n: number }
  | { kind: 'caps'; fact: FactQaData };

/** Words of a constrained sentence: white-space separated pieces with a letter or digit. */
export function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}

/**
 * A sentence about `noun` with exactly `n` words (4-12): `The {noun} is {adj}` plus optional parts of 2, 1, 2 and 3
 * words (`I think`, `very`, `and {adj2}`, `in the morning`), a random one of the combinations that reach `n`.
 */
export function sentenceAbout(noun: Noun, n: number, lang: Lang, rng: Generator): string {
  const parts = [2, 1, 2, 3];
  const fits: number[] = []; // subsets of the parts (as bit masks) that add up to n - 4 words
  for (let mask = 0; mask < 16; mask++) {
    let sum = 0;
    for (let i = 0; i < 4; i++) if (mask & (1 << i)) sum += parts[i];
    if (sum === n - 4) fits.push(mask);
  }
  if (fits.length === 0) throw new Error(`writing: no sentence of ${n} words (4-12)`);
  const mask = choose(rng, fits);
  const use = new Set([0, 1, 2, 3].filter((i) => mask & (1 << i)));
  const adj = choose(rng, ADJECTIVES);
  let adj2 = choose(rng, ADJECTIVES);
  while (adj2 === adj) adj2 = choose(rng, ADJECTIVES);
  if (lang === 'en') {
    const body = `the ${noun.en} is ${use.has(1) ? 'very ' : ''}${adj.en}${use.has(2) ? ` and ${adj2.en}` : ''}`;
    const s = `${use.has(0) ? 'I think ' : ''}${body}${use.has(3) ? ' in the morning' : ''}.`;
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  const g = noun.gender;
  const body = `${g === 'm' ? 'el' : 'la'} ${noun.es} es ${use.has(1) ? 'muy ' : ''}${adj.es[g]}${use.has(2) ? ` y ${adj2.es[g]}` : ''}`;
  const s = `${use.has(0) ? 'creo que ' : ''}${body}${use.has(3) ? ' por la mañana' : ''}.`;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The items of a list answer: bullet or numbered lines, else comma/`and`/`y` separated. */
export function listItems(text: string): string[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const bullet = /^(?:[-*•]|\d+[.)])\s*/;
  if (lines.length > 1)
    return lines.map((l) =>
      l
        .replace(bullet, '')
        .replace(/[.,;]$/, '')
        .trim(),
    );
  return text
    .replace(bullet, '')
    .replace(/\.$/, '')
    .split(/\s*,\s*|\s+(?:and|y)\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function checkList(category: Category, n: number, answer: string): boolean {
  const members = new Set([...CATEGORIES[category].en, ...CATEGORIES[category].es].map(fold));
  const items = listItems(answer).map((s) => fold(s).replace(/^(the|la|el) /, ''));
  return items.length === n && new Set(items).size === n && items.every((s) => members.has(s));
}

const isUpper = (text: string): boolean => /\p{L}/u.test(text) && !/\p{Ll}/u.test(text);

export const writingTask = defineSftTask<WritingData>({
  name: 'writing',
  description: 'short writing with a checkable constraint: exactly N words, a list of N, capital letters',
  testPercent: 15,
  sample(rng) {
    const u = rng.uniform(1, 'float64')[0];
    if (u < 0.4) {
      const noun = choose(rng, NOUNS);
      const n = randInt(rng, 5, 12);
      return { key: `write:words:${noun.en}:${n}`, data: { kind: 'words', noun, n } };
    }
    if (u < 0.7) {
      const category = choose(rng, Object.keys(CATEGORIES) as Category[]);
      const n = randInt(rng, 2, 5);
      return { key: `write:list:${category}:${n}`, testPercent: 25, data: { kind: 'list', category, n } };
    }
    let fact = sampleFact(rng);
    while (fact.data.relation === 'symbol') fact = sampleFact(rng); // symbols have a case of their own
    return {
      key: `write:caps:${fact.key}`,
      splitKey: fact.splitKey,
      testPercent: KB_TEST_PERCENT,
      data: { kind: 'caps', fact: fact.data },
    };
  },
  render(d, lang, rng) {
    const en = lang === 'en';
    if (d.kind === 'words') {
      const topic = en ? `the ${d.noun.en}` : `${d.noun.gender === 'm' ? 'el' : 'la'} ${d.noun.es}`;
      return {
        prompt: en
          ? `Write a sentence about ${topic} in exactly ${d.n} words.`
          : `Escribe una frase sobre ${topic} con exactamente ${d.n} palabras.`,
        reference: sentenceAbout(d.noun, d.n, lang, rng),
      };
    }
    if (d.kind === 'list') {
      const c = CATEGORIES[d.category];
      const members = shuffle(rng, c[lang]).slice(0, d.n);
      return {
        prompt: en
          ? `List ${NUMBER_WORDS.en[d.n]} ${c.name.en}, one per line.`
          : `Escribe ${NUMBER_WORDS.es[d.n]} ${c.name.es}, uno por línea.`,
        reference: members.map((m) => `- ${m}`).join('\n'),
      };
    }
    const q = factQuestion(d.fact, lang, rng);
    return {
      prompt: en ? `Answer in capital letters: ${q}` : `Responde en mayúsculas: ${q}`,
      reference: factAnswer(d.fact, lang).toUpperCase(),
    };
  },
  check(d, _lang, answer) {
    if (d.kind === 'words') {
      const named = fold(answer)
        .split(' ')
        .some((w) => w === fold(d.noun.en) || w === fold(d.noun.es));
      return countWords(answer) === d.n && named;
    }
    if (d.kind === 'list') return checkList(d.category, d.n, answer);
    return isUpper(answer) && factCheck(d.fact, answer);
  },
  corrupt(d, lang, rng) {
    if (d.kind === 'words') return sentenceAbout(d.noun, d.n === 12 ? 11 : d.n + 1, lang, rng);
    if (d.kind === 'list') {
      const members = CATEGORIES[d.category][lang].slice(0, d.n + 1);
      return members
        .slice(0, rng.uniform(1, 'float64')[0] < 0.5 ? d.n - 1 : d.n + 1)
        .map((m) => `- ${m}`)
        .join('\n');
    }
    return factAnswer(d.fact, lang); // right, but not in capital letters
  },
});
