/**
 * A load-time screen for tokenizer.json regexes that backtrack exponentially.
 *
 * tokenizer.json is code-like input: its pre-tokenizer regexes run on every text we encode, and JavaScript's engine
 * backtracks (as Oniguruma in Hugging Face tokenizers does), so a pattern like `(a+)+$` takes 2^n steps on `aaa...ab`
 * and hangs whatever loaded it. A regex cannot be interrupted once it runs, so the cheap defence is to refuse, when
 * the tokenizer is loaded, the shapes that make backtracking exponential: a repeated group (`*`, `+`, `{n,m}` with m > 1)
 * that itself contains a quantifier or an alternation (`(a+)+`, `(a|a)*`, `(\w+\s?)*`, `(x?y)+`). Groups of plain atoms
 * (`(ab)+`), quantified single atoms (`\p{L}+`, `[\r\n]*`) and alternations that are not repeated stay allowed, which
 * covers every pre-tokenizer of GPT-2, Llama 3, Qwen2 and DeepSeek-V3.
 *
 * What this does not catch: polynomial backtracking (`\s*\s*x` costs O(n^2) per match attempt); the bounds on input
 * length elsewhere (a prompt must fit the model's context) limit what such a pattern can cost. See docs/reliability.md.
 */

/** A group seen while scanning: where it starts and what it contains. */
interface Frame {
  start: number;
  hasQuantifier: boolean;
  hasAlternation: boolean;
}

/** The atom a quantifier would apply to: a plain atom, or a group with what it contains. */
type Atom = { group: false } | { group: true; text: string; risky: boolean };

const QUANT_BRACE = /^\{(\d+)(,(\d*))?\}/;

/**
 * Throws `${where}: regex can backtrack exponentially (...)` when the JavaScript regex `source` (u-flag syntax, as
 * `toJsRegex` produces) has a repeated group containing a quantifier or an alternation. Iterative, so a pattern nested
 * ten thousand groups deep is scanned without recursion.
 */
export function checkBacktracking(source: string, where: string): void {
  const stack: Frame[] = [{ start: 0, hasQuantifier: false, hasAlternation: false }];
  let last: Atom | null = null;
  const n = source.length;
  for (let i = 0; i < n; i++) {
    const c = source[i];
    const top = stack[stack.length - 1];
    if (c === '\\') {
      const e = source[i + 1];
      if ((e === 'p' || e === 'P' || e === 'u') && source[i + 2] === '{') {
        const close = source.indexOf('}', i);
        i = close < 0 ? n : close;
      } else if (e === 'x') i += 3;
      else if (e === 'u') i += 5;
      else i += 1;
      last = { group: false };
      continue;
    }
    if (c === '[') {
      for (i++; i < n && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      last = { group: false };
      continue;
    }
    if (c === '(') {
      stack.push({ start: i, hasQuantifier: false, hasAlternation: false });
      if (source[i + 1] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name> : skip the prefix so that its '?' is not read as a quantifier
        const m = /^\(\?(?::|=|!|<=|<!|<[A-Za-z][A-Za-z0-9]*>)/.exec(source.slice(i, i + 40));
        if (m) i += m[0].length - 1;
      }
      last = null;
      continue;
    }
    if (c === ')') {
      if (stack.length === 1) {
        last = { group: false };
        continue;
      }
      const g = stack.pop() as Frame;
      const parent = stack[stack.length - 1];
      parent.hasQuantifier ||= g.hasQuantifier;
      parent.hasAlternation ||= g.hasAlternation;
      last = { group: true, text: source.slice(g.start, i + 1), risky: g.hasQuantifier || g.hasAlternation };
      continue;
    }
    if (c === '|') {
      top.hasAlternation = true;
      last = null;
      continue;
    }
    let max = -1;
    let len = 1;
    if (c === '*' || c === '+') max = Infinity;
    else if (c === '?') max = 1;
    else if (c === '{') {
      const m = QUANT_BRACE.exec(source.slice(i, i + 24));
      if (m) {
        len = m[0].length;
        max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
      }
    }
    if (max < 0) {
      last = { group: false };
      continue;
    }
    const quant = source.slice(i, i + len);
    i += len - 1;
    if (source[i + 1] === '?') i++; // lazy
    top.hasQuantifier = true;
    if (max > 1 && last?.group && last.risky) {
      const shown = last.text.length > 60 ? `${last.text.slice(0, 57)}...` : last.text;
      throw new Error(
        `${where}: regex can backtrack exponentially (the repeated group ${shown}${quant} contains a quantifier or ` +
          'an alternation); tokenizer.json regexes run on every input, so this one is refused',
      );
    }
    last = null;
  }
}
