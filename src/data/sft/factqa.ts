/**
 * `factqa`: questions about the built-in knowledge base (knowledge.ts), in English or Spanish, answered in one
 * sentence: the capital or continent of a country and which country a capital belongs to; the symbol and atomic
 * number of an element and which element a symbol stands for; a planet's position from the Sun and which planet is in
 * a position.
 *
 * Check: the answer names the expected value, in either language, ignoring case, accents and punctuation (`Berlín` and
 * `berlin` both count); a chemical symbol must appear as written (`Au`), a number as a number. The split is by entity
 * (`kb:<entity>`), so every question about a held-out entity is held out, in both languages. The facts themselves are
 * in the corpus as prose (knowledge.ts `factText`); the questions never are.
 *
 * Not here: the capital-letters variant of these questions (writing.ts).
 */
import type { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import {
  capitalize,
  type Country,
  deElementEs,
  deEs,
  type Element,
  ENTITIES,
  type Entity,
  kbSplitKey,
  ORDINALS,
  type Planet,
} from './knowledge.js';
import { choose, defineSftTask, mentions } from './task.js';

export type Relation =
  | 'capital'
  | 'continent'
  | 'country-of'
  | 'symbol'
  | 'number'
  | 'element-of'
  | 'planet-at'
  | 'order';

const RELATIONS: Record<Entity['kind'], readonly Relation[]> = {
  country: ['capital', 'continent', 'country-of'],
  element: ['symbol', 'number', 'element-of'],
  planet: ['planet-at', 'order'],
};

export interface FactQaData {
  entity: Entity;
  relation: Relation;
}

/** The value as written in `lang` (names have a Spanish form; symbols and numbers do not). */
function valueIn(d: FactQaData, lang: Lang): string {
  const e = d.entity;
  switch (d.relation) {
    case 'capital':
      return (e as Country).capital[lang];
    case 'continent':
      return (e as Country).continent[lang];
    case 'symbol':
      return (e as Element).symbol;
    case 'number':
      return String((e as Element).number);
    case 'order':
      return String((e as Planet).order);
    default:
      return e.name[lang]; // country-of, element-of, planet-at
  }
}

/** The two phrasings of the question about `d` in `lang`. */
function questions(d: FactQaData, lang: Lang): [string, string] {
  const en = lang === 'en';
  if (d.entity.kind === 'country') {
    const c = d.entity;
    const [name, capital] = [c.name[lang], c.capital[lang]];
    if (d.relation === 'capital')
      return en
        ? [`What is the capital of ${name}?`, `Which city is the capital of ${name}?`]
        : [`¿Cuál es la capital ${deEs(name)}?`, `¿Qué ciudad es la capital ${deEs(name)}?`];
    if (d.relation === 'continent')
      return en
        ? [`On which continent is ${name}?`, `Which continent is ${name} in?`]
        : [`¿En qué continente está ${name}?`, `¿En qué continente se encuentra ${name}?`];
    return en
      ? [`${capital} is the capital of which country?`, `Which country has ${capital} as its capital?`]
      : [`¿De qué país es capital ${capital}?`, `¿Qué país tiene como capital ${capital}?`];
  }
  if (d.entity.kind === 'element') {
    const e = d.entity;
    if (d.relation === 'symbol')
      return en
        ? [`What is the chemical symbol of ${e.name.en}?`, `Which symbol stands for ${e.name.en}?`]
        : [`¿Cuál es el símbolo químico ${deElementEs(e)}?`, `¿Qué símbolo tiene ${e.articleEs} ${e.name.es}?`];
    if (d.relation === 'number')
      return en
        ? [`What is the atomic number of ${e.name.en}?`, `How many protons does an atom of ${e.name.en} have?`]
        : [`¿Cuál es el número atómico ${deElementEs(e)}?`, `¿Cuántos protones tiene un átomo ${deElementEs(e)}?`];
    return en
      ? [`Which chemical element has the symbol ${e.symbol}?`, `Which element does the symbol ${e.symbol} stand for?`]
      : [`¿Qué elemento químico tiene el símbolo ${e.symbol}?`, `¿A qué elemento corresponde el símbolo ${e.symbol}?`];
  }
  const p = d.entity;
  const i = p.order - 1;
  if (d.relation === 'planet-at')
    return en
      ? [
          `Which planet is the ${ORDINALS.en[i]} from the Sun?`,
          `Counting from the Sun, which is the ${ORDINALS.en[i]} planet?`,
        ]
      : [
          `¿Qué planeta es el ${ORDINALS.es[i]} desde el Sol?`,
          `Contando desde el Sol, ¿cuál es el ${ORDINALS.esBefore[i]} planeta?`,
        ];
  return en
    ? [
        `What is the position of ${p.name.en} among the planets, counting from the Sun?`,
        `Counting from the Sun, where is ${p.name.en} among the planets?`,
      ]
    : [
        `¿Qué posición ocupa ${p.name.es} entre los planetas, contando desde el Sol?`,
        `¿En qué lugar está ${p.name.es}, contando los planetas desde el Sol?`,
      ];
}

/** A question about `d` in `lang` (phrasing drawn from `rng`). */
export function factQuestion(d: FactQaData, lang: Lang, rng: Generator): string {
  return choose(rng, questions(d, lang));
}

/** The one-sentence answer about `d` in `lang`, naming `value` (default: the truth). */
export function factAnswer(d: FactQaData, lang: Lang, value = valueIn(d, lang)): string {
  const en = lang === 'en';
  const e = d.entity;
  switch (d.relation) {
    case 'capital':
      return en ? `The capital of ${e.name.en} is ${value}.` : `La capital ${deEs(e.name.es)} es ${value}.`;
    case 'continent':
      return en ? `${capitalize(e.name.en)} is in ${value}.` : `${capitalize(e.name.es)} está en ${value}.`;
    case 'country-of': {
      const cap = (e as Country).capital[lang];
      return en ? `${cap} is the capital of ${value}.` : `${cap} es la capital ${deEs(value)}.`;
    }
    case 'symbol':
      return en
        ? `The chemical symbol of ${e.name.en} is ${value}.`
        : `El símbolo químico ${deElementEs(e as Element)} es ${value}.`;
    case 'number':
      return en
        ? `The atomic number of ${e.name.en} is ${value}.`
        : `El número atómico ${deElementEs(e as Element)} es ${value}.`;
    case 'element-of': {
      const sym = (e as Element).symbol;
      return en ? `${sym} is the symbol of ${value}.` : `${sym} es el símbolo de ${value}.`;
    }
    case 'planet-at': {
      const i = (e as Planet).order - 1;
      return en
        ? `${value} is the ${ORDINALS.en[i]} planet from the Sun.`
        : `${capitalize(value)} es el ${ORDINALS.esBefore[i]} planeta desde el Sol.`;
    }
    case 'order':
      return en
        ? `${e.name.en} is planet number ${value} from the Sun.`
        : `${capitalize(e.name.es)} es el planeta número ${value} desde el Sol.`;
  }
}

/** Whether `answer` names the true value of `d` (see the file header). */
export function factCheck(d: FactQaData, answer: string): boolean {
  if (d.relation === 'symbol')
    return new RegExp(`(^|[^\\p{L}])${(d.entity as Element).symbol}([^\\p{L}]|$)`, 'u').test(answer);
  if (d.relation === 'number' || d.relation === 'order') {
    const want = d.relation === 'number' ? (d.entity as Element).number : (d.entity as Planet).order;
    if ((answer.match(/\d+/g) ?? []).map(Number).includes(want)) return true;
    return (
      d.relation === 'order' &&
      (mentions(answer, ORDINALS.en[want - 1]) ||
        mentions(answer, ORDINALS.es[want - 1]) ||
        mentions(answer, ORDINALS.esBefore[want - 1]))
    );
  }
  const v = { en: valueIn(d, 'en'), es: valueIn(d, 'es') };
  const strip = (s: string) => s.replace(/^(the|el|la|los) /i, '');
  if (d.relation === 'continent' && /America/.test(v.en)) {
    // "South America" must not pass for "North America": the whole name, or the Spanish one-word form
    const one = v.en.startsWith('South') ? 'Sudamérica' : 'Norteamérica';
    return mentions(answer, v.en) || mentions(answer, v.es) || mentions(answer, one);
  }
  let text = answer;
  if (d.relation === 'country-of') {
    // the restated capital does not name the country (`Mexico City is the capital of ...`)
    const c = d.entity as Country;
    for (const cap of [c.capital.en, c.capital.es]) text = text.split(cap).join(' ');
  }
  return mentions(text, strip(v.en)) || mentions(text, strip(v.es));
}

/** A wrong answer: the same sentence naming the value of another entity of the same kind. */
export function factCorrupt(d: FactQaData, lang: Lang, rng: Generator): string {
  for (;;) {
    const other = choose(
      rng,
      ENTITIES.filter((e) => e.kind === d.entity.kind && e.key !== d.entity.key),
    );
    const wrong: FactQaData = { entity: other, relation: d.relation };
    if (factCheck(d, valueIn(wrong, lang))) continue; // same value (two countries on one continent)
    return factAnswer(d, lang, valueIn(wrong, lang));
  }
}

/** Draws an entity and one of its relations. */
export function sampleFact(rng: Generator): { key: string; splitKey: string; data: FactQaData } {
  const entity = choose(rng, ENTITIES);
  const relation = choose(rng, RELATIONS[entity.kind]);
  return { key: `qa:${relation}:${entity.key}`, splitKey: kbSplitKey(entity), data: { entity, relation } };
}

/** The test share of everything split by knowledge-base entity. */
export const KB_TEST_PERCENT = 20;

export const factQaTask = defineSftTask<FactQaData>({
  name: 'factqa',
  description: 'questions about countries, chemical elements and planets, answered in one sentence',
  testPercent: KB_TEST_PERCENT,
  sample: sampleFact,
  render: (d, lang, rng) => ({ prompt: factQuestion(d, lang, rng), reference: factAnswer(d, lang) }),
  check: (d, _lang, answer) => factCheck(d, answer),
  corrupt: factCorrupt,
});
