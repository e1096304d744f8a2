/**
 * Final-answer extraction and numeric comparison, shared by the task checkers, RL rewards and evaluation.
 *
 * `extractAnswer` takes the content of the last complete `<answer>...</answer>`; failing that, the last `\boxed{...}`
 * (braces balanced). A `\boxed{}` inside the answer tags is unwrapped. `parseNumber` reads the formats models write:
 * `42`, ` 42 `, `-7`, `1,234` (thousands groups), `3.50`, `7/2`, `\frac{7}{2}`, `$42$`, `x = 5`, a trailing period,
 * the Unicode minus sign; numbers of any size (bigint).
 */
import { Rational } from './exact.js';

/** Content of the last `\boxed{...}` in `text` (nested braces allowed), or null. */
export function extractBoxed(text: string): string | null {
  const key = '\\boxed';
  let at = text.lastIndexOf(key);
  while (at >= 0) {
    let i = at + key.length;
    while (text[i] === ' ') i++;
    if (text[i] === '{') {
      let depth = 0;
      for (let j = i; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) return text.slice(i + 1, j);
      }
    }
    at = at > 0 ? text.lastIndexOf(key, at - 1) : -1; // unbalanced: try an earlier one
  }
  return null;
}

/**
 * The final answer of a model response: the last complete `<answer>...</answer>` (trimmed, with a `\boxed{}` inside
 * unwrapped), else the last `\boxed{...}`, else null.
 */
export function extractAnswer(text: string): string | null {
  const close = text.lastIndexOf('</answer>');
  if (close >= 0) {
    const open = text.lastIndexOf('<answer>', close);
    if (open >= 0) {
      const inner = text.slice(open + '<answer>'.length, close);
      return (extractBoxed(inner) ?? inner).trim();
    }
  }
  const boxed = extractBoxed(text);
  return boxed === null ? null : boxed.trim();
}

/** The chain of thought: text after the first `<think>` (if any) and before the last `</think>` (or the end). */
export function chainOfThought(response: string): string {
  const close = response.lastIndexOf('</think>');
  const body = close < 0 ? response : response.slice(0, close);
  const open = body.indexOf('<think>');
  return open < 0 ? body : body.slice(open + '<think>'.length);
}

/** Whether `text` has the R1 layout: `<think>...</think>` then `<answer>...</answer>`, nothing else around them. */
export function isR1Format(text: string): boolean {
  return /^\s*<think>(?:(?!<\/?think>)[\s\S])*<\/think>\s*<answer>(?:(?!<\/?answer>)[\s\S])*<\/answer>\s*$/.test(text);
}

/** Parses a number written in a common format (see file header); null if it is not one. */
export function parseNumber(text: string): Rational | null {
  let s = text.trim().replace(/[−–]/g, '-');
  const boxed = extractBoxed(s);
  if (boxed !== null && s.startsWith('\\boxed')) s = boxed.trim();
  s = s
    .replace(/^\$+|\$+$/g, '')
    .replace(/^\\\(|\\\)$/g, '')
    .trim();
  s = s.replace(/^[A-Za-z]\s*=\s*/, ''); // "x = 5"
  s = s.replace(/\.$/, '').trim();
  s = s.replace(/^\\text\{(.*)\}$/, '$1').trim();
  const frac = /^([+-]?)\\[dt]?frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}$/.exec(s);
  if (frac) return /^0+$/.test(frac[3]) ? null : new Rational(BigInt(frac[1] + frac[2]), BigInt(frac[3]));
  const ratio = /^([+-]?\d+)\s*\/\s*(\d+)$/.exec(s);
  if (ratio) return /^0+$/.test(ratio[2]) ? null : new Rational(BigInt(ratio[1]), BigInt(ratio[2]));
  if (/^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  const dec = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(s) ?? /^([+-]?)()\.(\d+)$/.exec(s);
  if (!dec) return null;
  const frac2 = dec[3] ?? '';
  return new Rational(BigInt(`${dec[1]}${dec[2] || '0'}${frac2}`), 10n ** BigInt(frac2.length));
}

/** Whether `text` is a number equal to `expected` (exactly). */
export function numbersEqual(text: string, expected: Rational | bigint | number | string): boolean {
  const got = parseNumber(text);
  if (got === null) return false;
  const want =
    expected instanceof Rational
      ? expected
      : typeof expected === 'string'
        ? parseNumber(expected)
        : new Rational(BigInt(expected));
  return want !== null && got.equals(want);
}
