/**
 * The built-in knowledge base: real facts small enough to ship (about 4 KB): countries with their capitals and
 * continents, chemical elements with their symbols and atomic numbers, the planets in order from the Sun, each named
 * in English and Spanish. The corpus states them as prose (`facts` documents, `factText`); the factual-QA and
 * capital-letters tasks ask about them.
 *
 * Every fact about one entity shares the split key `kb:<entity>` (so "What is the capital of Peru?" and "Lima is the
 * capital of which country?" are both held out, or both not).
 *
 * Not here: the questions and checks (factqa.ts), the corpus documents (../corpus.ts).
 */
import type { Lang } from '../language.js';

/** A name in both languages. */
export type Names = Readonly<Record<Lang, string>>;

export interface Country {
  kind: 'country';
  key: string;
  name: Names;
  capital: Names;
  continent: Names;
}

export interface Element {
  kind: 'element';
  key: string;
  name: Names;
  /** The Spanish name's article (`el` or `la`). */
  articleEs: 'el' | 'la';
  symbol: string;
  number: number;
}

export interface Planet {
  kind: 'planet';
  key: string;
  name: Names;
  /** Position from the Sun, 1-8. */
  order: number;
}

export type Entity = Country | Element | Planet;

const EUROPE = { en: 'Europe', es: 'Europa' };
const AFRICA = { en: 'Africa', es: 'África' };
const ASIA = { en: 'Asia', es: 'Asia' };
const NORTH_AMERICA = { en: 'North America', es: 'América del Norte' };
const SOUTH_AMERICA = { en: 'South America', es: 'América del Sur' };
const OCEANIA = { en: 'Oceania', es: 'Oceanía' };

/** [English name, Spanish name, English capital, Spanish capital, continent] */
const COUNTRY_ROWS: readonly [string, string, string, string, Names][] = [
  ['France', 'Francia', 'Paris', 'París', EUROPE],
  ['Germany', 'Alemania', 'Berlin', 'Berlín', EUROPE],
  ['Spain', 'España', 'Madrid', 'Madrid', EUROPE],
  ['Italy', 'Italia', 'Rome', 'Roma', EUROPE],
  ['Portugal', 'Portugal', 'Lisbon', 'Lisboa', EUROPE],
  ['the United Kingdom', 'el Reino Unido', 'London', 'Londres', EUROPE],
  ['Ireland', 'Irlanda', 'Dublin', 'Dublín', EUROPE],
  ['the Netherlands', 'los Países Bajos', 'Amsterdam', 'Ámsterdam', EUROPE],
  ['Belgium', 'Bélgica', 'Brussels', 'Bruselas', EUROPE],
  ['Switzerland', 'Suiza', 'Bern', 'Berna', EUROPE],
  ['Austria', 'Austria', 'Vienna', 'Viena', EUROPE],
  ['Poland', 'Polonia', 'Warsaw', 'Varsovia', EUROPE],
  ['Greece', 'Grecia', 'Athens', 'Atenas', EUROPE],
  ['Sweden', 'Suecia', 'Stockholm', 'Estocolmo', EUROPE],
  ['Norway', 'Noruega', 'Oslo', 'Oslo', EUROPE],
  ['Denmark', 'Dinamarca', 'Copenhagen', 'Copenhague', EUROPE],
  ['Finland', 'Finlandia', 'Helsinki', 'Helsinki', EUROPE],
  ['Hungary', 'Hungría', 'Budapest', 'Budapest', EUROPE],
  ['Egypt', 'Egipto', 'Cairo', 'El Cairo', AFRICA],
  ['Morocco', 'Marruecos', 'Rabat', 'Rabat', AFRICA],
  ['Kenya', 'Kenia', 'Nairobi', 'Nairobi', AFRICA],
  ['Nigeria', 'Nigeria', 'Abuja', 'Abuja', AFRICA],
  ['Ghana', 'Ghana', 'Accra', 'Acra', AFRICA],
  ['Ethiopia', 'Etiopía', 'Addis Ababa', 'Adís Abeba', AFRICA],
  ['Senegal', 'Senegal', 'Dakar', 'Dakar', AFRICA],
  ['Japan', 'Japón', 'Tokyo', 'Tokio', ASIA],
  ['China', 'China', 'Beijing', 'Pekín', ASIA],
  ['India', 'India', 'New Delhi', 'Nueva Delhi', ASIA],
  ['South Korea', 'Corea del Sur', 'Seoul', 'Seúl', ASIA],
  ['Thailand', 'Tailandia', 'Bangkok', 'Bangkok', ASIA],
  ['Vietnam', 'Vietnam', 'Hanoi', 'Hanói', ASIA],
  ['Indonesia', 'Indonesia', 'Jakarta', 'Yakarta', ASIA],
  ['the Philippines', 'Filipinas', 'Manila', 'Manila', ASIA],
  ['Iran', 'Irán', 'Tehran', 'Teherán', ASIA],
  ['Canada', 'Canadá', 'Ottawa', 'Ottawa', NORTH_AMERICA],
  ['the United States', 'Estados Unidos', 'Washington', 'Washington', NORTH_AMERICA],
  ['Mexico', 'México', 'Mexico City', 'Ciudad de México', NORTH_AMERICA],
  ['Cuba', 'Cuba', 'Havana', 'La Habana', NORTH_AMERICA],
  ['Argentina', 'Argentina', 'Buenos Aires', 'Buenos Aires', SOUTH_AMERICA],
  ['Brazil', 'Brasil', 'Brasília', 'Brasilia', SOUTH_AMERICA],
  ['Chile', 'Chile', 'Santiago', 'Santiago', SOUTH_AMERICA],
  ['Peru', 'Perú', 'Lima', 'Lima', SOUTH_AMERICA],
  ['Colombia', 'Colombia', 'Bogotá', 'Bogotá', SOUTH_AMERICA],
  ['Venezuela', 'Venezuela', 'Caracas', 'Caracas', SOUTH_AMERICA],
  ['Ecuador', 'Ecuador', 'Quito', 'Quito', SOUTH_AMERICA],
  ['Uruguay', 'Uruguay', 'Montevideo', 'Montevideo', SOUTH_AMERICA],
  ['Paraguay', 'Paraguay', 'Asunción', 'Asunción', SOUTH_AMERICA],
  ['Australia', 'Australia', 'Canberra', 'Canberra', OCEANIA],
  ['New Zealand', 'Nueva Zelanda', 'Wellington', 'Wellington', OCEANIA],
];

/** [English name, Spanish name, Spanish article, symbol, atomic number] */
const ELEMENT_ROWS: readonly [string, string, 'el' | 'la', string, number][] = [
  ['hydrogen', 'hidrógeno', 'el', 'H', 1],
  ['helium', 'helio', 'el', 'He', 2],
  ['lithium', 'litio', 'el', 'Li', 3],
  ['carbon', 'carbono', 'el', 'C', 6],
  ['nitrogen', 'nitrógeno', 'el', 'N', 7],
  ['oxygen', 'oxígeno', 'el', 'O', 8],
  ['fluorine', 'flúor', 'el', 'F', 9],
  ['neon', 'neón', 'el', 'Ne', 10],
  ['sodium', 'sodio', 'el', 'Na', 11],
  ['magnesium', 'magnesio', 'el', 'Mg', 12],
  ['aluminium', 'aluminio', 'el', 'Al', 13],
  ['silicon', 'silicio', 'el', 'Si', 14],
  ['phosphorus', 'fósforo', 'el', 'P', 15],
  ['sulfur', 'azufre', 'el', 'S', 16],
  ['chlorine', 'cloro', 'el', 'Cl', 17],
  ['argon', 'argón', 'el', 'Ar', 18],
  ['potassium', 'potasio', 'el', 'K', 19],
  ['calcium', 'calcio', 'el', 'Ca', 20],
  ['iron', 'hierro', 'el', 'Fe', 26],
  ['cobalt', 'cobalto', 'el', 'Co', 27],
  ['nickel', 'níquel', 'el', 'Ni', 28],
  ['copper', 'cobre', 'el', 'Cu', 29],
  ['zinc', 'zinc', 'el', 'Zn', 30],
  ['silver', 'plata', 'la', 'Ag', 47],
  ['tin', 'estaño', 'el', 'Sn', 50],
  ['iodine', 'yodo', 'el', 'I', 53],
  ['gold', 'oro', 'el', 'Au', 79],
  ['mercury', 'mercurio', 'el', 'Hg', 80],
  ['lead', 'plomo', 'el', 'Pb', 82],
  ['uranium', 'uranio', 'el', 'U', 92],
];

const PLANET_ROWS: readonly [string, string][] = [
  ['Mercury', 'Mercurio'],
  ['Venus', 'Venus'],
  ['Earth', 'la Tierra'],
  ['Mars', 'Marte'],
  ['Jupiter', 'Júpiter'],
  ['Saturn', 'Saturno'],
  ['Uranus', 'Urano'],
  ['Neptune', 'Neptuno'],
];

export const COUNTRIES: readonly Country[] = COUNTRY_ROWS.map(([en, es, capEn, capEs, continent]) => ({
  kind: 'country',
  key: `country:${en.replace(/^the /, '')}`,
  name: { en, es },
  capital: { en: capEn, es: capEs },
  continent,
}));

export const ELEMENTS: readonly Element[] = ELEMENT_ROWS.map(([en, es, articleEs, symbol, number]) => ({
  kind: 'element',
  key: `element:${symbol}`,
  name: { en, es },
  articleEs,
  symbol,
  number,
}));

export const PLANETS: readonly Planet[] = PLANET_ROWS.map(([en, es], i) => ({
  kind: 'planet',
  key: `planet:${en}`,
  name: { en, es },
  order: i + 1,
}));

/** Every entity of the knowledge base. */
export const ENTITIES: readonly Entity[] = [...COUNTRIES, ...ELEMENTS, ...PLANETS];

/** The split key of every fact about `e`. */
export const kbSplitKey = (e: Entity): string => `kb:${e.key}`;

/** `the United Kingdom` -> `The United Kingdom` (a name at the start of a sentence). */
export const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Ordinals 1-8: English, Spanish after a noun (or alone), Spanish before a masculine noun (`tercer planeta`). */
export const ORDINALS = {
  en: ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'],
  es: ['primero', 'segundo', 'tercero', 'cuarto', 'quinto', 'sexto', 'séptimo', 'octavo'],
  esBefore: ['primer', 'segundo', 'tercer', 'cuarto', 'quinto', 'sexto', 'séptimo', 'octavo'],
};

/** Spanish `de` before a name, contracted before `el` (`de el Reino Unido` -> `del Reino Unido`). */
export const deEs = (name: string): string => (name.startsWith('el ') ? `del ${name.slice(3)}` : `de ${name}`);

/** `del oro`, `de la plata`. */
export const deElementEs = (e: Element): string => (e.articleEs === 'el' ? `del ${e.name.es}` : `de la ${e.name.es}`);

/** The prose the corpus carries about an entity, in `lang` (never in question-and-answer form). */
export function factText(e: Entity, lang: Lang): string {
  if (e.kind === 'country') {
    return lang === 'en'
      ? `${capitalize(e.name.en)} is a country in ${e.continent.en}. Its capital is ${e.capital.en}.`
      : `${capitalize(e.name.es)} es un país de ${e.continent.es}. Su capital es ${e.capital.es}.`;
  }
  if (e.kind === 'element') {
    return lang === 'en'
      ? `${capitalize(e.name.en)} is a chemical element. Its symbol is ${e.symbol} and its atomic number is ${e.number}.`
      : `${capitalize(e.articleEs)} ${e.name.es} es un elemento químico. Su símbolo es ${e.symbol} y su número atómico es ${e.number}.`;
  }
  return lang === 'en'
    ? `${e.name.en} is the ${ORDINALS.en[e.order - 1]} planet from the Sun.`
    : `${capitalize(e.name.es)} es el ${ORDINALS.esBefore[e.order - 1]} planeta desde el Sol.`;
}
