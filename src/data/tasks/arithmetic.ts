/**
 * Multi-digit addition and multiplication (bigint, any size).
 *
 * - `add`, difficulty d: two d-digit numbers. Worked solution: column addition right to left, one line per column
 *   (`8 + 9 + 0 = 17, write 7 carry 1`), then the total.
 * - `mul`, difficulty d: a d-digit number times a ceil(d/2)-digit number. Worked solution: one partial product per
 *   non-zero digit of the second factor, each split over the digits of the first
 *   (`347 * 6 = 300 * 6 + 40 * 6 + 7 * 6 = 1800 + 240 + 42 = 2082`), then the sum of the partial products. The
 *   English solution is pure arithmetic (as it always was); the Spanish one opens with a line that says what it does.
 * Spanish prompts: `¿Cuánto es 17 + 25?`; Spanish steps: `8 + 9 + 0 = 17, escribo 7 y llevo 1`.
 */
import type { Lang } from '../language.js';
import { numbersEqual } from './answer.js';
import { defineTask, randDigits, r1Solution } from './task.js';

export interface BinaryData {
  a: bigint;
  b: bigint;
}

const ADD_TEXT = {
  en: {
    prompt: (a: bigint, b: bigint) => `What is ${a} + ${b}?`,
    start: (a: bigint, b: bigint) => `${a} + ${b}, column by column from the right:`,
    column: (sum: string, digit: number, carry: number) => `${sum}, write ${digit} carry ${carry}`,
    lastCarry: (carry: number) => `the last carry ${carry} is the leading digit`,
  },
  es: {
    prompt: (a: bigint, b: bigint) => `¿Cuánto es ${a} + ${b}?`,
    start: (a: bigint, b: bigint) => `${a} + ${b}, columna por columna desde la derecha:`,
    column: (sum: string, digit: number, carry: number) => `${sum}, escribo ${digit} y llevo ${carry}`,
    lastCarry: (carry: number) => `la última llevada, ${carry}, es la primera cifra`,
  },
};

function columnAddition(a: bigint, b: bigint, lang: Lang): string[] {
  const T = ADD_TEXT[lang];
  const da = String(a).split('').reverse();
  const db = String(b).split('').reverse();
  const steps = [T.start(a, b)];
  let carry = 0;
  for (let i = 0; i < Math.max(da.length, db.length); i++) {
    const terms = [Number(da[i] ?? 0), Number(db[i] ?? 0)];
    const sum = terms[0] + terms[1] + carry;
    steps.push(T.column(`${terms[0]} + ${terms[1]} + ${carry} = ${sum}`, sum % 10, Math.floor(sum / 10)));
    carry = Math.floor(sum / 10);
  }
  if (carry) steps.push(T.lastCarry(carry));
  steps.push(`${a} + ${b} = ${a + b}`);
  return steps;
}

export const addTask = defineTask<BinaryData>({
  name: 'add',
  description: 'add two d-digit numbers',
  difficulty: { min: 1, max: 30, default: 4, corpus: [1, 6] },
  sample(rng, d) {
    const a = randDigits(rng, d);
    const b = randDigits(rng, d);
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    return { key: `add:${lo}+${hi}`, data: { a, b } };
  },
  prompt: ({ a, b }, lang = 'en') => ADD_TEXT[lang].prompt(a, b),
  answer: ({ a, b }) => String(a + b),
  check: ({ a, b }, text) => numbersEqual(text, a + b),
  solve: ({ a, b }, _rng, lang = 'en') => r1Solution(columnAddition(a, b, lang), String(a + b)),
});

/** `347 * 6 = 300 * 6 + 40 * 6 + 7 * 6 = 1800 + 240 + 42 = 2082` (or just `7 * 6 = 42`). */
function digitProduct(a: bigint, digit: number): string {
  const s = String(a);
  const parts: bigint[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] !== '0') parts.push(BigInt(s[i]) * 10n ** BigInt(s.length - 1 - i));
  const p = a * BigInt(digit);
  if (parts.length <= 1) return `${a} * ${digit} = ${p}`;
  return `${a} * ${digit} = ${parts.map((x) => `${x} * ${digit}`).join(' + ')} = ${parts.map((x) => `${x * BigInt(digit)}`).join(' + ')} = ${p}`;
}

function longMultiplication(a: bigint, b: bigint, lang: Lang): string[] {
  const db = String(b);
  const steps: string[] = lang === 'es' ? [`Multiplicamos ${a} por ${b} cifra a cifra y sumamos los productos:`] : [];
  const partials: bigint[] = [];
  const terms: string[] = [];
  for (let i = db.length - 1; i >= 0; i--) {
    const digit = Number(db[i]);
    if (digit === 0) continue;
    const place = 10n ** BigInt(db.length - 1 - i);
    terms.push(`${a} * ${BigInt(digit) * place}`);
    partials.push(a * BigInt(digit) * place);
  }
  if (terms.length > 1) steps.push(`${a} * ${b} = ${terms.join(' + ')}`);
  for (let i = db.length - 1; i >= 0; i--) {
    const digit = Number(db[i]);
    if (digit === 0) continue;
    const place = 10n ** BigInt(db.length - 1 - i);
    steps.push(digitProduct(a, digit));
    if (place > 1n)
      steps.push(`${a} * ${BigInt(digit) * place} = ${a * BigInt(digit)} * ${place} = ${a * BigInt(digit) * place}`);
  }
  if (partials.length > 1) steps.push(`${partials.join(' + ')} = ${a * b}`);
  const last = `${a} * ${b} = ${a * b}`;
  if (steps[steps.length - 1] !== last) steps.push(last);
  return steps;
}

export const mulTask = defineTask<BinaryData>({
  name: 'mul',
  description: 'multiply a d-digit number by a ceil(d/2)-digit number',
  difficulty: { min: 1, max: 20, default: 3, corpus: [1, 4] },
  sample(rng, d) {
    const a = randDigits(rng, d);
    const b = randDigits(rng, Math.ceil(d / 2));
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    return { key: `mul:${lo}*${hi}`, data: { a, b } };
  },
  prompt: ({ a, b }, lang = 'en') => (lang === 'es' ? `¿Cuánto es ${a} * ${b}?` : `What is ${a} * ${b}?`),
  answer: ({ a, b }) => String(a * b),
  check: ({ a, b }, text) => numbersEqual(text, a * b),
  solve: ({ a, b }, _rng, lang = 'en') => r1Solution(longMultiplication(a, b, lang), String(a * b)),
});
