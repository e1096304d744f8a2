/**
 * Pre-tokenizers and normalizers of Hugging Face `tokenizer.json`, the subset byte-level BPE tokenizers use:
 * `ByteLevel`, `Split` (regex or string pattern, every `behavior`, `invert`) and `Sequence`; normalizers `NFC`, `NFD`,
 * `NFKC`, `NFKD`, `Lowercase` and `Sequence`. Anything else is rejected with an error that names the field.
 *
 * Regexes in tokenizer.json are Oniguruma patterns (what the Rust library compiles). `toJsRegex` translates the parts
 * that differ from JavaScript's `u` regexes: `\s`/`\S` (Unicode White_Space, which includes U+0085 but not U+FEFF),
 * `\d`, `\w`, `(?i:...)` groups (ASCII letters), `\p{Han}`-style script names, `\x{HH}` and escaped punctuation.
 * Oniguruma-only constructs (atomic groups, possessive quantifiers, `\A`, `\z`, `\h`, `\K`, ...) are rejected.
 *
 * Regexes are screened when loaded (regex_safety.ts): shapes that backtrack exponentially are refused.
 *
 * A pre-tokenizer here maps one piece of text to the pieces BPE sees; the ByteLevel step's byte mapping is done
 * by the model afterwards (bytelevel.ts), which is equivalent because the mapping is per character.
 */
import { jsonPreview } from '../util/format.js';
import { checkBacktracking } from './regex_safety.js';

/** `tokenizer.json` pre_tokenizer objects understood here. */
export type PreTokenizerConfig =
  | { type: 'ByteLevel'; add_prefix_space?: boolean; trim_offsets?: boolean; use_regex?: boolean }
  | { type: 'Split'; pattern: { Regex: string } | { String: string }; behavior: SplitBehavior; invert?: boolean }
  | { type: 'Sequence'; pretokenizers: PreTokenizerConfig[] };

export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly string[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** GPT-2's word regex (ByteLevel with `use_regex: true`). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** DeepSeek-V3's third Split regex (words with their leading punctuation, punctuation runs, newlines, spaces). */
export const DEEPSEEK_V3_WORD_PATTERN =
  '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+';

/** Qwen2's Split regex. */
export const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const isolated = (re: string): PreTokenizerConfig => ({
  type: 'Split',
  pattern: { Regex: re },
  behavior: 'Isolated',
  invert: false,
});
const byteLevelOnly: PreTokenizerConfig = {
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: false,
};

/**
 * Named pre-tokenizers. `deepseek-v3` is exactly the one DeepSeek-V3/R1 ship (digits in groups of up to 3, CJK runs,
 * words); `r1ts` is the same with single digits (as Qwen2 and Llama do), the default for tokenizers trained here because
 * the built-in tasks are arithmetic; `qwen2` and `gpt2` are those models' pre-tokenizers.
 */
export const PRE_TOKENIZER_PRESETS: Record<string, PreTokenizerConfig> = {
  'deepseek-v3': {
    type: 'Sequence',
    pretokenizers: [
      isolated('\\p{N}{1,3}'),
      isolated('[一-龥\u3040-ゟ゠-ヿ]+'),
      isolated(DEEPSEEK_V3_WORD_PATTERN),
      byteLevelOnly,
    ],
  },
  r1ts: {
    type: 'Sequence',
    pretokenizers: [
      isolated('\\p{N}'),
      isolated('[一-龥\u3040-ゟ゠-ヿ]+'),
      isolated(DEEPSEEK_V3_WORD_PATTERN),
      byteLevelOnly,
    ],
  },
  qwen2: { type: 'Sequence', pretokenizers: [isolated(QWEN2_PATTERN), { ...byteLevelOnly, trim_offsets: false }] },
  gpt2: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
};

/** Deepest nesting of Sequence pre-tokenizers / normalizers accepted (real tokenizers use 1 or 2). */
export const MAX_NESTING = 32;

// Unicode White_Space (what Oniguruma's \s matches); JavaScript's \s differs (it has U+FEFF and lacks U+0085).
const WS = '\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const WS_RE = new RegExp(`[${WS}]`, 'u');

/** Unicode White_Space (Rust's `char::is_whitespace`, Oniguruma's `\\s`). */
export const isWhiteSpace = (ch: string): boolean => WS_RE.test(ch);
const JS_SYNTAX = '^$\\.*+?()[]{}|/';

function validProperty(body: string): boolean {
  try {
    new RegExp(`\\p{${body}}`, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * Translates an Oniguruma pattern from tokenizer.json into a JavaScript `u`-flag regex source. Throws for constructs
 * that have no exact JavaScript equivalent; `where` names the field in the message.
 */
export function toJsRegex(src: string, where = 'pattern'): string {
  const fail = (why: string): never => {
    throw new Error(`${where}: unsupported regex (${why}): ${jsonPreview(src, 200)}`);
  };
  let out = '';
  let inClass = false;
  const groups: boolean[] = []; // per open group: case-insensitive?
  let ci = 0;
  const letterCi = (ch: string): string => {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    return lo === up ? ch : inClass ? lo + up : `[${lo}${up}]`;
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) fail('trailing backslash');
      i++;
      switch (n) {
        case 's':
          out += inClass ? WS : `[${WS}]`;
          break;
        case 'S':
          if (inClass) fail('\\S inside a character class');
          out += `[^${WS}]`;
          break;
        case 'w':
          out += inClass ? WORD : `[${WORD}]`;
          break;
        case 'W':
          if (inClass) fail('\\W inside a character class');
          out += `[^${WORD}]`;
          break;
        case 'd':
          out += '\\p{Nd}';
          break;
        case 'D':
          out += '\\P{Nd}';
          break;
        case 'p':
        case 'P': {
          const close = src.indexOf('}', i);
          if (src[i + 1] !== '{' || close < 0) fail(`\\${n} without {name}`);
          let body = src.slice(i + 2, close);
          let neg = n === 'P';
          if (body.startsWith('^')) {
            neg = !neg;
            body = body.slice(1);
          }
          if (!validProperty(body)) {
            if (validProperty(`Script=${body}`)) body = `Script=${body}`;
            else fail(`unknown property \\p{${body}}`);
          }
          out += `\\${neg ? 'P' : 'p'}{${body}}`;
          i = close;
          break;
        }
        case 'x': {
          if (src[i + 1] === '{') {
            const close = src.indexOf('}', i);
            if (close < 0) fail('\\x{ without }');
            out += `\\u{${src.slice(i + 2, close)}}`;
            i = close;
          } else {
            out += `\\x${src.slice(i + 1, i + 3)}`;
            i += 2;
          }
          break;
        }
        case 't':
        case 'n':
        case 'r':
        case 'f':
        case 'v':
        case 'b':
        case 'B':
        case 'u':
          out += `\\${n}`;
          break;
        default:
          if (/[A-Za-z0-9]/.test(n)) fail(`escape \\${n}`);
          // escaped punctuation: keep JavaScript's syntax characters escaped, others literal
          out += JS_SYNTAX.includes(n) || (inClass && n === '-') ? `\\${n}` : n;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (c === '[') fail('nested character class');
      if (ci > 0 && /[A-Za-z]/.test(c)) {
        if (src[i + 1] === '-' || src[i - 1] === '-') fail('letter range inside (?i:...)');
        out += letterCi(c);
      } else out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (src.startsWith('(?i:', i)) {
        groups.push(true);
        ci++;
        out += '(?:';
        i += 3;
        continue;
      }
      if (src[i + 1] === '?' && !/^\(\?(?::|=|!|<=|<!|<[A-Za-z])/.test(src.slice(i, i + 4))) fail('group syntax');
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ')') {
      if (groups.pop()) ci--;
      out += c;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && src[i + 1] === '+') fail('possessive quantifier');
    out += ci > 0 && /[A-Za-z]/.test(c) ? letterCi(c) : c;
  }
  if (inClass) fail('unterminated character class');
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** Splits `text` into (start, end, isMatch) spans of `re` (a global regex); empty matches are dropped. */
function spans(re: RegExp, text: string, invert: boolean): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m.index;
    const e = s + m[0].length;
    if (e === s) {
      re.lastIndex = s + ((text.codePointAt(s) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (s > prev) out.push([prev, s, invert]);
    out.push([s, e, !invert]);
    prev = e;
  }
  if (prev < text.length) out.push([prev, text.length, invert]);
  return out;
}

/** A compiled pre-tokenizer: one piece of text to the pieces BPE sees. */
export type PreTokenizeFn = (piece: string, out: string[]) => void;

function compileSplit(cfg: Extract<PreTokenizerConfig, { type: 'Split' }>, where: string): PreTokenizeFn {
  const p = cfg.pattern as Record<string, unknown> | undefined;
  let source: string;
  if (p && typeof p.Regex === 'string') source = toJsRegex(p.Regex, `${where}.pattern.Regex`);
  else if (p && typeof p.String === 'string') source = escapeRegex(p.String);
  else throw new Error(`${where}.pattern: expected {"Regex": ...} or {"String": ...}`);
  if (!BEHAVIORS.includes(cfg.behavior))
    throw new Error(`${where}.behavior: unsupported value ${jsonPreview(cfg.behavior)}`);
  let re: RegExp;
  try {
    re = new RegExp(source, 'gu');
  } catch (e) {
    throw new Error(`${where}.pattern: ${(e as Error).message.slice(0, 200)}`);
  }
  if (p && typeof p.Regex === 'string') checkBacktracking(source, `${where}.pattern.Regex`);
  const invert = cfg.invert === true;
  const behavior = cfg.behavior;
  if (behavior === 'Isolated' && !invert) {
    // The common case (every Split of DeepSeek-V3, Qwen2, Llama 3), without intermediate spans.
    return (text, out) => {
      let prev = 0;
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const s = m.index;
        const len = m[0].length;
        if (len === 0) {
          re.lastIndex = s + ((text.codePointAt(s) ?? 0) > 0xffff ? 2 : 1);
          continue;
        }
        if (s > prev) out.push(text.slice(prev, s));
        out.push(m[0]);
        prev = s + len;
      }
      if (prev === 0) {
        if (text.length) out.push(text);
      } else if (prev < text.length) out.push(text.slice(prev));
    };
  }
  return (text, out) => {
    if (text.length === 0) return;
    const sp = spans(re, text, invert);
    if (behavior === 'Isolated') {
      for (const [s, e] of sp) out.push(text.slice(s, e));
      return;
    }
    if (behavior === 'Removed') {
      for (const [s, e, m] of sp) if (!m) out.push(text.slice(s, e));
      return;
    }
    // Merging behaviours, folded exactly as tokenizers' NormalizedString::split does.
    const acc: [number, number][] = [];
    let prevMatch = false;
    const order = behavior === 'MergedWithNext' ? sp.reverse() : sp;
    for (const [s, e, m] of order) {
      const last = acc[acc.length - 1];
      const merge = behavior === 'Contiguous' ? m === prevMatch : m && !prevMatch;
      if (merge && last) {
        if (behavior === 'MergedWithNext') last[0] = s;
        else last[1] = e;
      } else acc.push([s, e]);
      prevMatch = m;
    }
    if (behavior === 'MergedWithNext') acc.reverse();
    for (const [s, e] of acc) out.push(text.slice(s, e));
  };
}

function checkBool(v: unknown, where: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new Error(`${where}: expected a boolean, got ${jsonPreview(v)}`);
  return v;
}

/**
 * Compiles a `pre_tokenizer` object. Requires a ByteLevel step (byte-level BPE only), and it must come last in a
 * Sequence: Splits after it would see byte characters, which is not supported.
 */
export function compilePreTokenizer(cfg: unknown, where = 'pre_tokenizer'): PreTokenizeFn {
  const steps = flattenPre(cfg, where);
  const byteIdx = steps.findIndex((s) => s.cfg.type === 'ByteLevel');
  if (byteIdx < 0) throw new Error(`${where}: byte-level BPE needs a ByteLevel pre-tokenizer`);
  if (byteIdx !== steps.length - 1)
    throw new Error(`${steps[byteIdx].where}: ByteLevel must be the last pre-tokenizer`);
  const fns: PreTokenizeFn[] = [];
  for (const { cfg: c, where: w } of steps) {
    if (c.type === 'Split') fns.push(compileSplit(c, w));
    else if (c.type === 'ByteLevel') {
      const o = c as Record<string, unknown>;
      const prefix = checkBool(o.add_prefix_space, `${w}.add_prefix_space`);
      checkBool(o.trim_offsets, `${w}.trim_offsets`);
      const useRegex = o.use_regex === undefined ? true : checkBool(o.use_regex, `${w}.use_regex`);
      const gpt2 = useRegex
        ? compileSplit({ type: 'Split', pattern: { Regex: GPT2_PATTERN }, behavior: 'Isolated' }, w)
        : null;
      fns.push((text, out) => {
        const t = prefix && !text.startsWith(' ') ? ` ${text}` : text;
        if (gpt2) gpt2(t, out);
        else if (t.length) out.push(t);
      });
    }
  }
  if (fns.length === 1) return fns[0];
  let a: string[] = [];
  let b: string[] = [];
  return (text, out) => {
    // Each step splits every piece of the previous one; two arrays are reused between calls.
    a.length = 0;
    a.push(text);
    for (let k = 0; k < fns.length; k++) {
      const f = fns[k];
      b.length = 0;
      for (let i = 0; i < a.length; i++) f(a[i], b);
      [a, b] = [b, a];
    }
    for (let i = 0; i < a.length; i++) out.push(a[i]);
  };
}

function flattenPre(cfg: unknown, where: string, depth = 0): { cfg: PreTokenizerConfig; where: string }[] {
  if (cfg === null || typeof cfg !== 'object') throw new Error(`${where}: expected an object, got ${jsonPreview(cfg)}`);
  const c = cfg as { type?: unknown; pretokenizers?: unknown };
  if (c.type === 'Sequence') {
    if (depth >= MAX_NESTING) throw new Error(`${where}: Sequences nested more than ${MAX_NESTING} deep`);
    if (!Array.isArray(c.pretokenizers)) throw new Error(`${where}.pretokenizers: expected an array`);
    return c.pretokenizers.flatMap((p, i) => flattenPre(p, `${where}.pretokenizers[${i}]`, depth + 1));
  }
  if (c.type === 'ByteLevel' || c.type === 'Split') return [{ cfg: cfg as PreTokenizerConfig, where }];
  throw new Error(
    `${where}.type: unsupported pre-tokenizer ${jsonPreview(c.type)} (supported: ByteLevel, Split, Sequence)`,
  );
}

/** A compiled normalizer. */
export type NormalizeFn = (text: string) => string;

/** Compiles a `normalizer` object (null for none). */
export function compileNormalizer(cfg: unknown, where = 'normalizer', depth = 0): NormalizeFn | null {
  if (cfg === null || cfg === undefined) return null;
  if (depth > MAX_NESTING) throw new Error(`${where}: Sequences nested more than ${MAX_NESTING} deep`);
  if (typeof cfg !== 'object') throw new Error(`${where}: expected an object or null`);
  const c = cfg as { type?: unknown; normalizers?: unknown };
  switch (c.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = c.type;
      return (t) => t.normalize(form);
    }
    case 'Lowercase':
      return (t) => t.toLowerCase();
    case 'Sequence': {
      if (!Array.isArray(c.normalizers)) throw new Error(`${where}.normalizers: expected an array`);
      const fns = c.normalizers
        .map((n, i) => compileNormalizer(n, `${where}.normalizers[${i}]`, depth + 1))
        .filter((f): f is NormalizeFn => f !== null);
      if (fns.length === 0) return null;
      return (t) => fns.reduce((acc, f) => f(acc), t);
    }
    default:
      throw new Error(
        `${where}.type: unsupported normalizer ${jsonPreview(c.type)} (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)`,
      );
  }
}
