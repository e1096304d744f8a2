/**
 * Parity with Hugging Face tokenizers: the same tokenizer.json must give the same ids (and decode to the same text) in
 * r1ts and in the Rust `tokenizers` library (npm package `tokenizers`, the official Node binding; its prebuilt binary
 * ships inside the registry package, nothing is downloaded at run time). It is a devDependency, used only here.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Generator, Tokenizer, PRE_TOKENIZER_PRESETS } from '../../src/index.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hf = require('tokenizers') as {
  Tokenizer: {
    fromString(s: string): {
      encode(text: string, pair: null, opts: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }>;
      decode(ids: number[], skipSpecial: boolean): Promise<string>;
    };
  };
};

const CORPUS = [
  "The quick brown fox jumps over the lazy dog. It's 12:45 and we'll see 3.14159 apples!",
  'What is 4821 + 1937? <think>\n1 + 7 + 0 = 8, write 8 carry 0\n</think>\n<answer>6758</answer>',
  'Ünïcödé façade naïve café — «quotes» and ‘single’ quotes; ÀÉÎÕÜ ß',
  '日本語のテキストです。カタカナとひらがな。中文字符和标点符号，还有数字１２３。',
  'emoji 😀😃👍🏽👨‍👩‍👧 🇯🇵 and symbols ∑∫√∞ ≤ ≥ ≠ → ←',
  '    indented code\n\tdef f(x):\n\t\treturn x ** 2  # comment\n\n\n',
  'CamelCaseWords and snake_case_words, URLs like https://example.com/a?b=c&d=e.',
  '¡Hola! ¿Qué tal? Привет, как дела? Γειά σου κόσμε. مرحبا بالعالم',
];

const PIECES = [
  'a',
  'b',
  'Z',
  'the',
  'The',
  ' ',
  '  ',
  '   ',
  '\n',
  '\n\n',
  '\t',
  '\r\n',
  '\r',
  '0',
  '7',
  '42',
  '123',
  '12345',
  '.',
  ',',
  '!',
  '?',
  '-',
  '_',
  "'s",
  "'T",
  "'ll",
  'é',
  'ü',
  'ß',
  'İ',
  '日',
  '本',
  'の',
  'カ',
  '中',
  '，',
  '😀',
  '👍🏽',
  '\u200d',
  '\u0085',
  '\u00a0',
  '\ufeff',
  '\u3000',
  '\u2028',
  'x',
  'hello',
  'World',
  '<think>',
  '</think>',
  '<answer>',
  '<｜end▁of▁sentence｜>',
  '<｜begin▁of▁sentence｜>',
  '<',
  '>',
  '|',
  '▁',
  'Ġ',
  '://',
  '$',
  '()',
  '**',
];

/** Seeded random strings built from awkward pieces. */
function fuzz(n: number, seed: number): string[] {
  const g = new Generator(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(g.uniform(1, 'float64')[0] * 25);
    const idx = g.integers(len, 0, PIECES.length);
    out.push(Array.from(idx, (k) => PIECES[k]).join(''));
  }
  return out;
}

const FIXED = [
  '',
  'Hello world',
  'Hello  world   with    runs of spaces     ',
  '   leading and trailing   ',
  'line one\nline two\n\n\nline after blanks\r\nwindows line\r\n',
  'digits 0 1 12 123 1234 12345 1234567890 and 3.14159, -42, 1,234,567',
  'What is 347 * 26? <think>347 * 6 = 2082</think><answer>9022</answer>',
  'special in the middle<｜end▁of▁sentence｜>and<｜begin▁of▁sentence｜>again<think></think>',
  'café naïve résumé Ünïcödé',
  '日本語のテキスト、中文字符。カタカナ',
  'emoji 😀👍🏽👨‍👩‍👧 ok 🇯🇵',
  "it's don't I'm we'll they've IT'S DON'T",
  'a\u0085b\ufeffc \u00a0 d\u3000e\u2028f',
  ...CORPUS,
];

async function hfIds(tok: ReturnType<typeof hf.Tokenizer.fromString>, text: string, add: boolean): Promise<number[]> {
  return (await tok.encode(text, null, { addSpecialTokens: add })).getIds();
}

/** Asserts identical ids for every text; reports the first few mismatches. */
async function assertParity(json: Record<string, unknown>, texts: string[], add = false): Promise<void> {
  const mine = Tokenizer.fromJSON(json);
  const theirs = hf.Tokenizer.fromString(JSON.stringify(json));
  const bad: string[] = [];
  for (const t of texts) {
    const a = mine.encode(t, { addSpecialTokens: add });
    const b = await hfIds(theirs, t, add);
    if (a.length !== b.length || a.some((v, i) => v !== b[i]))
      bad.push(`${JSON.stringify(t)}\n  r1ts ${a.join(' ')}\n  hf   ${b.join(' ')}`);
  }
  assert.equal(bad.length, 0, `${bad.length}/${texts.length} texts differ:\n${bad.slice(0, 5).join('\n')}`);
}

let base: Record<string, unknown>;

describe('tokenizer parity with Hugging Face tokenizers (Rust)', () => {
  before(async () => {
    const texts: string[] = [];
    for (let i = 0; i < 40; i++) for (const c of CORPUS) texts.push(`${c} ${i} ${c.slice(i % 7)}`);
    const tok = await Tokenizer.train(texts, { vocabSize: 1200, minFrequency: 2 });
    base = tok.toJSON();
    assert.ok((base.model as { merges: unknown[] }).merges.length > 400, 'the test tokenizer should have many merges');
  });

  const texts = (): string[] => [...FIXED, ...fuzz(250, 7)];

  it('trained tokenizer (r1ts pre-tokenizer, BOS post-processor): ids agree, with and without special tokens', async () => {
    await assertParity(base, texts(), false);
    await assertParity(base, FIXED, true);
  });

  it("DeepSeek-V3's pre-tokenizer (digits in threes, CJK runs, its word regex)", async () => {
    await assertParity({ ...base, pre_tokenizer: PRE_TOKENIZER_PRESETS['deepseek-v3'] }, texts());
  });

  it("Qwen2's pre-tokenizer ((?i:...) contractions) with an NFC normalizer", async () => {
    await assertParity({ ...base, pre_tokenizer: PRE_TOKENIZER_PRESETS.qwen2, normalizer: { type: 'NFC' } }, [
      ...texts(),
      'e\u0301 combining',
      'Å vs A\u030a',
    ]);
  });

  it('GPT-2 ByteLevel regex with add_prefix_space, ByteLevel post-processor, [a, b] merges, NFKC', async () => {
    const model = base.model as { merges: string[] };
    await assertParity(
      {
        ...base,
        normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }] },
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        model: { ...model, merges: model.merges.map((m) => m.split(' ')) },
      },
      [...texts(), 'ﬁ ligature ① ＡＢＣ'],
    );
  });

  for (const invert of [false, true]) {
    it(`Split behaviours (Removed, MergedWithPrevious, MergedWithNext, Contiguous; invert=${invert}) and Lowercase`, async () => {
      const split = (pattern: object, behavior: string) => ({ type: 'Split', pattern, behavior, invert });
      await assertParity(
        {
          ...base,
          normalizer: { type: 'Lowercase' },
          pre_tokenizer: {
            type: 'Sequence',
            pretokenizers: [
              split({ String: ' ' }, 'MergedWithPrevious'),
              split({ Regex: '\\p{N}+' }, 'MergedWithNext'),
              split({ Regex: '[,.!?]' }, 'Contiguous'),
              split({ Regex: 'q' }, 'Removed'),
              { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
            ],
          },
        },
        texts(),
      );
    });
  }

  it('added tokens with lstrip, rstrip, single_word and normalized=true; ignore_merges', async () => {
    const added = (base.added_tokens as Record<string, unknown>[]).map((t) => ({ ...t }));
    const next = Math.max(...added.map((t) => t.id as number)) + 1;
    added.push(
      { id: next, content: '<L>', single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
      {
        id: next + 1,
        content: '<R>',
        single_word: false,
        lstrip: false,
        rstrip: true,
        normalized: false,
        special: true,
      },
      {
        id: next + 2,
        content: 'cat',
        single_word: true,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: false,
      },
      {
        id: next + 3,
        content: 'dog',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: false,
      },
    );
    const json = {
      ...base,
      normalizer: { type: 'Lowercase' },
      added_tokens: added,
      model: { ...(base.model as object), ignore_merges: true },
    };
    await assertParity(json, [
      ...texts(),
      'a   <L>b',
      'a<R>   b',
      '  <L>  <R>  ',
      'cat concat cats the cat. (cat) cat',
      'DOG dog Dog hotdog',
      'x <L><R> y',
    ]);
  });

  it('decode agrees, including ids that split UTF-8 characters and skipping special tokens', async () => {
    const mine = Tokenizer.fromJSON(base);
    const theirs = hf.Tokenizer.fromString(JSON.stringify(base));
    const g = new Generator(3);
    const bad: string[] = [];
    for (let i = 0; i < 200; i++) {
      const ids = Array.from(g.integers(1 + (i % 12), 0, mine.vocabSize));
      for (const skip of [false, true]) {
        const a = mine.decode(ids, { skipSpecialTokens: skip });
        const b = await theirs.decode(ids, skip);
        if (a !== b) bad.push(`${ids.join(' ')} (skip=${skip}): r1ts ${JSON.stringify(a)} hf ${JSON.stringify(b)}`);
      }
    }
    for (const t of FIXED) {
      const ids = mine.encode(t, { addSpecialTokens: false });
      const b = await theirs.decode(ids, false);
      if (b !== t) bad.push(`hf decode of ${JSON.stringify(t)} gave ${JSON.stringify(b)}`);
    }
    assert.equal(bad.length, 0, bad.slice(0, 5).join('\n'));
  });
});
