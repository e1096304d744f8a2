/**
 * The corpus documents that are not built from task problems (see corpus.ts for the mix):
 * - `text`: how the methods work, or true facts about random numbers, in English or Spanish;
 * - `copy`: copying exercises (language-free);
 * - `facts`: the knowledge the non-reasoning tasks need, as prose in English or Spanish: facts of the knowledge base
 *   (every entity, held-out ones included: the corpus teaches facts, the test asks questions it never shows), a
 *   bilingual glossary list, or who the model is. Never a question with its answer.
 * The English `text` and `copy` documents draw exactly what they drew before languages existed.
 *
 * Not here: documents made from task problems (corpus.ts).
 */
import type { Generator as Rng } from '../tensor/random.js';
import type { Lang } from './language.js';
import { DEFAULT_IDENTITY, type Identity } from './sft/identity.js';
import { ADJECTIVES, glossaryLine, NOUNS } from './sft/glossary.js';
import { ENTITIES, factText } from './sft/knowledge.js';
import { randInt } from './tasks/task.js';

const uniform = (rng: Rng): number => rng.uniform(1, 'float64')[0];

const METHOD_TEXTS: Record<Lang, readonly string[]> = {
  en: [
    'To add two numbers, write them one above the other and add the digits column by column, starting from the right. ' +
      'When a column adds up to 10 or more, write the last digit and carry 1 to the next column.',
    'To multiply by a number with several digits, multiply by each digit on its own, shift each partial product by its ' +
      'place value, and add the partial products.',
    'To solve a linear equation, collect the terms with x on one side and the numbers on the other side, then divide by ' +
      'the coefficient of x. Put the answer back into the equation to check it.',
    'In the Countdown game you get a few numbers and a target. Combine the numbers with addition, subtraction, ' +
      'multiplication and division, using each number once, until you reach the target. If an attempt misses, try another.',
    'To sort a list from smallest to largest, repeatedly take the smallest number that is left and write it down.',
    'To find the remainder of a power, multiply step by step and keep only the remainder after each step; the numbers ' +
      'stay small and the final remainder is the same.',
    'A good answer first thinks step by step inside <think> and </think>, checks the steps, and then gives only the ' +
      'final result inside <answer> and </answer>.',
  ],
  es: [
    'Para sumar dos números, escríbelos uno encima del otro y suma las cifras columna por columna, empezando por la ' +
      'derecha. Cuando una columna suma 10 o más, escribe la última cifra y lleva 1 a la columna siguiente.',
    'Para multiplicar por un número de varias cifras, multiplica por cada cifra por separado, desplaza cada producto ' +
      'parcial según su valor posicional y suma los productos parciales.',
    'Para resolver una ecuación lineal, reúne los términos con x en un lado y los números en el otro, y después divide ' +
      'entre el coeficiente de x. Sustituye la solución en la ecuación para comprobarla.',
    'En el juego de Countdown tienes unos números y un objetivo. Combina los números con sumas, restas, ' +
      'multiplicaciones y divisiones, usando cada número una vez, hasta llegar al objetivo. Si un intento falla, prueba otro.',
    'Para ordenar una lista de menor a mayor, toma una y otra vez el número más pequeño que queda y escríbelo.',
    'Para hallar el resto de una potencia, multiplica paso a paso y quédate solo con el resto después de cada paso; los ' +
      'números siguen siendo pequeños y el resto final es el mismo.',
    'Una buena respuesta primero piensa paso a paso dentro de <think> y </think>, comprueba los pasos y después da solo ' +
      'el resultado final dentro de <answer> y </answer>.',
  ],
};

const FACT_TEXT = {
  en: {
    parity: (n: number) => `${n} is ${n % 2 === 0 ? 'even' : 'odd'}.`,
    digits: (n: number, sum: string) => `The digits of ${n} add up to ${sum}.`,
    oneDigit: (n: number) => `${n} has one digit.`,
    product: (calc: string, inverse: string) => `${calc}, and ${inverse}.`,
    sum: (calc: string, inverse: string) => `${calc}, so ${inverse}.`,
  },
  es: {
    parity: (n: number) => `${n} es ${n % 2 === 0 ? 'par' : 'impar'}.`,
    digits: (n: number, sum: string) => `Las cifras de ${n} suman ${sum}.`,
    oneDigit: (n: number) => `${n} tiene una sola cifra.`,
    product: (calc: string, inverse: string) => `${calc}, y ${inverse}.`,
    sum: (calc: string, inverse: string) => `${calc}, así que ${inverse}.`,
  },
};

/** A short generic document: a method description or true facts about random numbers. */
export function genericText(rng: Rng, lang: Lang = 'en'): string {
  const methods = METHOD_TEXTS[lang];
  if (uniform(rng) < 0.4) return methods[randInt(rng, 0, methods.length - 1)];
  const T = FACT_TEXT[lang];
  const facts: string[] = [];
  const k = randInt(rng, 2, 4);
  for (let i = 0; i < k; i++) {
    const n = randInt(rng, 2, 999);
    const pick = randInt(rng, 0, 3);
    if (pick === 0) facts.push(T.parity(n));
    else if (pick === 1) {
      const digits = String(n).split('');
      facts.push(
        digits.length > 1
          ? T.digits(n, `${digits.join(' + ')} = ${digits.reduce((s, c) => s + Number(c), 0)}`)
          : T.oneDigit(n),
      );
    } else if (pick === 2) {
      const m = randInt(rng, 2, 12);
      facts.push(T.product(`${n} * ${m} = ${n * m}`, `${n * m} / ${m} = ${n}`));
    } else {
      const m = randInt(rng, 2, 999);
      facts.push(T.sum(`${n} + ${m} = ${n + m}`, `${n + m} - ${m} = ${n}`));
    }
  }
  return facts.join(' ');
}

/** One random equation-like line: signed numbers of 1-3 digits, `Nx` terms and operators. */
function copyLine(rng: Rng): string {
  const n = randInt(rng, 5, 12);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const pick = randInt(rng, 0, 5);
    const v = randInt(rng, -999, 999);
    if (pick <= 2) parts.push(String(v));
    else if (pick === 3) parts.push(`${randInt(rng, 2, 99)}x`);
    else parts.push(['+', '-', '*', '/', '='][randInt(rng, 0, 4)]);
  }
  return parts.join(' ');
}

/** A copying exercise: 3-6 random lines, each followed by its exact copy. */
export function copyText(rng: Rng): string {
  const k = randInt(rng, 3, 6);
  const out: string[] = [];
  for (let i = 0; i < k; i++) {
    const line = copyLine(rng);
    out.push(`Copy: ${line}`, `Again: ${line}`);
  }
  return out.join('\n');
}

/** What the model says about itself, as prose. */
function identityText(id: Identity, lang: Lang): string {
  return lang === 'en'
    ? `${id.name} is a small language model. It was made by ${id.maker}. When people ask who it is, ${id.name} says that it is ${id.name}, made by ${id.maker}.`
    : `${id.name} es un pequeño modelo de lenguaje. Lo creó ${id.maker}. Cuando le preguntan quién es, ${id.name} dice que es ${id.name}, creado por ${id.maker}.`;
}

/**
 * A `facts` document in `lang`: 3-6 knowledge-base facts (70%), a glossary list of 8-12 entries (25%: `cat - gato`
 * in English documents, `gato - cat` in Spanish ones), or the model's identity (5%).
 */
export function factsText(rng: Rng, lang: Lang, identity: Identity = DEFAULT_IDENTITY): string {
  const u = uniform(rng);
  if (u < 0.7) {
    const k = randInt(rng, 3, 6);
    return Array.from({ length: k }, () => factText(ENTITIES[randInt(rng, 0, ENTITIES.length - 1)], lang)).join(' ');
  }
  if (u < 0.95) {
    const entries = [...NOUNS, ...ADJECTIVES];
    const k = randInt(rng, 8, 12);
    const lines = Array.from({ length: k }, () => glossaryLine(entries[randInt(rng, 0, entries.length - 1)], lang));
    return `${lang === 'en' ? 'English - Spanish' : 'Español - inglés'}:\n${lines.join('\n')}`;
  }
  return identityText(identity, lang);
}
