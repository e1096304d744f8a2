/**
 * Countdown: combine the given numbers with + - * / to reach a target, each number used exactly once (as in TinyZero's
 * Countdown task). Difficulty d gives d + 2 numbers (up to 20, 50, then 100) and a target up to 100 (d <= 2) or 999.
 *
 * Problems are generated from a random expression over all the numbers whose intermediate values are positive
 * integers, so every problem is solvable. Answers are checked by the safe parser and exact rational evaluation (any
 * correct expression counts, not just the reference one); unary minus and numbers not given are rejected.
 * The worked solution sometimes shows a failed attempt first, then the combination that works (in Spanish:
 * `Pruebo: 3 + 5 = 8. 8 no es 24.`).
 */
import type { Generator } from '../../tensor/random.js';
import type { Lang } from '../language.js';
import { evaluate, formatExpr, hasNegation, literals, parseExpr, Rational, type Expr } from './exact.js';
import { defineTask, randInt, r1Solution } from './task.js';

export interface CountdownData {
  numbers: number[];
  target: number;
  /** A reference expression that reaches the target. */
  expression: string;
}

interface Node {
  expr: Expr;
  value: number;
  /** `3 * 5 = 15`, in the order the steps were made. */
  steps: string[];
}

const num = (v: number): Node => ({
  expr: { type: 'num', value: new Rational(v), text: String(v) },
  value: v,
  steps: [],
});

/** Combines all `numbers` at random into one expression with positive integer intermediate values. */
function randomTree(rng: Generator, numbers: readonly number[]): Node {
  const items = numbers.map(num);
  while (items.length > 1) {
    const i = randInt(rng, 0, items.length - 1);
    let j = randInt(rng, 0, items.length - 2);
    if (j >= i) j++;
    let [x, y] = [items[i], items[j]];
    const ops = ['+', '-', '*', '/'] as const;
    const start = randInt(rng, 0, 3);
    let made: Node | null = null;
    for (let k = 0; k < 4 && !made; k++) {
      const op = ops[(start + k) % 4];
      if (op === '-' || op === '/') {
        if (x.value < y.value) [x, y] = [y, x];
      }
      let v: number;
      if (op === '+') v = x.value + y.value;
      else if (op === '-') {
        if (x.value === y.value) continue;
        v = x.value - y.value;
      } else if (op === '*') {
        if (x.value === 1 || y.value === 1 || x.value * y.value > 10_000) continue;
        v = x.value * y.value;
      } else {
        if (y.value === 1 || x.value % y.value !== 0) continue;
        v = x.value / y.value;
      }
      made = {
        expr: { type: 'bin', op, left: x.expr, right: y.expr },
        value: v,
        steps: [...x.steps, ...y.steps, `${x.value} ${op} ${y.value} = ${v}`],
      };
    }
    const node = made as Node; // '+' always succeeds
    items.splice(Math.max(i, j), 1);
    items.splice(Math.min(i, j), 1, node);
  }
  return items[0];
}

const MAX_NUMBER = [0, 20, 50, 100, 100, 100, 100];

const TEXT = {
  en: {
    prompt: (numbers: string, target: number) =>
      `Using the numbers ${numbers}, write an expression that equals ${target}. Use each number exactly once, with + - * / and parentheses.`,
    start: (numbers: string, target: number) => `Numbers ${numbers}; target ${target}.`,
    miss: (steps: string, value: number, target: number) => `Try: ${steps}. ${value} is not ${target}.`,
    hit: (steps: string, target: number) => `Try: ${steps}. This reaches ${target}.`,
  },
  es: {
    prompt: (numbers: string, target: number) =>
      `Con los números ${numbers}, escribe una expresión que dé ${target}. Usa cada número exactamente una vez, con + - * / y paréntesis.`,
    start: (numbers: string, target: number) => `Números ${numbers}; objetivo ${target}.`,
    miss: (steps: string, value: number, target: number) => `Pruebo: ${steps}. ${value} no es ${target}.`,
    hit: (steps: string, target: number) => `Pruebo: ${steps}. Así llego a ${target}.`,
  },
};

export const countdownTask = defineTask<CountdownData>({
  name: 'countdown',
  description: 'reach a target from d+2 numbers with + - * / (each number once)',
  difficulty: { min: 1, max: 4, default: 1, corpus: [1, 2] },
  sample(rng, d) {
    const n = d + 2;
    const maxTarget = d <= 2 ? 100 : 999;
    for (;;) {
      const numbers = Array.from({ length: n }, () => randInt(rng, 1, MAX_NUMBER[d]));
      const tree = randomTree(rng, numbers);
      if (tree.value < 1 || tree.value > maxTarget || numbers.includes(tree.value)) continue;
      const sorted = [...numbers].sort((a, b) => a - b);
      return {
        key: `countdown:${sorted.join(',')}->${tree.value}`,
        data: { numbers, target: tree.value, expression: formatExpr(tree.expr) },
      };
    }
  },
  prompt: ({ numbers, target }, lang = 'en') => TEXT[lang].prompt(numbers.join(', '), target),
  answer: ({ expression }) => expression,
  check: ({ numbers, target }, text) => {
    let t = text.trim();
    const eq = t.lastIndexOf('=');
    if (eq >= 0) t = t.slice(0, eq).trim(); // "expr = 24"
    const e = parseExpr(t);
    if (hasNegation(e)) return false;
    const used = literals(e);
    if (used.some((n) => !/^\d+$/.test(n.text))) return false; // integers as given, not 2.0
    const a = used.map((n) => Number(n.value.num)).sort((x, y) => x - y);
    const b = [...numbers].sort((x, y) => x - y);
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) return false;
    return evaluate(e).equals(new Rational(target));
  },
  solve({ numbers, target, expression }, rng, lang: Lang = 'en') {
    const T = TEXT[lang];
    const steps = [T.start(numbers.join(', '), target)];
    if (numbers.length > 2 && rng.uniform(1, 'float64')[0] < 0.5) {
      const miss = randomTree(rng, numbers);
      if (miss.value !== target) steps.push(T.miss(miss.steps.join(', '), miss.value, target));
    }
    const expr = parseExpr(expression);
    const tree = replay(expr);
    steps.push(T.hit(tree.steps.join(', '), target));
    steps.push(`${expression} = ${target}`);
    return r1Solution(steps, expression);
  },
});

/** Recomputes the step list of a parsed reference expression (post-order). */
function replay(e: Expr): Node {
  if (e.type === 'num') return num(Number(e.value.num));
  if (e.type === 'neg') throw new Error('countdown: unexpected negation');
  const l = replay(e.left);
  const r = replay(e.right);
  const v = evaluate(e);
  return { expr: e, value: Number(v.num), steps: [...l.steps, ...r.steps, `${l.value} ${e.op} ${r.value} = ${v}`] };
}
