/**
 * Two more verifiable tasks:
 * - `sort`, difficulty d: sort d + 3 numbers (0..99 for d <= 2, else 0..999) ascending. Worked solution: selection
 *   sort, one line per pick (`smallest of 42, 7, 19 is 7`). Answers are comma- or space-separated lists.
 * - `modpow`, difficulty d: a^k mod m by repeated multiplication with a reduced mod m, one line per power
 *   (`5 * 7 = 35 = 2 * 13 + 9, remainder 9`); a mod m is never 0 or 1. Difficulty 1: a < 10, k <= 4, m <= 13; 2: a < 20, k <= 8, m <= 31;
 *   3: a < 100, k <= 15, m <= 97.
 * Both in English or Spanish (`el menor de 42, 7, 19 es 7`; `potencia 2: ... resto 9`).
 */
import type { Lang } from '../language.js';
import { numbersEqual } from './answer.js';
import { defineTask, randInt, r1Solution } from './task.js';

export interface SortData {
  values: number[];
}

/** Parses `1, 2, 3`, `[1, 2, 3]` or `1 2 3` into integers; null if anything else is there. */
export function parseIntList(text: string): number[] | null {
  const s = text
    .trim()
    .replace(/^\[|\]$/g, '')
    .trim();
  if (!s) return [];
  const parts = s.split(/\s*,\s*|\s+/);
  if (parts.some((p) => !/^-?\d+$/.test(p))) return null;
  return parts.map(Number);
}

const SORT_TEXT = {
  en: {
    prompt: (list: string) => `Sort these numbers from smallest to largest: ${list}.`,
    pick: (rest: string, m: number) => `smallest of ${rest} is ${m}`,
    last: (v: number) => `last is ${v}`,
    sorted: (list: string) => `sorted: ${list}`,
  },
  es: {
    prompt: (list: string) => `Ordena estos números de menor a mayor: ${list}.`,
    pick: (rest: string, m: number) => `el menor de ${rest} es ${m}`,
    last: (v: number) => `el último es ${v}`,
    sorted: (list: string) => `ordenados: ${list}`,
  },
};

export const sortTask = defineTask<SortData>({
  name: 'sort',
  description: 'sort d+3 numbers ascending',
  difficulty: { min: 1, max: 8, default: 2, corpus: [1, 4] },
  sample(rng, d) {
    const n = d + 3;
    const hi = d <= 2 ? 99 : 999;
    const values = Array.from({ length: n }, () => randInt(rng, 0, hi));
    return { key: `sort:${values.join(',')}`, data: { values } };
  },
  prompt: ({ values }, lang = 'en') => SORT_TEXT[lang].prompt(values.join(', ')),
  answer: ({ values }) => [...values].sort((a, b) => a - b).join(', '),
  check: ({ values }, text) => {
    const got = parseIntList(text);
    const want = [...values].sort((a, b) => a - b);
    return got !== null && got.length === want.length && got.every((v, i) => v === want[i]);
  },
  solve({ values }, _rng, lang: Lang = 'en') {
    const T = SORT_TEXT[lang];
    const rest = [...values];
    const out: number[] = [];
    const steps: string[] = [];
    while (rest.length > 1) {
      const m = Math.min(...rest);
      steps.push(T.pick(rest.join(', '), m));
      rest.splice(rest.indexOf(m), 1);
      out.push(m);
    }
    out.push(rest[0]);
    steps.push(T.last(rest[0]));
    steps.push(T.sorted(out.join(', ')));
    return r1Solution(steps, out.join(', '));
  },
});

export interface ModPowData {
  base: number;
  exp: number;
  mod: number;
}

const MODPOW_LIMITS = [
  [0, 0, 0],
  [9, 4, 13],
  [19, 8, 31],
  [99, 15, 97],
];

function modPow(base: number, exp: number, mod: number): number {
  let r = 1 % mod;
  for (let i = 0; i < exp; i++) r = (r * base) % mod;
  return r;
}

const MODPOW_TEXT = {
  en: {
    prompt: (base: number, exp: number, mod: number) => `What is the remainder of ${base}^${exp} divided by ${mod}?`,
    start: (base: number, mod: number) => `Multiply by ${base} again and again, keeping only the remainder mod ${mod}.`,
    power: (k: number, calc: string, r: number) => `power ${k}: ${calc}remainder ${r}`,
  },
  es: {
    prompt: (base: number, exp: number, mod: number) => `¿Cuál es el resto de dividir ${base}^${exp} entre ${mod}?`,
    start: (base: number, mod: number) =>
      `Multiplicamos por ${base} una y otra vez y nos quedamos solo con el resto módulo ${mod}.`,
    power: (k: number, calc: string, r: number) => `potencia ${k}: ${calc}resto ${r}`,
  },
};

export const modpowTask = defineTask<ModPowData>({
  name: 'modpow',
  description: 'compute a^k mod m',
  difficulty: { min: 1, max: 3, default: 2, corpus: [1, 3] },
  sample(rng, d) {
    const [maxBase, maxExp, maxMod] = MODPOW_LIMITS[d];
    let base: number;
    let mod: number;
    do {
      base = randInt(rng, 2, maxBase);
      mod = randInt(rng, 3, maxMod);
    } while (base % mod < 2); // not trivially 0 or 1
    const exp = randInt(rng, 2, maxExp);
    return { key: `modpow:${base}^${exp}%${mod}`, data: { base, exp, mod } };
  },
  prompt: ({ base, exp, mod }, lang = 'en') => MODPOW_TEXT[lang].prompt(base, exp, mod),
  answer: ({ base, exp, mod }) => String(modPow(base, exp, mod)),
  check: ({ base, exp, mod }, text) => numbersEqual(text, modPow(base, exp, mod)),
  solve({ base, exp, mod }, _rng, lang: Lang = 'en') {
    const T = MODPOW_TEXT[lang];
    const b = base % mod;
    const steps = [T.start(base, mod)];
    steps.push(T.power(1, b === base ? '' : `${base} = ${Math.floor(base / mod)} * ${mod} + ${b}, `, b));
    let r = b;
    for (let k = 2; k <= exp; k++) {
      const p = r * b;
      const next = p % mod;
      steps.push(T.power(k, `${r} * ${b} = ${p} = ${Math.floor(p / mod)} * ${mod} + ${next}, `, next));
      r = next;
    }
    return r1Solution(steps, String(r));
  },
});
