/**
 * Byte-level BPE tokenizer (GPT-2 / Qwen2 / DeepSeek-V3 style) that reads and writes Hugging Face `tokenizer.json`.
 *
 * Encoding follows the Hugging Face pipeline: added tokens (special tokens, `<think>`, ...) are matched first in the raw
 * text (leftmost-longest); the text between them is normalized, pre-tokenized (regex splits), mapped to byte
 * characters and merged by BPE rank. Decoding maps tokens back to bytes and UTF-8, so `decode(encode(s)) === s` for
 * every well-formed string s (with no normalizer, as in tokenizers trained here and DeepSeek's).
 *
 * Supported tokenizer.json: `model.type` BPE (vocab + merges as "a b" strings or [a, b] pairs, optional unk_token,
 * fuse_unk, ignore_merges), `added_tokens` (lstrip, rstrip, single_word, normalized, special), normalizers and
 * pre-tokenizers of pretokenize.ts, `post_processor` null / ByteLevel / TemplateProcessing / Sequence, `decoder`
 * ByteLevel. Everything else (byte_fallback, dropout, WordPiece, Metaspace, truncation, padding, ...) is an error naming
 * the field. tokenizer_config.json (bos/eos/pad tokens, chat template) is read beside it when present.
 *
 * Trust model: tokenizer.json is code-like input, as in transformers: its pre-tokenizer regexes run on every text we
 * encode, so load tokenizers only from sources you trust. What is checked anyway: structure (ids that collide or
 * repeat, ids out of range, Sequences nested more than 32 deep: errors naming the field), size (files over 256 MB,
 * FIFOs and devices are refused unopened) and regexes whose backtracking is exponential (refused at load,
 * regex_safety.ts). See docs/reliability.md.
 *
 * Deviation from DeepSeek-V3: tokenizers trained here split digits one by one by default (pre-tokenizer preset `r1ts`);
 * DeepSeek's own groups of up to three digits are `preTokenizer: 'deepseek-v3'`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type FileAccessError, readTextFile } from '../util/files.js';
import { jsonPreview } from '../util/format.js';
import { BYTE_CHARS, appendTokenBytes, decodeUtf8, toByteLevel } from './bytelevel.js';
import { BpeModel, MAX_VOCAB } from './bpe.js';
import { trainBpe } from './bpe_train.js';
import {
  compileNormalizer,
  compilePreTokenizer,
  isWhiteSpace,
  MAX_NESTING,
  PRE_TOKENIZER_PRESETS,
  type NormalizeFn,
  type PreTokenizeFn,
  type PreTokenizerConfig,
} from './pretokenize.js';

/** Largest tokenizer.json / tokenizer_config.json read (DeepSeek-V3's tokenizer.json is 8 MB). */
export const MAX_TOKENIZER_BYTES = 256 << 20;

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  /** Special tokens are dropped by `decode(..., { skipSpecialTokens: true })`. */
  special: boolean;
}

/** A special/added token to create when training. */
export interface SpecialTokenSpec {
  content: string;
  /** Default true. `<think>`-style tags are added as non-special, as in DeepSeek-R1, so decoding keeps them. */
  special?: boolean;
}

/** DeepSeek's sentence tokens (full-width bars, U+2581 spaces) and chat roles, plus R1's reasoning tags. */
export const DEFAULT_SPECIAL_TOKENS: readonly SpecialTokenSpec[] = [
  { content: '<｜begin▁of▁sentence｜>' },
  { content: '<｜end▁of▁sentence｜>' },
  { content: '<｜▁pad▁｜>' },
  { content: '<｜User｜>', special: false },
  { content: '<｜Assistant｜>', special: false },
  { content: '<think>', special: false },
  { content: '</think>', special: false },
  { content: '<answer>', special: false },
  { content: '</answer>', special: false },
];

/** Well-known names, used when no tokenizer_config.json says which token is BOS/EOS/pad. */
const KNOWN_BOS = ['<｜begin▁of▁sentence｜>', '<|begin_of_text|>', '<s>', '<|startoftext|>'];
const KNOWN_EOS = ['<｜end▁of▁sentence｜>', '<|end_of_text|>', '<|endoftext|>', '</s>', '<|im_end|>'];
const KNOWN_PAD = ['<｜▁pad▁｜>', '<pad>', '<|pad|>', '<|endoftext|>'];

/** The tokenizer_config.json fields r1ts reads and writes. */
export interface TokenizerConfig {
  bos_token?: string | null;
  eos_token?: string | null;
  pad_token?: string | null;
  chat_template?: string | null;
  [key: string]: unknown;
}

export interface TokenizerEncodeOptions {
  /** Apply the post-processor (e.g. prepend BOS), like Hugging Face's default. Default true. */
  addSpecialTokens?: boolean;
}

export interface TokenizerDecodeOptions {
  /** Drop tokens marked `special` (BOS, EOS, pad; not `<think>`). Default false. */
  skipSpecialTokens?: boolean;
}

export interface TokenizerTrainOptions {
  /** Total vocabulary size including the special tokens. */
  vocabSize: number;
  /** Added tokens, appended after the BPE vocabulary in this order (default DEFAULT_SPECIAL_TOKENS). */
  specialTokens?: readonly SpecialTokenSpec[];
  /** Pairs seen fewer times are not merged (default 2). */
  minFrequency?: number;
  /** A preset name of PRE_TOKENIZER_PRESETS or a tokenizer.json pre_tokenizer object (default 'r1ts'). */
  preTokenizer?: string | PreTokenizerConfig;
  /** Token prepended by the post-processor (default the first special token); null for none. */
  bosToken?: string | null;
  /** End-of-sequence token (default the second special token). */
  eosToken?: string | null;
  padToken?: string | null;
  chatTemplate?: string | null;
  /** Progress callback: phase 'count' (texts, bytes so far) or 'merge' (merges done, merges wanted). */
  onProgress?: (phase: 'count' | 'merge', done: number, total: number) => void;
}

type PostItem = { kind: 'special'; ids: number[] } | { kind: 'sequence' };

interface Parsed {
  model: BpeModel;
  added: AddedToken[];
  normalizer: NormalizeFn | null;
  pre: PreTokenizeFn;
  post: PostItem[] | null;
  raw: {
    normalizer: unknown;
    pre_tokenizer: unknown;
    post_processor: unknown;
    decoder: unknown;
    model: Record<string, unknown>;
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);

/** Byte-level BPE tokenizer; see the file header. */
export class Tokenizer {
  readonly model: BpeModel;
  readonly addedTokens: readonly AddedToken[];
  /** tokenizer_config.json fields (bos/eos/pad token names, chat template, ...). */
  config: TokenizerConfig;
  private readonly normalizer: NormalizeFn | null;
  private readonly pre: PreTokenizeFn;
  private readonly post: PostItem[] | null;
  private readonly raw: Parsed['raw'];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly rawMatcher: RegExp | null;
  private readonly normMatcher: RegExp | null;
  private maxBytes: number | undefined;

  private constructor(p: Parsed, config: TokenizerConfig) {
    this.model = p.model;
    this.addedTokens = p.added;
    this.normalizer = p.normalizer;
    this.pre = p.pre;
    this.post = p.post;
    this.raw = p.raw;
    this.config = config;
    for (const t of p.added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    const matcher = (toks: AddedToken[]): RegExp | null => {
      if (toks.length === 0) return null;
      const sorted = [...toks].sort((a, b) => b.content.length - a.content.length || (a.content < b.content ? -1 : 1));
      return new RegExp(sorted.map((t) => escapeRe(t.content)).join('|'), 'gu');
    };
    // Tokens with normalized=false (all special ones) are found in the raw text; the others after normalization.
    this.rawMatcher = matcher(p.added.filter((t) => !t.normalized || !this.normalizer));
    this.normMatcher = this.normalizer ? matcher(p.added.filter((t) => t.normalized)) : null;
  }

  // ---------------------------------------------------------------- loading and saving

  /**
   * Parses a tokenizer.json object. `source` names the file in error messages. Unsupported configurations throw an
   * error naming the field: `tokenizer.json: model.byte_fallback: true is not supported (byte-level BPE only)`.
   */
  static fromJSON(json: unknown, config: TokenizerConfig = {}, source = 'tokenizer.json'): Tokenizer {
    const tok = new Tokenizer(parseTokenizerJson(json, source), config);
    if (config.bos_token === undefined && config.eos_token === undefined)
      tok.config = { ...config, ...tok.guessSpecialNames() };
    return tok;
  }

  /**
   * Loads a tokenizer.json file, or a directory holding one, and the tokenizer_config.json beside it if present.
   */
  static load(path: string): Tokenizer {
    const file = existsSync(join(path, 'tokenizer.json')) ? join(path, 'tokenizer.json') : path;
    let text: string;
    try {
      text = readTextFile(file, 'tokenizer', MAX_TOKENIZER_BYTES);
    } catch (e) {
      const f = e as FileAccessError;
      throw new Error(f.code ? `tokenizer: cannot read ${file} (${f.code})` : f.message);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
    }
    const cfgFile = join(dirname(file), 'tokenizer_config.json');
    let config: TokenizerConfig = {};
    if (existsSync(cfgFile)) {
      const cfgText = readTextFile(cfgFile, 'tokenizer', MAX_TOKENIZER_BYTES);
      try {
        config = JSON.parse(cfgText) as TokenizerConfig;
      } catch (e) {
        throw new Error(`${cfgFile}: invalid JSON (${(e as Error).message})`);
      }
      if (!isObj(config)) throw new Error(`${cfgFile}: expected a JSON object`);
      for (const k of ['bos_token', 'eos_token', 'pad_token'] as const) {
        const v = config[k] as unknown;
        if (isObj(v) && typeof v.content === 'string') config[k] = v.content; // {"content": ..., "__type": "AddedToken"}
      }
    }
    return Tokenizer.fromJSON(json, config, file);
  }

  /** The Hugging Face tokenizer.json object. */
  toJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    this.model.idToToken.forEach((t, id) => {
      if (t !== undefined) vocab[t] = id;
    });
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.addedTokens.map((t) => ({ ...t })),
      normalizer: this.raw.normalizer ?? null,
      pre_tokenizer: this.raw.pre_tokenizer,
      post_processor: this.raw.post_processor ?? null,
      decoder: this.raw.decoder,
      model: { ...this.raw.model, vocab, merges: this.model.merges.map(([a, b]) => `${a} ${b}`) },
    };
  }

  /** The tokenizer_config.json object (special token names, chat template). */
  toConfigJSON(): TokenizerConfig {
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
      ...this.config,
      added_tokens_decoder: Object.fromEntries(this.addedTokens.map((t) => [String(t.id), { ...t, id: undefined }])),
    };
  }

  /** Writes tokenizer.json to `path`; with `configPath`, tokenizer_config.json too. Missing directories are created. */
  save(path: string, configPath?: string): void {
    mkdirSync(dirname(path), { recursive: true });
    if (configPath) mkdirSync(dirname(configPath), { recursive: true });
    writeFileSync(path, JSON.stringify(this.toJSON(), null, 2) + '\n');
    if (configPath) writeFileSync(configPath, JSON.stringify(this.toConfigJSON(), null, 2) + '\n');
  }

  /** Writes tokenizer.json and tokenizer_config.json into directory `dir`. */
  saveDir(dir: string): void {
    this.save(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  }

  private guessSpecialNames(): TokenizerConfig {
    const pick = (names: string[]): string | null => names.find((n) => this.addedByContent.has(n)) ?? null;
    return { bos_token: pick(KNOWN_BOS), eos_token: pick(KNOWN_EOS), pad_token: pick(KNOWN_PAD) };
  }

  // ---------------------------------------------------------------- training

  /**
   * Trains a byte-level BPE tokenizer on `texts` (deterministic: the same texts and options give the same
   * tokenizer.json). Special tokens never take part in merges and get the last ids.
   */
  static async train(texts: Iterable<string> | AsyncIterable<string>, opts: TokenizerTrainOptions): Promise<Tokenizer> {
    const specials = opts.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
    const seen = new Set<string>();
    for (const s of specials) {
      if (!s.content) throw new Error('tokenizer: empty special token');
      if (seen.has(s.content)) throw new Error(`tokenizer: special token ${JSON.stringify(s.content)} listed twice`);
      seen.add(s.content);
    }
    const bpeSize = opts.vocabSize - specials.length;
    if (!Number.isInteger(opts.vocabSize) || bpeSize < 256) {
      throw new Error(
        `tokenizer: vocab size must be at least 256 + ${specials.length} special tokens = ${256 + specials.length}, got ${opts.vocabSize}`,
      );
    }
    const preCfg =
      typeof opts.preTokenizer === 'object' ? opts.preTokenizer : PRE_TOKENIZER_PRESETS[opts.preTokenizer ?? 'r1ts'];
    if (!preCfg)
      throw new Error(
        `tokenizer: unknown pre-tokenizer '${opts.preTokenizer}' (known: ${Object.keys(PRE_TOKENIZER_PRESETS).join(', ')})`,
      );
    const pre = compilePreTokenizer(preCfg);
    const splitRe = new RegExp(
      specials
        .map((s) => escapeRe(s.content))
        .sort((a, b) => b.length - a.length)
        .join('|'),
      'gu',
    );

    const counts = new Map<string, number>();
    const pieceCounts = new Map<string, number>();
    let nTexts = 0;
    let nChars = 0;
    const pieces: string[] = [];
    for await (const text of texts as AsyncIterable<string>) {
      pieces.length = 0;
      for (const seg of text.split(splitRe)) pre(seg, pieces);
      for (const p of pieces) pieceCounts.set(p, (pieceCounts.get(p) ?? 0) + 1);
      nTexts++;
      nChars += text.length;
      if (opts.onProgress && nTexts % 5000 === 0) opts.onProgress('count', nTexts, nChars);
    }
    for (const [p, c] of pieceCounts) {
      const w = toByteLevel(p);
      counts.set(w, (counts.get(w) ?? 0) + c);
    }
    opts.onProgress?.('count', nTexts, nChars);
    const { vocab, merges } = trainBpe(counts, {
      vocabSize: bpeSize,
      minFrequency: opts.minFrequency,
      onProgress: opts.onProgress ? (d, t) => opts.onProgress?.('merge', d, t) : undefined,
    });
    const base = vocab.size;
    const added: AddedToken[] = specials.map((s, i) => ({
      id: base + i,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: s.special ?? true,
    }));
    const bos = opts.bosToken === undefined ? (specials[0]?.content ?? null) : opts.bosToken;
    const eos = opts.eosToken === undefined ? (specials[1]?.content ?? null) : opts.eosToken;
    const pad =
      opts.padToken === undefined ? (specials.find((s) => /pad/i.test(s.content))?.content ?? null) : opts.padToken;
    for (const [name, v] of [
      ['bos', bos],
      ['eos', eos],
      ['pad', pad],
    ] as const) {
      if (v !== null && !seen.has(v))
        throw new Error(`tokenizer: ${name} token ${JSON.stringify(v)} is not one of the special tokens`);
    }
    const bosId = bos === null ? -1 : added.find((t) => t.content === bos)!.id;
    const json = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      normalizer: null,
      pre_tokenizer: preCfg,
      post_processor:
        bos === null
          ? null
          : {
              type: 'TemplateProcessing',
              single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
              pair: [
                { SpecialToken: { id: bos, type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
                { SpecialToken: { id: bos, type_id: 1 } },
                { Sequence: { id: 'B', type_id: 1 } },
              ],
              special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
            },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(vocab),
        merges: merges.map(([a, b]) => `${a} ${b}`),
      },
    };
    return Tokenizer.fromJSON(json, {
      bos_token: bos,
      eos_token: eos,
      pad_token: pad,
      add_bos_token: bos !== null,
      add_eos_token: false,
      ...(opts.chatTemplate ? { chat_template: opts.chatTemplate } : {}),
    });
  }

  // ---------------------------------------------------------------- encoding and decoding

  /**
   * The most input bytes one token can cover, when every input byte ends up in exactly one token: no normalizer, every
   * byte in the vocabulary (or an unfused unk token), no added token that strips whitespace. A text of N bytes then
   * has at least ceil(N / maxBytesPerToken) tokens (src/infer/context.ts bounds prompts with it before encoding).
   * Infinity when the tokenizer lacks the property.
   */
  get maxBytesPerToken(): number {
    if (this.maxBytes === undefined)
      this.maxBytes = computeMaxBytesPerToken(this.model, this.addedTokens, this.normalizer);
    return this.maxBytes;
  }

  /** Total number of ids (BPE vocabulary and added tokens). */
  get vocabSize(): number {
    let n = this.model.size;
    for (const t of this.addedTokens) n = Math.max(n, t.id + 1);
    return n;
  }

  /** The id of a token string (vocabulary or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken[id];
  }

  private specialId(name: 'bos_token' | 'eos_token' | 'pad_token'): number | null {
    const t = this.config[name];
    if (typeof t !== 'string') return null;
    const id = this.tokenToId(t);
    if (id === undefined) throw new Error(`tokenizer: ${name} ${JSON.stringify(t)} is not in the vocabulary`);
    return id;
  }

  /** Beginning-of-sequence id (tokenizer_config `bos_token`), or null. */
  get bosId(): number | null {
    return this.specialId('bos_token');
  }
  /** End-of-sequence id (tokenizer_config `eos_token`), or null. */
  get eosId(): number | null {
    return this.specialId('eos_token');
  }
  /** Padding id (tokenizer_config `pad_token`), or null. */
  get padId(): number | null {
    return this.specialId('pad_token');
  }

  /** Whether `id` is a special added token (dropped by skipSpecialTokens). */
  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special ?? false;
  }

  /**
   * Text to token ids. With `addSpecialTokens` (default true, as in Hugging Face) the post-processor runs, which for
   * tokenizers trained here prepends BOS.
   */
  encode(text: string, opts: TokenizerEncodeOptions = {}): number[] {
    const ids: number[] = [];
    this.splitAdded(text, this.rawMatcher, ids, (seg) => {
      const norm = this.normalizer ? this.normalizer(seg) : seg;
      this.splitAdded(norm, this.normMatcher, ids, (s) => this.encodePlain(s, ids));
    });
    if ((opts.addSpecialTokens ?? true) && this.post) {
      const out: number[] = [];
      for (const item of this.post) {
        if (item.kind === 'special') out.push(...item.ids);
        else for (const id of ids) out.push(id);
      }
      return out;
    }
    return ids;
  }

  /** Encodes text that contains no added tokens (normalized already). */
  private encodePlain(text: string, ids: number[]): void {
    if (!text) return;
    const pieces: string[] = [];
    this.pre(text, pieces);
    for (const p of pieces) this.model.encodeWord(p, ids);
  }

  /**
   * Finds added tokens with `re` in `text`, pushes their ids, and calls `rest` on the text between them. Implements
   * single_word, lstrip and rstrip as tokenizers' AddedVocabulary does.
   */
  private splitAdded(text: string, re: RegExp | null, ids: number[], rest: (s: string) => void): void {
    if (!re) {
      rest(text);
      return;
    }
    let from = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const tok = this.addedByContent.get(m[0]) as AddedToken;
      let start = m.index;
      let stop = start + m[0].length;
      if (tok.single_word && (isWordChar(text[start - 1]) || isWordChar(text[stop]))) continue;
      if (tok.lstrip) {
        while (start > from && isWhiteSpace(text[start - 1])) start--;
      }
      if (tok.rstrip) {
        while (stop < text.length && isWhiteSpace(text[stop])) stop++;
        re.lastIndex = stop;
      }
      if (from < start) rest(text.slice(from, start));
      ids.push(tok.id);
      from = stop;
    }
    if (from < text.length) rest(text.slice(from));
  }

  /** Token ids to text. Unknown ids are an error. */
  decode(ids: ArrayLike<number>, opts: TokenizerDecodeOptions = {}): string {
    const bytes: number[] = [];
    const skip = opts.skipSpecialTokens ?? false;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const added = this.addedById.get(id);
      if (added) {
        if (skip && added.special) continue;
        appendTokenBytes(added.content, bytes);
        continue;
      }
      const t = this.model.idToToken[id];
      if (t === undefined)
        throw new RangeError(`tokenizer: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      appendTokenBytes(t, bytes);
    }
    return decodeUtf8(bytes);
  }

  /** The raw bytes of one token (for streaming decoders and stop strings). */
  tokenBytes(id: number): Uint8Array {
    const t = this.idToToken(id);
    if (t === undefined) throw new RangeError(`tokenizer: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
    const out: number[] = [];
    appendTokenBytes(t, out);
    return Uint8Array.from(out);
  }
}

/** See `Tokenizer.maxBytesPerToken`. */
function computeMaxBytesPerToken(
  model: BpeModel,
  added: readonly AddedToken[],
  normalizer: NormalizeFn | null,
): number {
  if (normalizer) return Infinity; // normalizing may shrink the text (NFC composes, NFKC folds)
  if (added.some((t) => t.lstrip || t.rstrip)) return Infinity; // a stripping token covers any run of whitespace
  const unk = model.options.unkToken ?? null;
  if ((unk === null || model.options.fuseUnk) && BYTE_CHARS.some((c) => !model.vocab.has(c))) return Infinity;
  let max = 1;
  for (const t of model.idToToken) if (t !== undefined && t.length > max) max = t.length; // one byte per character
  for (const t of added) max = Math.max(max, Buffer.byteLength(t.content, 'utf8'));
  return max;
}

// -------------------------------------------------------------------- tokenizer.json parsing

function parseTokenizerJson(json: unknown, source: string): Parsed {
  const fail = (field: string, why: string): never => {
    throw new Error(`${source}: ${field}: ${why}`);
  };
  if (!isObj(json)) return fail('(root)', 'expected a JSON object');
  for (const f of ['truncation', 'padding'] as const) {
    if (json[f] !== undefined && json[f] !== null)
      fail(f, 'is not supported (set it to null; r1ts pads and truncates itself)');
  }
  const model = json.model;
  if (!isObj(model)) return fail('model', 'missing');
  if (model.type !== 'BPE') fail('model.type', `unsupported model ${jsonPreview(model.type)} (only BPE)`);
  if (model.byte_fallback === true) fail('model.byte_fallback', 'true is not supported (byte-level BPE only)');
  if (model.dropout !== undefined && model.dropout !== null && model.dropout !== 0)
    fail('model.dropout', 'BPE dropout is not supported');
  for (const f of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[f] !== undefined && model[f] !== null && model[f] !== '')
      fail(`model.${f}`, `${jsonPreview(model[f])} is not supported`);
  }
  if (!isObj(model.vocab)) return fail('model.vocab', 'expected an object of token -> id');
  if (!Array.isArray(model.merges)) return fail('model.merges', 'expected an array');
  const vocab = new Map<string, number>(Object.entries(model.vocab as Record<string, number>));
  const merges: [string, string][] = (model.merges as unknown[]).map((m, i) => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) fail(`model.merges[${i}]`, `expected "a b", got ${jsonPreview(m)}`);
      return [parts[0], parts[1]];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    return fail(`model.merges[${i}]`, `expected "a b" or ["a", "b"], got ${jsonPreview(m)}`);
  });
  if (model.unk_token !== undefined && model.unk_token !== null && typeof model.unk_token !== 'string')
    fail('model.unk_token', 'expected a string or null');
  const bpe = new BpeModel(
    vocab,
    merges,
    {
      unkToken: (model.unk_token as string | null | undefined) ?? null,
      fuseUnk: model.fuse_unk === true,
      ignoreMerges: model.ignore_merges === true,
    },
    `${source}: model`,
  );

  const addedRaw = json.added_tokens ?? [];
  if (!Array.isArray(addedRaw)) return fail('added_tokens', 'expected an array');
  const addedIds = new Map<number, string>();
  const addedContents = new Set<string>();
  const added: AddedToken[] = addedRaw.map((t: unknown, i) => {
    if (!isObj(t) || typeof t.content !== 'string' || !t.content || !Number.isInteger(t.id)) {
      return fail(`added_tokens[${i}]`, 'expected {"id": int, "content": non-empty string, ...}');
    }
    // An id means one token: it may repeat a vocabulary entry (same content, same id, as GPT-2's <|endoftext|>) but
    // never name another string, or decoding and encoding disagree.
    const id = t.id as number;
    const content = t.content;
    const at = `added_tokens[${i}]`;
    if (id < 0 || id >= MAX_VOCAB) fail(`${at}.id`, `${id} is outside [0, ${MAX_VOCAB})`);
    const inVocab = bpe.idToToken[id];
    if (inVocab !== undefined && inVocab !== content)
      fail(
        `${at}.id`,
        `${id} of ${jsonPreview(content, 100)} collides with vocabulary token ${jsonPreview(inVocab, 100)}`,
      );
    const vocabId = bpe.vocab.get(content);
    if (vocabId !== undefined && vocabId !== id)
      fail(`${at}.id`, `${jsonPreview(content, 100)} has id ${id} here but ${vocabId} in the vocabulary`);
    const prev = addedIds.get(id);
    if (prev !== undefined)
      fail(`${at}.id`, `${id} is given to both ${jsonPreview(prev, 100)} and ${jsonPreview(content, 100)}`);
    if (addedContents.has(content)) fail(`${at}.content`, `${jsonPreview(content, 100)} is listed twice`);
    addedIds.set(id, content);
    addedContents.add(content);
    return {
      id: t.id as number,
      content: t.content,
      single_word: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      normalized: t.normalized === true,
      special: t.special === true,
    };
  });

  const wrap = <T>(field: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new Error(
        `${source}: ${(e as Error).message.startsWith(field) ? '' : `${field}: `}${(e as Error).message}`,
      );
    }
  };
  const normalizer = wrap('normalizer', () => compileNormalizer(json.normalizer));
  if (json.pre_tokenizer === undefined || json.pre_tokenizer === null)
    fail('pre_tokenizer', 'missing (byte-level BPE needs a ByteLevel pre-tokenizer)');
  const pre = wrap('pre_tokenizer', () => compilePreTokenizer(json.pre_tokenizer));
  checkDecoder(json.decoder, 'decoder', fail);
  const known = (id: unknown): boolean =>
    typeof id === 'number' && (bpe.idToToken[id] !== undefined || addedIds.has(id));
  const post = parsePost(json.post_processor, 'post_processor', fail, known);
  const { vocab: _v, merges: _m, ...modelRest } = model;
  return {
    model: bpe,
    added,
    normalizer,
    pre,
    post,
    raw: {
      normalizer: json.normalizer,
      pre_tokenizer: json.pre_tokenizer,
      post_processor: json.post_processor,
      decoder: json.decoder,
      model: modelRest,
    },
  };
}

function checkDecoder(d: unknown, where: string, fail: (f: string, why: string) => never, depth = 0): void {
  if (!isObj(d)) fail(where, 'missing (byte-level BPE needs a ByteLevel decoder)');
  const o = d as Record<string, unknown>;
  if (o.type === 'ByteLevel') return;
  if (o.type === 'Sequence' && Array.isArray(o.decoders) && o.decoders.length > 0) {
    if (depth >= MAX_NESTING) fail(where, `Sequences nested more than ${MAX_NESTING} deep`);
    o.decoders.forEach((x, i) => checkDecoder(x, `${where}.decoders[${i}]`, fail, depth + 1));
    return;
  }
  fail(`${where}.type`, `unsupported decoder ${jsonPreview(o.type)} (only ByteLevel)`);
}

function parsePost(
  p: unknown,
  where: string,
  fail: (f: string, why: string) => never,
  known: (id: unknown) => boolean,
  depth = 0,
): PostItem[] | null {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) return fail(where, 'expected an object or null');
  if (p.type === 'ByteLevel') return null; // only adjusts offsets
  if (p.type === 'Sequence') {
    if (depth >= MAX_NESTING) fail(where, `Sequences nested more than ${MAX_NESTING} deep`);
    if (!Array.isArray(p.processors)) return fail(`${where}.processors`, 'expected an array');
    let out: PostItem[] | null = null;
    p.processors.forEach((x, i) => {
      const items = parsePost(x, `${where}.processors[${i}]`, fail, known, depth + 1);
      if (items && out) fail(`${where}.processors[${i}]`, 'only one TemplateProcessing is supported');
      out = items ?? out;
    });
    return out;
  }
  if (p.type !== 'TemplateProcessing')
    return fail(
      `${where}.type`,
      `unsupported post-processor ${jsonPreview(p.type)} (supported: ByteLevel, TemplateProcessing, Sequence)`,
    );
  if (!Array.isArray(p.single)) return fail(`${where}.single`, 'expected an array');
  const specials = isObj(p.special_tokens) ? p.special_tokens : {};
  return p.single.map((item: unknown, i) => {
    if (isObj(item) && isObj(item.Sequence)) return { kind: 'sequence' } as PostItem;
    if (isObj(item) && isObj(item.SpecialToken) && typeof item.SpecialToken.id === 'string') {
      const name = item.SpecialToken.id;
      const st = specials[name];
      if (!isObj(st) || !Array.isArray(st.ids))
        return fail(`${where}.special_tokens`, `no entry for ${jsonPreview(name, 100)}`);
      const bad = st.ids.findIndex((id) => !known(id));
      if (bad >= 0)
        fail(`${where}.special_tokens`, `${jsonPreview(name, 100)}: id ${jsonPreview(st.ids[bad])} is not a token`);
      return { kind: 'special', ids: st.ids as number[] } as PostItem;
    }
    return fail(`${where}.single[${i}]`, 'expected {"Sequence": ...} or {"SpecialToken": ...}');
  });
}
