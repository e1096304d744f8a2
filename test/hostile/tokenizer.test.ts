/**
 * Issue 16 item 14: tokenizer.json is code-like input. Ids that collide (an added token on a vocabulary id, two
 * vocabulary entries on one id) are errors naming the field; a pre-tokenizer regex with catastrophic backtracking
 * (`(a+)+$`) is refused when the tokenizer is loaded instead of hanging every command that uses it; the pre-tokenizers
 * real models ship stay accepted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { GPT2_PATTERN, QWEN2_PATTERN, DEEPSEEK_V3_WORD_PATTERN } from '../../src/data/pretokenize.js';
import { assertFails, cli, copyModelDir, makeModelDir, smallTokenizer, tmpDir } from './helpers.js';

/** A Split-then-ByteLevel pre-tokenizer with `regex`. */
const splitWith = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
});

describe('hostile: tokenizer.json (item 14)', () => {
  let dir = '';
  let base: Record<string, unknown>;
  before(async () => {
    dir = tmpDir('tok');
    base = (await smallTokenizer()).toJSON();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const model = () => base.model as { vocab: Record<string, number> } & Record<string, unknown>;

  it('an added token whose id is a vocabulary id of another token is an error', () => {
    const added = base.added_tokens as { id: number; content: string }[];
    const collide = added.map((t, i) => (i === 2 ? { ...t, id: model().vocab.Ġ } : t));
    assert.throws(
      () => Tokenizer.fromJSON({ ...base, added_tokens: collide }, {}, 't.json'),
      (e: Error) =>
        e.message ===
        `t.json: added_tokens[2].id: ${model().vocab.Ġ} of ${JSON.stringify(added[2].content)} collides with vocabulary token "Ġ"`,
    );
    const twice = added.map((t, i) => (i === 3 ? { ...t, id: added[0].id } : t));
    assert.throws(
      () => Tokenizer.fromJSON({ ...base, added_tokens: twice }, {}, 't.json'),
      /added_tokens\[3\]\.id: \d+ is given to both/,
    );
    // the same token in the vocabulary and in added_tokens with the same id (GPT-2's <|endoftext|>) is fine
    const vocab = { ...model().vocab, [added[0].content]: added[0].id };
    assert.equal(
      Tokenizer.fromJSON({ ...base, model: { ...model(), vocab } }).tokenToId(added[0].content),
      added[0].id,
    );
  });

  it('two vocabulary entries with one id are an error', () => {
    const vocab = { ...model().vocab, zz: model().vocab.a };
    assert.throws(
      () => Tokenizer.fromJSON({ ...base, model: { ...model(), vocab } }, {}, 't.json'),
      (e: Error) => e.message === `t.json: model.vocab: id ${model().vocab.a} is given to both "a" and "zz"`,
    );
  });

  it('a catastrophically backtracking regex is refused at load (generate does not hang); real ones pass', async () => {
    for (const re of ['(a+)+$', '(a|a)*b', '(\\w+\\s?)*$', '([a-z]*)*$', '(?:a|aa){2,}$', '((ab)*c?)+']) {
      assert.throws(
        () => Tokenizer.fromJSON({ ...base, pre_tokenizer: splitWith(re) }, {}, 't.json'),
        /^Error: t\.json: pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex: regex can backtrack exponentially \(the repeated group/,
        re,
      );
    }
    // the pre-tokenizers real models ship pass the screen (GPT-2, Llama 3, Qwen2, DeepSeek-V3, GPT-4o)
    const llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const o200k =
      "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    for (const re of [GPT2_PATTERN, QWEN2_PATTERN, DEEPSEEK_V3_WORD_PATTERN, llama3, o200k, '\\p{N}{1,3}', '(ab)+']) {
      const tok = Tokenizer.fromJSON({ ...base, pre_tokenizer: splitWith(re) });
      assert.equal(
        tok.decode(tok.encode("It's 1234 o'clock!\n\n  ok", { addSpecialTokens: false })),
        "It's 1234 o'clock!\n\n  ok",
      );
    }
    const m = path.join(dir, 'model');
    await makeModelDir(m, 128);
    const evil = path.join(dir, 'evil');
    copyModelDir(m, evil);
    const tj = JSON.parse(fs.readFileSync(path.join(evil, 'tokenizer.json'), 'utf8'));
    fs.writeFileSync(path.join(evil, 'tokenizer.json'), JSON.stringify({ ...tj, pre_tokenizer: splitWith('(a+)+$') }));
    const r = cli(['generate', '--model', evil, '--prompt', `${'a'.repeat(40)}!`, '--max-tokens', '2'], {
      timeoutMs: 20_000,
    });
    assertFails(
      r,
      /tokenizer\.json: pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex: regex can backtrack exponentially/,
    );
  });
});
