import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Generator,
  Tokenizer,
  PRE_TOKENIZER_PRESETS,
  renderChat,
  applyChatTemplate,
  R1_CHAT_TEMPLATE,
} from '../../src/index.js';
import { BYTE_CHARS, toByteLevel } from '../../src/data/bytelevel.js';
import { toJsRegex } from '../../src/data/pretokenize.js';
import { trainBpe } from '../../src/data/bpe_train.js';

const TEXTS = [
  'the cat sat on the mat. the cat ate the rat.',
  'What is 12 + 30? <think>2 + 0 = 2</think><answer>42</answer>',
  'naïve café 日本語 😀 and more text, the end.',
  'lower lowest newer newest wider widest',
];
const corpus = (k = 30): string[] => Array.from({ length: k }, (_, i) => TEXTS[i % TEXTS.length] + ` ${i}`);

describe('byte-level mapping', () => {
  it('maps 256 bytes to 256 distinct printable characters (space -> Ġ, newline -> Ċ)', () => {
    assert.equal(new Set(BYTE_CHARS).size, 256);
    assert.equal(BYTE_CHARS[32], 'Ġ');
    assert.equal(BYTE_CHARS[10], 'Ċ');
    assert.equal(BYTE_CHARS[65], 'A');
    assert.equal(toByteLevel('é'), 'Ã©'); // UTF-8 c3 a9
    assert.equal(toByteLevel('😀').length, 4);
  });
});

describe('Tokenizer', () => {
  it('round-trips any UTF-8 text exactly (fixed and random strings)', async () => {
    const tok = await Tokenizer.train(corpus(), { vocabSize: 400 });
    const g = new Generator(11);
    const texts = [
      '',
      ' ',
      '\n\n\n',
      '   many    spaces   ',
      '\t\ttabs\r\nCRLF',
      '1234567890',
      'Ünïcödé 日本語 中文 한국어 😀👍🏽👨‍👩‍👧',
      '<think>x</think><｜end▁of▁sentence｜><answer>',
      '\u0000\u0001\u007f\u0085\ufeff',
    ];
    for (let i = 0; i < 200; i++) {
      const cps = g.integers(1 + (i % 40), 0, 0x2ffff);
      texts.push(String.fromCodePoint(...Array.from(cps, (c) => (c >= 0xd800 && c <= 0xdfff ? 0x41 : c))));
    }
    for (const t of texts) assert.equal(tok.decode(tok.encode(t, { addSpecialTokens: false })), t, JSON.stringify(t));
  });

  it('training is deterministic and independent of document order', async () => {
    const a = await Tokenizer.train(corpus(), { vocabSize: 330, minFrequency: 1 });
    const b = await Tokenizer.train(corpus().reverse(), { vocabSize: 330, minFrequency: 1 });
    assert.equal(JSON.stringify(a.toJSON()), JSON.stringify(b.toJSON()));
    assert.equal(a.vocabSize, 330);
  });

  it('learns the most frequent pairs first, and minFrequency stops merging', () => {
    const counts = new Map([
      [toByteLevel('hug'), 10],
      [toByteLevel('pug'), 5],
      [toByteLevel('pun'), 12],
      [toByteLevel('bun'), 4],
      [toByteLevel('hugs'), 5],
    ]);
    // the classic example: u g (20), then u n (16), then h ug (15)
    const r = trainBpe(counts, { vocabSize: 259, minFrequency: 1 });
    assert.deepEqual(r.merges, [
      ['u', 'g'],
      ['u', 'n'],
      ['h', 'ug'],
    ]);
    const rare = trainBpe(counts, { vocabSize: 300, minFrequency: 16 });
    assert.deepEqual(rare.merges, [
      ['u', 'g'],
      ['u', 'n'],
    ]);
  });

  it('matches special tokens before BPE and never merges across them', async () => {
    const tok = await Tokenizer.train(corpus(), { vocabSize: 400 });
    const think = tok.tokenToId('<think>') as number;
    const eos = tok.eosId as number;
    const ids = tok.encode('a<think>b<｜end▁of▁sentence｜>', { addSpecialTokens: false });
    assert.ok(ids.includes(think) && ids[ids.length - 1] === eos);
    assert.equal(ids.filter((i) => i === think).length, 1);
    // a partial special token is plain text
    assert.ok(!tok.encode('<thin', { addSpecialTokens: false }).includes(think));
  });

  it('special token ids: BOS prepended by default (post-processor), EOS/pad set, skipSpecialTokens keeps <think>', async () => {
    const tok = await Tokenizer.train(corpus(), { vocabSize: 400 });
    assert.equal(tok.bosId, tok.tokenToId('<｜begin▁of▁sentence｜>'));
    assert.equal(tok.eosId, tok.tokenToId('<｜end▁of▁sentence｜>'));
    assert.equal(tok.padId, tok.tokenToId('<｜▁pad▁｜>'));
    const ids = tok.encode('hi <think>x</think>');
    assert.equal(ids[0], tok.bosId);
    assert.deepEqual(ids.slice(1), tok.encode('hi <think>x</think>', { addSpecialTokens: false }));
    assert.equal(tok.decode([...ids, tok.eosId as number], { skipSpecialTokens: true }), 'hi <think>x</think>');
    const n = tok.vocabSize;
    assert.throws(() => tok.decode([n]), new RegExp(`id ${n} is not in the vocabulary \\(size ${n}\\)`));
  });

  it('saves and loads tokenizer.json + tokenizer_config.json with identical behaviour', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'r1ts-tok-')), 'not', 'yet'); // made by saveDir
    const tok = await Tokenizer.train(corpus(), { vocabSize: 420, chatTemplate: R1_CHAT_TEMPLATE });
    tok.saveDir(dir);
    const back = Tokenizer.load(dir);
    assert.deepEqual(back.toJSON(), tok.toJSON());
    assert.equal(back.config.chat_template, R1_CHAT_TEMPLATE);
    const s = TEXTS.join('\n');
    assert.deepEqual(back.encode(s), tok.encode(s));
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.pre_tokenizer.type, 'Sequence');
    assert.equal(json.decoder.type, 'ByteLevel');
  });

  it('trains with the deepseek-v3 pre-tokenizer (digits in groups of three)', async () => {
    const tok = await Tokenizer.train(['12345 12345 12345 99 99'], { vocabSize: 300, preTokenizer: 'deepseek-v3' });
    const toks = tok.encode('12345', { addSpecialTokens: false }).map((i) => tok.idToToken(i));
    assert.deepEqual(toks, ['123', '45']);
    const single = await Tokenizer.train(['12345 12345 12345 99 99'], { vocabSize: 300 });
    assert.equal(single.encode('12345', { addSpecialTokens: false }).length, 5);
  });

  it('rejects unsupported tokenizer.json configurations, naming the field', async () => {
    const base = (await Tokenizer.train(corpus(), { vocabSize: 300 })).toJSON();
    const model = base.model as Record<string, unknown>;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, model: { ...model, byte_fallback: true } }, /model\.byte_fallback: true is not supported/],
      [{ ...base, model: { ...model, type: 'WordPiece' } }, /model\.type: unsupported model "WordPiece"/],
      [{ ...base, model: { ...model, dropout: 0.1 } }, /model\.dropout/],
      [{ ...base, truncation: { max_length: 8 } }, /truncation: is not supported/],
      [
        { ...base, pre_tokenizer: { type: 'Metaspace', replacement: '▁' } },
        /pre_tokenizer\.type: unsupported pre-tokenizer "Metaspace"/,
      ],
      [
        {
          ...base,
          pre_tokenizer: {
            type: 'Sequence',
            pretokenizers: [{ type: 'ByteLevel' }, { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Isolated' }],
          },
        },
        /pre_tokenizer\.pretokenizers\[0\]: ByteLevel must be the last/,
      ],
      [
        { ...base, pre_tokenizer: { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Isolated' } },
        /needs a ByteLevel pre-tokenizer/,
      ],
      [
        {
          ...base,
          pre_tokenizer: {
            type: 'Sequence',
            pretokenizers: [{ type: 'Split', pattern: { Regex: 'a' }, behavior: 'Sideways' }, { type: 'ByteLevel' }],
          },
        },
        /behavior: unsupported value "Sideways"/,
      ],
      [
        { ...base, normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' } },
        /normalizer\.type: unsupported normalizer "Replace"/,
      ],
      [{ ...base, decoder: { type: 'Metaspace' } }, /decoder\.type: unsupported decoder "Metaspace"/],
      [
        { ...base, post_processor: { type: 'BertProcessing' } },
        /post_processor\.type: unsupported post-processor "BertProcessing"/,
      ],
      [{ ...base, model: { ...model, merges: ['a b c'] } }, /model\.merges\[0\]: expected "a b"/],
      [{ ...base, model: { ...model, merges: ['Ġ zz'] } }, /merges\[0\].*missing from the vocabulary/],
    ];
    for (const [json, re] of cases) assert.throws(() => Tokenizer.fromJSON(json), re);
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-tok-'));
    writeFileSync(join(dir, 'bad.json'), '{"model": ');
    assert.throws(() => Tokenizer.load(join(dir, 'bad.json')), /bad\.json: invalid JSON/);
    assert.throws(() => Tokenizer.load(join(dir, 'missing.json')), /cannot read .*missing\.json \(ENOENT\)/);
  });

  it('translates Oniguruma regexes and rejects what JavaScript cannot express exactly', () => {
    assert.equal(new RegExp(toJsRegex('\\s+'), 'u').test('\u0085'), true); // NEL is White_Space
    assert.equal(new RegExp(toJsRegex('\\s'), 'u').test('\ufeff'), false); // BOM is not
    assert.equal(new RegExp(`^${toJsRegex("(?i:'s|'t)")}$`, 'u').test("'S"), true);
    assert.equal(new RegExp(toJsRegex('\\p{Han}+'), 'u').test('日本'), true);
    assert.throws(() => toJsRegex('a++'), /possessive quantifier/);
    assert.throws(() => toJsRegex('(?>ab)'), /group syntax/);
    assert.throws(() => toJsRegex('\\A'), /escape \\A/);
    assert.throws(() => toJsRegex('\\p{Nonsense}'), /unknown property/);
  });

  it('encodes at a few MB/s (cached per pre-token word)', async () => {
    const tok = await Tokenizer.train(corpus(200), { vocabSize: 500 });
    const text = corpus(4000).join('\n');
    tok.encode(text.slice(0, 10000));
    const t0 = performance.now();
    tok.encode(text, { addSpecialTokens: false });
    const mbps = text.length / 1e6 / ((performance.now() - t0) / 1000);
    assert.ok(mbps > 0.5, `encode throughput ${mbps.toFixed(2)} MB/s`);
  });
});

describe('chat templates', () => {
  const msgs = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2 + 2?' },
    { role: 'assistant', content: '<think>2 + 2 = 4</think><answer>4</answer>' },
    { role: 'user', content: 'And 3 + 3?' },
  ];
  it('renders the R1 template: roles, EOS after assistant turns, earlier reasoning dropped, generation prompt', () => {
    assert.equal(
      renderChat(R1_CHAT_TEMPLATE, msgs, { addGenerationPrompt: true }),
      '<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is 2 + 2?<｜Assistant｜><answer>4</answer><｜end▁of▁sentence｜>' +
        '<｜User｜>And 3 + 3?<｜Assistant｜><think>\n',
    );
    assert.equal(
      renderChat(R1_CHAT_TEMPLATE, msgs.slice(1, 3)),
      '<｜begin▁of▁sentence｜><｜User｜>What is 2 + 2?<｜Assistant｜><think>2 + 2 = 4</think><answer>4</answer><｜end▁of▁sentence｜>',
    );
  });

  it("renders a model's own tokenizer_config chat_template (ChatML) and tokenizes it with special tokens intact", async () => {
    const chatml =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const tok = await Tokenizer.train(corpus(), {
      vocabSize: 400,
      specialTokens: [{ content: '<|endoftext|>' }, { content: '<|im_end|>' }, { content: '<|im_start|>' }],
      bosToken: null,
      eosToken: '<|im_end|>',
      chatTemplate: chatml,
    });
    const text = applyChatTemplate(tok, msgs.slice(1, 2), { addGenerationPrompt: true });
    assert.equal(text, '<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n');
    const ids = tok.encode(text);
    assert.equal(ids[0], tok.tokenToId('<|im_start|>'));
    assert.equal(tok.decode(ids), text);
  });

  it('reports template and message errors in one line', () => {
    assert.throws(() => renderChat('{% for %}', msgs), /^Error: chat template: /);
    assert.throws(
      () => renderChat(R1_CHAT_TEMPLATE, [{ role: 'user' } as never]),
      /message 0 needs string "role" and "content"/,
    );
  });
});

describe('pre-tokenizer presets', () => {
  it('deepseek-v3 is exactly what DeepSeek-V3 ships (three Splits, then ByteLevel without regex)', () => {
    const p = PRE_TOKENIZER_PRESETS['deepseek-v3'] as {
      pretokenizers: { type: string; pattern?: { Regex: string } }[];
    };
    assert.deepEqual(
      p.pretokenizers.map((x) => x.type),
      ['Split', 'Split', 'Split', 'ByteLevel'],
    );
    assert.equal(p.pretokenizers[0].pattern?.Regex, '\\p{N}{1,3}');
    assert.equal(p.pretokenizers[1].pattern?.Regex, '[一-龥\u3040-ゟ゠-ヿ]+');
  });
});
