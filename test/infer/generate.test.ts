import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js'; // registers the native backend when its addon is built
import { eachBackend } from '../helpers/util.js';
import { createModel, type CausalLM } from '../../src/models/index.js';
import { Tensor, noGrad } from '../../src/tensor/tensor.js';
import { createModelRunner, generate, generateText } from '../../src/infer/generate.js';
import { CharCodec } from '../../src/infer/codec.js';
import { tinyDeepseek, tinyDense } from '../models/helpers.js';

function models(): [string, CausalLM][] {
  // a larger init std than 0.006 so that logits differ visibly between tokens
  return [
    ['deepseek', createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 3, initStd: 0.2 }).eval()],
    [
      'deepseek (no q_lora, tied)',
      createModel(tinyDeepseek({ q_lora_rank: null, tie_word_embeddings: true, num_nextn_predict_layers: 0 }), {
        seed: 4,
        initStd: 0.2,
      }).eval(),
    ],
    ['dense', createModel(tinyDense(), { seed: 5, initStd: 0.2 }).eval()],
  ];
}

// rows 0 and 4 (and 5) share their first token: their prefill is shared
const prompts = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10], [11, 12, 13, 14], [1, 2, 3], [1, 7]];

describe('generation', () => {
  for (const [name, m] of models()) {
    it(`${name}: the fast decoder matches the model's forward with its cache (prefill + decode)`, () => {
      eachBackend((backend) => {
        const a = createModelRunner(m);
        const b = m.createDecoder!();
        const ids = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
        let max = 0;
        const cmp = (x: Float32Array, y: Float32Array) => {
          for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
        };
        cmp(a.feed(ids, 2, 5), b.feed(ids, 2, 5));
        for (let s = 0; s < 4; s++) {
          const next = Int32Array.from([s + 7, 30 - s]);
          cmp(a.feed(next, 2, 1), b.feed(next, 2, 1));
        }
        a.selectRows([1, 0, 1]); // reorder and repeat rows
        b.selectRows([1, 0, 1]);
        cmp(a.feed(Int32Array.from([17, 18, 19]), 3, 1), b.feed(Int32Array.from([17, 18, 19]), 3, 1));
        a.selectRows([2]);
        b.selectRows([2]);
        cmp(a.feed(Int32Array.from([20]), 1, 1), b.feed(Int32Array.from([20]), 1, 1));
        assert.ok(max < 1e-5, `${backend}: max |fast - model| = ${max}`);
      });
    });

    it(`${name}: KV-cache decoding equals the full forward (logits; greedy tokens are its argmaxes)`, () => {
      const V = m.config.vocab_size;
      for (const engine of ['fast', 'model'] as const) {
        const [g] = generate(m, [[3, 1, 4]], { maxTokens: 8, temperature: 0, engine });
        const seq = [3, 1, 4, ...g.tokens];
        const full = noGrad(() => m.forward(new Tensor(Int32Array.from(seq), [1, seq.length], 'int32')).logits).data;
        const runner = engine === 'fast' ? m.createDecoder!() : createModelRunner(m);
        let step = runner.feed(Int32Array.from(seq.slice(0, 3)), 1, 3);
        for (let t = 0; t < g.tokens.length; t++) {
          const row = full.subarray((2 + t) * V, (3 + t) * V);
          let best = 0;
          for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
          assert.equal(g.tokens[t], best, `${engine}: token ${t}`);
          for (let v = 0; v < V; v++)
            assert.ok(
              Math.abs(step[v] - row[v]) < 1e-5,
              `${engine}: position ${2 + t} logit ${v}: ${step[v]} vs ${row[v]}`,
            );
          step = runner.feed(Int32Array.from([g.tokens[t]]), 1, 1);
        }
      }
    });

    it(`${name}: a batch of prompts of different lengths equals each prompt alone`, () => {
      eachBackend(() => {
        const batch = generate(m, prompts, { maxTokens: 6, temperature: 1, seed: 11 });
        prompts.forEach((p, r) => {
          const [alone] = generate(m, [p], { maxTokens: 6, temperature: 1, seed: 11, firstRow: r });
          assert.deepEqual(batch[r].tokens, alone.tokens, `row ${r}`);
        });
        const viaModel = generate(m, prompts, { maxTokens: 6, temperature: 1, seed: 11, engine: 'model' });
        assert.deepEqual(
          viaModel.map((g) => g.tokens),
          batch.map((g) => g.tokens),
        );
      });
    });
  }

  it('is reproducible: same seed same samples, another seed other samples; batch size does not matter', () => {
    const [, m] = models()[0];
    const a = generate(m, prompts, { maxTokens: 10, seed: 1 });
    const b = generate(m, prompts, { maxTokens: 10, seed: 1, batchSize: 3 });
    const c = generate(m, prompts, { maxTokens: 10, seed: 2 });
    assert.deepEqual(
      a.map((g) => g.tokens),
      b.map((g) => g.tokens),
    );
    assert.notDeepEqual(
      a.map((g) => g.tokens),
      c.map((g) => g.tokens),
    );
    for (const g of a) assert.equal(g.tokens.length, 10);
  });

  it('stops on EOS (kept in tokens, not in text), on stop strings (kept in text), else at maxTokens', () => {
    const [, m] = models()[2];
    const codec = new CharCodec('abcdefghijklmnopqrstuvwxyz0123456789?!.');
    assert.equal(codec.vocabSize, 40);
    // the greedy continuation, then the same run with its third token declared EOS / its text as a stop string
    const [free] = generateText(m, codec, ['hello'], { maxTokens: 12, temperature: 0, eosId: null });
    assert.equal(free.finish, 'length');
    assert.equal(free.tokens.length, 12);
    const eos = free.tokens[2];
    const [e] = generate(m, [codec.encode('hello')], {
      maxTokens: 12,
      temperature: 0,
      eosId: eos,
      decode: (ids) => codec.decode(ids),
    });
    assert.equal(e.finish, 'eos');
    assert.deepEqual(e.tokens, free.tokens.slice(0, free.tokens.indexOf(eos) + 1));
    const stop = free.text.slice(3, 5);
    const [s] = generateText(m, codec, ['hello'], { maxTokens: 12, temperature: 0, eosId: null, stop: [stop] });
    assert.equal(s.finish, 'stop');
    assert.ok(s.text.endsWith(stop) && free.text.startsWith(s.text), `${s.text} / ${free.text}`);
    assert.equal(s.text.indexOf(stop), s.text.length - stop.length);
  });

  it('names bad input', () => {
    const [, m] = models()[2];
    assert.throws(() => generate(m, [[]]), /prompt 0 is empty/);
    assert.throws(() => generate(m, [[1, 99]]), /prompt 0 has token id 99/);
    assert.throws(() => generate(m, [[1]], { stop: ['x'] }), /decode/);
    assert.throws(() => generate(m, [[1]], { maxTokens: 0 }), /maxTokens/);
  });
});
