import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PRE_TOKENIZER_PRESETS, R1_CHAT_TEMPLATE, Tokenizer } from '../../src/index.js';
import {
  LLAMA_CPP_PRE_TOKENIZERS,
  LLAMA_TOKEN_TYPE,
  digitJoiningMerge,
  ggufVocab,
  llamaCppPreTokenizer,
  preTokenizerRegexes,
} from '../../src/data/gguf_vocab.js';
import type { GgufVocab } from '../../src/io/gguf_model.js';

const CORPUS = Array.from(
  { length: 40 },
  (_, i) => `What is ${i * 37} + ${i}? The cat sat. 日本語 naïve <think>${i}</think>`,
);

const train = (pre: string) =>
  Tokenizer.train(CORPUS, { vocabSize: 330, preTokenizer: pre, chatTemplate: R1_CHAT_TEMPLATE });

/** A tokenizer with its tokenizer.json edited. */
function edited(tok: Tokenizer, edit: (json: Record<string, unknown>) => void): Tokenizer {
  const json = JSON.parse(JSON.stringify(tok.toJSON())) as Record<string, unknown>;
  edit(json);
  return Tokenizer.fromJSON(json, tok.config);
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), msg);
    return msg;
  }
  return assert.fail('accepted');
}

describe('llama.cpp pre-tokenizer names', () => {
  it("r1ts's presets deepseek-v3, qwen2 and gpt2 are llama.cpp's deepseek-v3, qwen2 and gpt-2 regex for regex", () => {
    const name = (preset: string) =>
      LLAMA_CPP_PRE_TOKENIZERS.find(
        (p) => JSON.stringify(p.regexes) === JSON.stringify(preTokenizerRegexes(PRE_TOKENIZER_PRESETS[preset])),
      )?.name;
    assert.equal(name('deepseek-v3'), 'deepseek-v3');
    assert.equal(name('qwen2'), 'qwen2');
    assert.equal(name('gpt2'), 'gpt-2');
    assert.equal(name('r1ts'), undefined, 'single digits: no llama.cpp regex list equals it');
  });

  it("a tokenizer trained with the r1ts pre-tokenizer has no digit-joining merge, so it runs as 'deepseek-v3'", async () => {
    const tok = await train('r1ts');
    assert.equal(digitJoiningMerge(tok.model.merges), null);
    assert.equal(llamaCppPreTokenizer(tok), 'deepseek-v3');
    // deepseek-v3's \p{N}{1,3} makes "1234" one piece; with no merge across digits BPE gives each digit alone.
    assert.deepEqual(
      tok.encode('1234', { addSpecialTokens: false }).map((id) => tok.idToToken(id)),
      ['1', '2', '3', '4'],
    );
  });

  it('a merge that joins two digits (ASCII or multi-byte \\p{N}) is found; other multi-byte merges are not', () => {
    assert.deepEqual(
      digitJoiningMerge([
        ['a', 'b'],
        ['1', '2'],
      ]),
      { rank: 1, merge: '1 2' },
    );
    // '½' is C2 BD; 'Â½' + 'Â' joins a whole '½' to the first byte of another.
    assert.deepEqual(digitJoiningMerge([['Â½', 'Â']]), { rank: 0, merge: 'Â½ Â' });
    assert.equal(
      digitJoiningMerge([
        ['Ã©', 'Ã'],
        ['1', 'a'],
        ['x', '2'],
      ]),
      null,
      "'é' is not a number; 1a, x2 are",
    );
  });

  it('refuses the r1ts pre-tokenizer with a digit-joining merge, naming the difference and the merge', async () => {
    const tok = edited(await train('r1ts'), (j) => {
      const m = j.model as { vocab: Record<string, number>; merges: string[] };
      m.vocab['12'] = Math.max(...Object.values(m.vocab)) + 1;
      m.merges.push('1 2');
      (j.added_tokens as { id: number }[]).forEach((t) => {
        t.id += 1;
      });
    });
    const n = tok.model.merges.length - 1;
    assert.equal(
      refusal(() => llamaCppPreTokenizer(tok)),
      `gguf: tokenizer pre_tokenizer 'r1ts': it splits digits one by one (\\p{N}); llama.cpp's nearest, 'deepseek-v3', groups up to three (\\p{N}{1,3}), and merges[${n}] "1 2" joins two digits, so numbers would tokenize differently (train the tokenizer with --pre-tokenizer deepseek-v3)`,
    );
  });

  it('refuses pre-tokenizers llama.cpp has no name for, naming the field', async () => {
    const tok = await train('qwen2');
    const pre = (p: unknown) => refusal(() => llamaCppPreTokenizer(edited(tok, (j) => void (j.pre_tokenizer = p))));
    const split = (regex: string) => ({
      type: 'Split',
      pattern: { Regex: regex },
      behavior: 'Isolated',
      invert: false,
    });
    const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
    assert.equal(
      pre({ type: 'Sequence', pretokenizers: [split('\\p{N}{1,3}| ?\\p{L}+'), bl] }),
      "gguf: tokenizer pre_tokenizer: split 0 differs from llama.cpp's 'qwen2'; llama.cpp knows 'deepseek-v3', 'qwen2', 'gpt-2'",
    );
    assert.equal(
      pre({ ...bl, use_regex: true, add_prefix_space: true }),
      "gguf: tokenizer pre_tokenizer.add_prefix_space true: llama.cpp's gpt2 vocabulary adds no prefix space",
    );
    assert.equal(
      pre({ type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'Isolated' }, bl] }),
      'gguf: tokenizer pre_tokenizer.pretokenizers[0].pattern: llama.cpp splits on regexes, not literal strings',
    );
    assert.equal(
      pre({ type: 'Sequence', pretokenizers: [{ ...split('x'), behavior: 'MergedWithPrevious' }, bl] }),
      'gguf: tokenizer pre_tokenizer.pretokenizers[0].behavior "MergedWithPrevious": llama.cpp keeps every match as its own piece',
    );
  });
});

describe('the vocabulary llama.cpp reads', () => {
  it('tokens, token types, padding to vocab_size, special ids, BOS added, the chat template', async () => {
    const tok = await train('deepseek-v3');
    const v: GgufVocab & { notes: string[] } = ggufVocab(tok, tok.vocabSize + 3);
    const id = (t: string) => tok.tokenToId(t)!;
    assert.equal(v.pre, 'deepseek-v3');
    assert.equal(v.tokens.length, tok.vocabSize + 3);
    assert.equal(v.tokens[id('<｜begin▁of▁sentence｜>')], '<｜begin▁of▁sentence｜>');
    assert.equal(v.tokenTypes[id('<｜begin▁of▁sentence｜>')], LLAMA_TOKEN_TYPE.control);
    assert.equal(
      v.tokenTypes[id('<｜User｜>')],
      LLAMA_TOKEN_TYPE.control,
      'not special, but looks special (converter)',
    );
    assert.equal(v.tokenTypes[id('<think>')], LLAMA_TOKEN_TYPE.userDefined);
    assert.equal(v.tokenTypes[id('Ġ')], LLAMA_TOKEN_TYPE.normal);
    assert.equal(v.tokens[id('Ġ')], 'Ġ', 'byte-level strings, as tokenizer.json');
    assert.deepEqual(v.tokens.slice(-3), [
      `[PAD${tok.vocabSize}]`,
      `[PAD${tok.vocabSize + 1}]`,
      `[PAD${tok.vocabSize + 2}]`,
    ]);
    assert.deepEqual(v.tokenTypes.slice(-3), [5, 5, 5]);
    assert.deepEqual(
      v.merges,
      tok.model.merges.map(([a, b]) => `${a} ${b}`),
    );
    assert.deepEqual([v.bosId, v.eosId, v.padId], [tok.bosId, tok.eosId, tok.padId]);
    assert.deepEqual([v.addBos, v.addEos], [true, false]);
    assert.equal(v.chatTemplate, R1_CHAT_TEMPLATE);
    assert.deepEqual(v.notes, []);
  });

  it('NFC normalisation is noted (llama.cpp does not apply it); what llama.cpp cannot represent is refused', async () => {
    const tok = await train('qwen2');
    assert.deepEqual(
      ggufVocab(
        edited(tok, (j) => void (j.normalizer = { type: 'NFC' })),
        400,
      ).notes,
      ["the tokenizer's NFC normalizer is not applied by llama.cpp (text that is not NFC tokenizes differently)"],
    );
    const cases: [string, (j: Record<string, unknown>) => void, string][] = [
      [
        'normalizer',
        (j) => void (j.normalizer = { type: 'Lowercase' }),
        `gguf: tokenizer normalizer "Lowercase": llama.cpp's gpt2 vocabulary has none`,
      ],
      [
        'lstrip',
        (j) => void ((j.added_tokens as { lstrip: boolean }[])[3].lstrip = true),
        'gguf: tokenizer added token "<｜User｜>" lstrip true: llama.cpp reads no such flag from GGUF',
      ],
      [
        'post-processor',
        (j) => {
          const p = j.post_processor as { single: unknown[] };
          p.single.push({ SpecialToken: { id: '<｜begin▁of▁sentence｜>', type_id: 0 } });
        },
        `gguf: tokenizer post_processor: adds ids [${tok.bosId}] after the text; llama.cpp can add only the EOS token`,
      ],
      [
        'ignore_merges',
        (j) => void ((j.model as Record<string, unknown>).ignore_merges = true),
        "gguf: tokenizer model.ignore_merges true: llama.cpp's deepseek-v3, qwen2 and gpt-2 pre-tokenizers merge every word",
      ],
    ];
    for (const [what, edit, message] of cases)
      assert.equal(
        refusal(() => ggufVocab(edited(tok, edit), 400)),
        message,
        what,
      );
    assert.equal(
      refusal(() => ggufVocab(tok, tok.vocabSize - 1)),
      `gguf: tokenizer size ${tok.vocabSize}: exceeds the model's vocab_size ${tok.vocabSize - 1} (llama.cpp needs one embedding row per token)`,
    );
  });
});
