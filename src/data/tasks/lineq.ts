/**
 * Linear equations in x with an integer solution.
 * - difficulty 1: `a x + b = c`, a in 2..9, x in -9..9, b in -20..20;
 * - difficulty 2: the same with a in -20..20 (not 0, ±1), x in -50..50, b in -100..100;
 * - difficulty 3: `a x + b = c x + e`, a != c in -12..12 (not 0, ±1), x in -20..20.
 * Worked solution: collect x terms, move constants, divide, then check by substitution. Answers `5` and `x = 5` both
 * count. In Spanish: `Resuelve la ecuación para x: 3x + 4 = 10.`, `Restamos 4 en ambos lados: ...`.
 */
import type { Lang } from '../language.js';
import { numbersEqual } from './answer.js';
import { defineTask, randInt, r1Solution } from './task.js';

export interface LinEqData {
  /** a x + b = c x + e (c = 0 for one-sided equations). */
  a: number;
  b: number;
  c: number;
  e: number;
  x: number;
}

/** `3x + 4`, `-x - 7`, `2x`, `5`. */
function side(coef: number, k: number): string {
  const xs = coef === 0 ? '' : coef === 1 ? 'x' : coef === -1 ? '-x' : `${coef}x`;
  if (!xs) return String(k);
  if (k === 0) return xs;
  return `${xs} ${k < 0 ? '-' : '+'} ${Math.abs(k)}`;
}

/** A number as an operand: negative ones in parentheses. */
const op = (v: number): string => (v < 0 ? `(${v})` : String(v));

function nonTrivial(rng: Parameters<typeof randInt>[0], lo: number, hi: number): number {
  for (;;) {
    const v = randInt(rng, lo, hi);
    if (v !== 0 && v !== 1 && v !== -1) return v;
  }
}

const TEXT = {
  en: {
    prompt: (eq: string) => `Solve for x: ${eq}.`,
    subtractX: (term: string) => `Subtract ${term} from both sides.`,
    addX: (term: string) => `Add ${term} to both sides.`,
    collect: (a: number, c: string, k: number, rest: string) => `x terms: ${a} - ${c} = ${k}, so ${rest}`,
    subtract: (b: number, rest: string) => `Subtract ${b} from both sides: ${rest}`,
    add: (b: number, rest: string) => `Add ${b} to both sides: ${rest}`,
    divide: (k: string, rest: string) => `Divide both sides by ${k}: ${rest}`,
    check: (calc: string) => `Check: ${calc}`,
    and: ' and ',
  },
  es: {
    prompt: (eq: string) => `Resuelve la ecuación para x: ${eq}.`,
    subtractX: (term: string) => `Restamos ${term} en ambos lados.`,
    addX: (term: string) => `Sumamos ${term} en ambos lados.`,
    collect: (a: number, c: string, k: number, rest: string) => `Términos con x: ${a} - ${c} = ${k}, así que ${rest}`,
    subtract: (b: number, rest: string) => `Restamos ${b} en ambos lados: ${rest}`,
    add: (b: number, rest: string) => `Sumamos ${b} en ambos lados: ${rest}`,
    divide: (k: string, rest: string) => `Dividimos ambos lados entre ${k}: ${rest}`,
    check: (calc: string) => `Comprobación: ${calc}`,
    and: ' y ',
  },
};

export const lineqTask = defineTask<LinEqData>({
  name: 'lineq',
  description: 'solve a linear equation for an integer x',
  difficulty: { min: 1, max: 3, default: 2, corpus: [1, 3] },
  sample(rng, d) {
    let a: number;
    let b: number;
    let c = 0;
    let x: number;
    if (d === 1) {
      a = randInt(rng, 2, 9);
      x = randInt(rng, -9, 9);
      b = randInt(rng, -20, 20);
    } else if (d === 2) {
      a = nonTrivial(rng, -20, 20);
      x = randInt(rng, -50, 50);
      b = randInt(rng, -100, 100);
    } else {
      a = nonTrivial(rng, -12, 12);
      do c = nonTrivial(rng, -12, 12);
      while (c === a);
      x = randInt(rng, -20, 20);
      b = randInt(rng, -50, 50);
    }
    const e = a * x + b - c * x;
    return { key: `lineq:${a},${b},${c},${e}`, data: { a, b, c, e, x } };
  },
  prompt: ({ a, b, c, e }, lang = 'en') => TEXT[lang].prompt(`${side(a, b)} = ${side(c, e)}`),
  answer: ({ x }) => String(x),
  check: ({ x }, text) => numbersEqual(text, x),
  solve({ a, b, c, e, x }, _rng, lang: Lang = 'en') {
    const T = TEXT[lang];
    const steps = [`${side(a, b)} = ${side(c, e)}`];
    const k = a - c; // coefficient after collecting x on the left
    if (c !== 0) {
      const move = c > 0 ? T.subtractX(side(c, 0)) : T.addX(side(-c, 0));
      steps.push(`${move} ${T.collect(a, op(c), k, `${side(k, b)} = ${e}`)}`);
    }
    let rhs = e;
    if (b !== 0) {
      rhs = e - b;
      steps.push(
        b > 0
          ? T.subtract(b, `${side(k, 0)} = ${e} - ${b} = ${rhs}`)
          : T.add(-b, `${side(k, 0)} = ${e} + ${-b} = ${rhs}`),
      );
    }
    if (k !== 1) steps.push(T.divide(String(k), `x = ${rhs} / ${op(k)} = ${x}`));
    const lhsCheck = `${a} * ${op(x)} + ${op(b)} = ${a * x + b}`;
    steps.push(T.check(c === 0 ? lhsCheck : `${lhsCheck}${T.and}${c} * ${op(x)} + ${op(e)} = ${c * x + e}`));
    return r1Solution(steps, String(x));
  },
});
