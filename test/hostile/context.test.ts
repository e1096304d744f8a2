/**
 * Issue 16 item 9: a prompt longer than the model's context (max_position_embeddings) is an error, found before the
 * whole text is tokenized: `logits` with more ids than positions, `generate` with a 20k-token prompt, `eval` on a
 * JSONL with a 20 MB prompt (bounded memory), and the library's `generate()` / `generateText()`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer } from '../../src/data/tokenizer.js';
import { loadModelDir } from '../../src/io/model_dir.js';
import { generate, generateText, type TextCodec } from '../../src/infer/generate.js';
import { assertFails, cli, copyModelDir, makeModelDir, tmpDir } from './helpers.js';

describe('hostile: prompts longer than the context (item 9)', () => {
  let dir = '';
  let model = '';
  let tok: Tokenizer;
  before(async () => {
    dir = tmpDir('ctx');
    model = path.join(dir, 'model');
    tok = await makeModelDir(model, 64);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('logits: 65 ids on a 64-position model is an error naming both numbers', () => {
    const ids = Array(65).fill('3').join(',');
    assertFails(
      cli(['logits', '--model', model, '--ids', ids]),
      /--ids has 65 tokens, more than the model's context of 64/,
    );
    // 64 ids fit
    const ok = cli(['logits', '--model', model, '--ids', Array(64).fill('3').join(','), '--json']);
    assert.equal(ok.code, 0, ok.err);
  });

  it('generate: a 20k-token prompt is refused at once, without tokenizing it', () => {
    const r = cli(['generate', '--model', model, '--prompt', '1 '.repeat(20_000), '--max-tokens', '2'], {
      timeoutMs: 30_000,
    });
    assertFails(
      r,
      /generate: prompt 0: the prompt is 40000 bytes, so at least \d+ tokens .* only 62 of the model's 64 positions/,
    );
    // a prompt that passes the byte bound but not the exact count: the exact numbers
    const q = 'What is 1 + 2? '.repeat(5);
    assertFails(
      cli(['generate', '--model', model, '--prompt', q, '--max-tokens', '40']),
      /generate: prompt 0: \d+ prompt tokens \+ 40 new tokens = \d+ positions, more than the model's context of 64/,
    );
    const ok = cli(['generate', '--model', model, '--prompt', 'What is 1 + 2?', '--max-tokens', '4']);
    assert.equal(ok.code, 0, ok.err);
  });

  it('eval: a JSONL with a 20 MB prompt fails on its line with a bounded heap and RSS', () => {
    const file = path.join(dir, 'big.jsonl');
    fs.writeFileSync(
      file,
      `${JSON.stringify({ prompt: 'What is 1 + 2?', answer: '3' })}\n` +
        `${JSON.stringify({ prompt: 'What is 1 + 2? '.repeat(1_400_000), answer: '3' })}\n`,
    );
    // The same weights with a 1024-position context, so that line 1 (330 tokens in the R1-Zero template) fits.
    const wide = path.join(dir, 'wide');
    copyModelDir(model, wide);
    const cfg = JSON.parse(fs.readFileSync(path.join(wide, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(wide, 'config.json'), JSON.stringify({ ...cfg, max_position_embeddings: 1024 }));
    const r = cli(['eval', '--model', wide, '--task', file, '--max-tokens', '8', '--k', '1'], {
      heapMB: 256,
      rss: true,
      timeoutMs: 60_000,
    });
    assertFails(
      r,
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: the prompt is 21\\d{6} bytes, so at least \\d+ tokens`,
      ),
    );
    assert.ok(r.rssMB !== undefined && r.rssMB < 600, `peak RSS ${r.rssMB} MB`);
    console.log(`eval refused the 20 MB prompt in ${r.ms} ms, peak RSS ${r.rssMB?.toFixed(0)} MB`);
  });

  it('library: generate() refuses prompt + maxTokens beyond the context with a RangeError naming the numbers', () => {
    const { model: m } = loadModelDir(model);
    m.eval();
    assert.throws(
      () => generate(m, [Array(60).fill(3)], { maxTokens: 5 }),
      (e: Error) =>
        e instanceof RangeError &&
        e.message ===
          'generate: prompt 0: 60 prompt tokens + 5 new tokens = 65 positions, more than the ' +
            "model's context of 64 (max_position_embeddings)",
    );
    assert.equal(generate(m, [Array(60).fill(3)], { maxTokens: 4, temperature: 0 })[0].tokens.length, 4);
  });

  it('library: generateText() refuses a far too long prompt from its length, never calling encode', () => {
    const { model: m } = loadModelDir(model);
    let encoded = 0;
    const spy: TextCodec = {
      encode: (t) => {
        encoded++;
        return tok.encode(t);
      },
      decode: (ids) => tok.decode(ids),
      eosId: tok.eosId,
      maxBytesPerToken: tok.maxBytesPerToken,
    };
    assert.ok(Number.isFinite(tok.maxBytesPerToken) && tok.maxBytesPerToken >= 1);
    const huge = 'x'.repeat(5_000_000);
    assert.throws(() => generateText(m.eval(), spy, [huge], { maxTokens: 4 }), /prompt 0: the prompt is 5000000 bytes/);
    assert.equal(encoded, 0);
  });

  it('the byte bound is valid: a text of N bytes never has fewer than ceil(N / maxBytesPerToken) tokens', () => {
    const B = tok.maxBytesPerToken;
    const piece = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom(...tok.addedTokens.map((t) => t.content), 'What is 12 + 34?', ' the answer is', '\n\n', '𝄞'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const n = tok.encode(text, { addSpecialTokens: false }).length;
        return n >= Math.ceil(Buffer.byteLength(text) / B);
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});
