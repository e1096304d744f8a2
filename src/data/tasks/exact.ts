/**
 * Exact arithmetic for checking answers: rationals over bigint, and a small safe parser for arithmetic expressions
 * (integers, decimals, + - * /, unary minus, parentheses; `×`, `÷`, `·` accepted). Nothing is ever passed to `eval`;
 * input length and nesting depth are bounded so hostile model output cannot exhaust the stack.
 */

const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};

/** An exact rational number num/den in lowest terms, den > 0. */
export class Rational {
  readonly num: bigint;
  readonly den: bigint;

  constructor(num: bigint | number, den: bigint | number = 1n) {
    let n = BigInt(num);
    let d = BigInt(den);
    if (d === 0n) throw new RangeError('division by zero');
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const g = gcd(n, d) || 1n;
    this.num = n / g;
    this.den = d / g;
  }

  add(o: Rational): Rational {
    return new Rational(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Rational): Rational {
    return new Rational(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Rational): Rational {
    return new Rational(this.num * o.num, this.den * o.den);
  }
  /** Throws RangeError('division by zero') when o is 0. */
  div(o: Rational): Rational {
    return new Rational(this.num * o.den, this.den * o.num);
  }
  neg(): Rational {
    return new Rational(-this.num, this.den);
  }
  equals(o: Rational): boolean {
    return this.num === o.num && this.den === o.den;
  }
  isInteger(): boolean {
    return this.den === 1n;
  }
  /** `7`, `-3/4`. */
  toString(): string {
    return this.den === 1n ? `${this.num}` : `${this.num}/${this.den}`;
  }
}

/** Expression tree of the safe parser. */
export type Expr =
  | { type: 'num'; value: Rational; text: string }
  | { type: 'neg'; arg: Expr }
  | { type: 'bin'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr };

/** Longest expression text accepted. */
export const MAX_EXPR_LENGTH = 2000;
const MAX_DEPTH = 200;

/**
 * Parses an arithmetic expression; throws an Error naming the position on anything else (letters, `**`, unbalanced
 * parentheses, empty input). Brackets `[ ]` work as parentheses.
 */
export function parseExpr(src: string): Expr {
  if (src.length > MAX_EXPR_LENGTH) throw new Error(`expression longer than ${MAX_EXPR_LENGTH} characters`);
  const s = src.replace(/[×·]/g, '*').replace(/÷/g, '/').replace(/[−–]/g, '-');
  let i = 0;
  let depth = 0;
  const skip = (): void => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const err = (what: string): never => {
    throw new Error(`${what} at position ${i} in ${JSON.stringify(src.length > 60 ? src.slice(0, 60) + '...' : src)}`);
  };
  const expr = (): Expr => {
    if (++depth > MAX_DEPTH) err('expression nested too deeply');
    let left = term();
    for (skip(); s[i] === '+' || s[i] === '-'; skip()) {
      const op = s[i++] as '+' | '-';
      left = { type: 'bin', op, left, right: term() };
    }
    depth--;
    return left;
  };
  const term = (): Expr => {
    let left = unary();
    for (skip(); (s[i] === '*' && s[i + 1] !== '*') || s[i] === '/'; skip()) {
      const op = s[i++] as '*' | '/';
      left = { type: 'bin', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => {
    skip();
    if (s[i] === '-') {
      i++;
      if (++depth > MAX_DEPTH) err('expression nested too deeply');
      const arg = unary();
      depth--;
      return { type: 'neg', arg };
    }
    if (s[i] === '+') {
      i++;
      return unary();
    }
    return primary();
  };
  const primary = (): Expr => {
    skip();
    const open = s[i];
    if (open === '(' || open === '[') {
      i++;
      const e = expr();
      skip();
      if (s[i] !== (open === '(' ? ')' : ']')) err(`expected '${open === '(' ? ')' : ']'}'`);
      i++;
      return e;
    }
    const m = /^\d+(?:\.\d+)?/.exec(s.slice(i, i + 400));
    if (!m) return err(i >= s.length ? 'unexpected end' : `unexpected ${JSON.stringify(s[i])}`);
    i += m[0].length;
    const [whole, frac = ''] = m[0].split('.');
    const value = new Rational(BigInt(whole + frac), 10n ** BigInt(frac.length));
    return { type: 'num', value, text: m[0] };
  };
  const e = expr();
  skip();
  if (i < s.length) err(`unexpected ${JSON.stringify(s[i])}`);
  return e;
}

/** Exact value of an expression tree; throws RangeError('division by zero'). */
export function evaluate(e: Expr): Rational {
  switch (e.type) {
    case 'num':
      return e.value;
    case 'neg':
      return evaluate(e.arg).neg();
    case 'bin': {
      const a = evaluate(e.left);
      const b = evaluate(e.right);
      return e.op === '+' ? a.add(b) : e.op === '-' ? a.sub(b) : e.op === '*' ? a.mul(b) : a.div(b);
    }
  }
}

/** The number literals of an expression, left to right (value and text as written). */
export function literals(e: Expr, out: Extract<Expr, { type: 'num' }>[] = []): Extract<Expr, { type: 'num' }>[] {
  if (e.type === 'num') out.push(e);
  else if (e.type === 'neg') literals(e.arg, out);
  else {
    literals(e.left, out);
    literals(e.right, out);
  }
  return out;
}

/** Whether the tree uses unary minus anywhere. */
export function hasNegation(e: Expr): boolean {
  return e.type === 'neg' || (e.type === 'bin' && (hasNegation(e.left) || hasNegation(e.right)));
}

const PREC = { '+': 1, '-': 1, '*': 2, '/': 2 } as const;

/** Prints a tree with the fewest parentheses that keep its structure: `3 * (4 + 5) - 2`. */
export function formatExpr(e: Expr): string {
  if (e.type === 'num') return e.text;
  if (e.type === 'neg') return e.arg.type === 'num' ? `-${e.arg.text}` : `-(${formatExpr(e.arg)})`;
  const p = PREC[e.op];
  const side = (c: Expr, right: boolean): string => {
    const s = formatExpr(c);
    if (c.type !== 'bin') return c.type === 'neg' ? `(${s})` : s;
    const q = PREC[c.op];
    return q < p || (right && q === p && (e.op === '-' || e.op === '/')) ? `(${s})` : s;
  };
  return `${side(e.left, false)} ${e.op} ${side(e.right, true)}`;
}
