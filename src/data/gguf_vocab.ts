/**
 * A byte-level BPE tokenizer as llama.cpp's `gpt2` vocabulary: the token list, token types, merges, special ids, the
 * BOS/EOS the post-processor adds, the chat template, and the name llama.cpp gives the pre-tokenizer
 * (`tokenizer.ggml.pre`). The result is the `GgufVocab` that src/io/gguf_model.ts writes (this file imports nothing
 * from src/io; the shape is checked where the two meet).
 *
 * Pre-tokenizers: llama.cpp has no regexes in the file, only a name for each pre-tokenizer it implements
 * (`llm_tokenizer_bpe` in llama.cpp's src/llama-vocab.cpp). A tokenizer's regex splits are compared with the ones
 * llama.cpp runs under `deepseek-v3`, `qwen2` and `gpt-2`; anything else is refused, naming the difference. r1ts's
 * default `r1ts` pre-tokenizer is DeepSeek-V3's with single digits (`\p{N}` where DeepSeek has `\p{N}{1,3}`); no
 * llama.cpp pre-tokenizer has that regex. It is exported as `deepseek-v3` when the two provably tokenize every text
 * alike: when no merge joins the end of one digit to the start of another (BPE inside a run of up to three digits
 * then never crosses a digit, so it gives each digit's tokens, as the single-digit split does). A tokenizer trained
 * with the `r1ts` pre-tokenizer never learns such a merge; one that has one is refused with the merge named.
 *
 * Token types follow llama.cpp's converter (`get_vocab_base`): added tokens that are special, or look special
 * (`<|...|>`, `<｜...｜>`), are CONTROL; other added tokens are USER_DEFINED (with U+2581 written as a space); ids the
 * tokenizer lacks up to the model's vocab_size become `[PADn]`, UNUSED.
 *
 * Not here: the GGUF file or the model's tensors (src/io/gguf.ts, src/io/gguf_model.ts).
 */
import { appendTokenBytes } from './bytelevel.js';
import { DEEPSEEK_V3_WORD_PATTERN, GPT2_PATTERN, QWEN2_PATTERN } from './pretokenize.js';
import type { Tokenizer } from './tokenizer.js';

/** llama.cpp token types (`llama_token_type`). */
export const LLAMA_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const CJK = '[一-龥\u3040-ゟ゠-ヿ]+';

/** llama.cpp's pre-tokenizer names and the tokenizer.json regex splits each one runs (in order). */
export const LLAMA_CPP_PRE_TOKENIZERS: readonly { name: string; regexes: readonly string[] }[] = [
  { name: 'deepseek-v3', regexes: ['\\p{N}{1,3}', CJK, DEEPSEEK_V3_WORD_PATTERN] },
  { name: 'qwen2', regexes: [QWEN2_PATTERN] },
  // llama.cpp's GPT-2 regex lacks the final `|\s+`; whitespace it leaves unmatched stays one piece, as `\s+` makes it.
  { name: 'gpt-2', regexes: [GPT2_PATTERN] },
];

/** The regex splits of r1ts's default pre-tokenizer: DeepSeek-V3's with `\p{N}` for `\p{N}{1,3}`. */
const R1TS_REGEXES = ['\\p{N}', CJK, DEEPSEEK_V3_WORD_PATTERN];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const refuse = (setting: string, why: string): never => {
  throw new Error(`gguf: tokenizer ${setting}: ${why}`);
};

/**
 * The regexes of a tokenizer.json `pre_tokenizer` made of isolated regex splits and a final ByteLevel without regex
 * (DeepSeek-V3, Qwen2, r1ts), or a ByteLevel with GPT-2's regex. Anything else is refused, naming what differs.
 */
export function preTokenizerRegexes(pre: unknown): string[] {
  if (!isObj(pre)) return refuse('pre_tokenizer', 'missing (llama.cpp needs a byte-level pre-tokenizer)');
  const byteLevel = (b: Record<string, unknown>, where: string, useRegex: boolean): void => {
    if (b.add_prefix_space === true)
      refuse(`${where}.add_prefix_space true`, "llama.cpp's gpt2 vocabulary adds no prefix space");
    if ((b.use_regex !== false) !== useRegex)
      refuse(`${where}.use_regex ${b.use_regex !== false}`, 'llama.cpp has no such byte-level split');
  };
  if (pre.type === 'ByteLevel') {
    byteLevel(pre, 'pre_tokenizer', true);
    return [GPT2_PATTERN];
  }
  if (pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers))
    return refuse(
      `pre_tokenizer.type ${JSON.stringify(pre.type)}`,
      'llama.cpp runs regex splits and byte-level BPE only',
    );
  const steps = pre.pretokenizers as unknown[];
  const last = steps[steps.length - 1];
  if (!isObj(last) || last.type !== 'ByteLevel')
    refuse('pre_tokenizer', 'does not end with a ByteLevel step (llama.cpp maps bytes last)');
  byteLevel(last as Record<string, unknown>, `pre_tokenizer.pretokenizers[${steps.length - 1}]`, false);
  return steps.slice(0, -1).map((s, i) => {
    const where = `pre_tokenizer.pretokenizers[${i}]`;
    if (!isObj(s) || s.type !== 'Split') return refuse(`${where}.type`, 'llama.cpp runs regex splits only');
    if (s.behavior !== 'Isolated' || s.invert === true)
      refuse(`${where}.behavior ${JSON.stringify(s.behavior)}`, 'llama.cpp keeps every match as its own piece');
    const p = s.pattern;
    if (!isObj(p) || typeof p.Regex !== 'string')
      return refuse(`${where}.pattern`, 'llama.cpp splits on regexes, not literal strings');
    return p.Regex;
  });
}

/** Byte strings (as latin1 strings) that end / begin the UTF-8 encoding of a \p{N} character. */
let digitEdges: { ends: Set<string>; starts: Set<string> } | null = null;
function numberCharEdges(): { ends: Set<string>; starts: Set<string> } {
  if (digitEdges) return digitEdges;
  const ends = new Set<string>();
  const starts = new Set<string>();
  const enc = new TextEncoder();
  const re = /\p{N}/u;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (!re.test(ch)) continue;
    const b = String.fromCharCode(...enc.encode(ch));
    for (let i = 0; i < b.length; i++) {
      ends.add(b.slice(i));
      starts.add(b.slice(0, i + 1));
    }
  }
  digitEdges = { ends, starts };
  return digitEdges;
}

/** The first merge that joins the end of one \p{N} character to the start of another, or null when none does. */
export function digitJoiningMerge(
  merges: readonly (readonly [string, string])[],
): { rank: number; merge: string } | null {
  const { ends, starts } = numberCharEdges();
  const bytes = (t: string): string => {
    const out: number[] = [];
    appendTokenBytes(t, out);
    return String.fromCharCode(...out);
  };
  for (let r = 0; r < merges.length; r++) {
    const [a, b] = merges[r];
    if (ends.has(bytes(a)) && starts.has(bytes(b))) return { rank: r, merge: `${a} ${b}` };
  }
  return null;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * llama.cpp's name for the tokenizer's pre-tokenizer, or a one-line refusal naming the difference (see the file
 * header for the `r1ts` pre-tokenizer's proof of equivalence with `deepseek-v3`).
 */
export function llamaCppPreTokenizer(tok: Tokenizer): string {
  const json = tok.toJSON();
  const regexes = preTokenizerRegexes(json.pre_tokenizer);
  const known = LLAMA_CPP_PRE_TOKENIZERS.find((p) => sameList(p.regexes, regexes));
  if (known) return known.name;
  if (sameList(regexes, R1TS_REGEXES)) {
    const hit = digitJoiningMerge(tok.model.merges);
    if (!hit) return 'deepseek-v3';
    return refuse(
      "pre_tokenizer 'r1ts'",
      `it splits digits one by one (\\p{N}); llama.cpp's nearest, 'deepseek-v3', groups up to three (\\p{N}{1,3}), and merges[${hit.rank}] ${JSON.stringify(hit.merge)} joins two digits, so numbers would tokenize differently (train the tokenizer with --pre-tokenizer deepseek-v3)`,
    );
  }
  const near = LLAMA_CPP_PRE_TOKENIZERS.find((p) => p.regexes.length === regexes.length);
  const diff = near
    ? `split ${regexes.findIndex((r, i) => r !== near.regexes[i])} differs from llama.cpp's '${near.name}'`
    : `${regexes.length} regex split(s) match none`;
  return refuse(
    'pre_tokenizer',
    `${diff}; llama.cpp knows ${LLAMA_CPP_PRE_TOKENIZERS.map((p) => `'${p.name}'`).join(', ')}`,
  );
}

/** Converter's `does_token_look_special`. */
function looksSpecial(t: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) ||
    (t.startsWith('<|') && t.endsWith('|>')) ||
    (t.startsWith('<｜') && t.endsWith('｜>')) ||
    (t.startsWith('<unused') && t.endsWith('>'))
  );
}

/**
 * `tok` as llama.cpp's vocabulary for a model of `vocabSize` ids (the fields of src/io/gguf_model.ts's `GgufVocab`,
 * plus `notes` for the export report). Throws one line naming a setting llama.cpp cannot represent.
 */
export function ggufVocab(tok: Tokenizer, vocabSize: number) {
  const json = tok.toJSON() as { normalizer: unknown; model: Record<string, unknown> };
  const notes: string[] = [];
  if (tok.vocabSize > vocabSize)
    refuse(
      `size ${tok.vocabSize}`,
      `exceeds the model's vocab_size ${vocabSize} (llama.cpp needs one embedding row per token)`,
    );
  const norm = json.normalizer;
  if (norm !== null && norm !== undefined) {
    if (isObj(norm) && norm.type === 'NFC')
      notes.push(
        "the tokenizer's NFC normalizer is not applied by llama.cpp (text that is not NFC tokenizes differently)",
      );
    else refuse(`normalizer ${JSON.stringify(isObj(norm) ? norm.type : norm)}`, "llama.cpp's gpt2 vocabulary has none");
  }
  if (json.model.ignore_merges === true)
    refuse('model.ignore_merges true', "llama.cpp's deepseek-v3, qwen2 and gpt-2 pre-tokenizers merge every word");
  const pre = llamaCppPreTokenizer(tok);
  for (const t of tok.addedTokens) {
    for (const flag of ['lstrip', 'rstrip', 'single_word'] as const)
      if (t[flag])
        refuse(`added token ${JSON.stringify(t.content)} ${flag} true`, 'llama.cpp reads no such flag from GGUF');
  }

  // What the post-processor wraps around a text: llama.cpp can add BOS before and EOS after, nothing else.
  const bare = tok.encode('a', { addSpecialTokens: false });
  const full = tok.encode('a');
  const at = full.findIndex((_, i) => bare.every((id, j) => full[i + j] === id));
  if (at < 0) refuse('post_processor', 'changes the text tokens themselves; llama.cpp can only add BOS and EOS');
  const before = full.slice(0, at);
  const after = full.slice(at + bare.length);
  const only = (ids: number[], id: number | null, what: string): boolean => {
    if (ids.length === 0) return false;
    if (ids.length === 1 && ids[0] === id) return true;
    return refuse(
      'post_processor',
      `adds ids [${ids}] ${what} the text; llama.cpp can add only the ${what === 'before' ? 'BOS' : 'EOS'} token`,
    );
  };
  const addBos = only(before, tok.bosId, 'before');
  const addEos = only(after, tok.eosId, 'after');

  const tokens: string[] = [];
  const tokenTypes: number[] = [];
  const added = new Map(tok.addedTokens.map((t) => [t.id, t]));
  for (let id = 0; id < vocabSize; id++) {
    const a = added.get(id);
    if (a) {
      const control = a.special || looksSpecial(a.content);
      tokens.push(control ? a.content : a.content.replaceAll('\u2581', ' '));
      tokenTypes.push(control ? LLAMA_TOKEN_TYPE.control : LLAMA_TOKEN_TYPE.userDefined);
      continue;
    }
    const t = tok.model.idToToken[id];
    tokens.push(t ?? `[PAD${id}]`);
    tokenTypes.push(t === undefined ? LLAMA_TOKEN_TYPE.unused : LLAMA_TOKEN_TYPE.normal);
  }
  const template = tok.config.chat_template;
  return {
    pre,
    tokens,
    tokenTypes,
    merges: tok.model.merges.map(([a, b]) => `${a} ${b}`),
    bosId: tok.bosId,
    eosId: tok.eosId,
    padId: tok.padId,
    addBos,
    addEos,
    chatTemplate: typeof template === 'string' ? template : null,
    notes,
  };
}
