import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, type CausalLM } from '../../src/models/index.js';
import { sum } from '../../src/tensor/ops/index.js';
import { Tensor, noGrad } from '../../src/tensor/tensor.js';
import { packedLogProbs, sharedPromptLogProbs } from '../../src/rl/logprobs.js';
import { tinyDeepseek, tinyDense } from '../models/helpers.js';

const models: [string, () => CausalLM][] = [
  ['deepseek', () => createModel(tinyDeepseek({ num_nextn_predict_layers: 0 }), { seed: 3, initStd: 0.2 })],
  ['dense', () => createModel(tinyDense(), { seed: 5, initStd: 0.2 })],
];

function grads(m: CausalLM): Map<string, Float32Array> {
  return new Map(
    m
      .namedParameters()
      .filter(([, p]) => p.grad)
      .map(([k, p]) => [k, Float32Array.from(p.grad!.data)]),
  );
}

describe('response log-probs', () => {
  for (const [name, make] of models) {
    it(`${name}: the shared-prompt path equals the packed path (values, entropies, gradients)`, () => {
      for (const prompt of [[5, 9, 2, 7], [11]]) {
        const responses = [
          [3, 1, 4, 1, 5],
          [9, 2],
          [6, 5, 3, 5, 8, 9, 7],
        ];
        const a = make();
        const b = make();
        const pk = packedLogProbs(
          a,
          responses.map((r) => ({ prompt, response: r })),
          { entropy: true },
        );
        const sh = sharedPromptLogProbs(b, prompt, responses, { entropy: true });
        assert.equal(pk.R, 7);
        assert.equal(sh.R, 7);
        for (let i = 0; i < pk.logp.size; i++) {
          assert.ok(
            Math.abs(pk.logp.data[i] - sh.logp.data[i]) < 1e-5,
            `logp ${i}: ${pk.logp.data[i]} vs ${sh.logp.data[i]}`,
          );
          assert.ok(Math.abs(pk.entropy[i] - sh.entropy[i]) < 1e-4, `entropy ${i}`);
        }
        assert.ok(pk.logp.data[1 * 7 + 2] === 0 && sh.logp.data[1 * 7 + 2] === 0, 'past the end of a row');
        assert.ok(pk.logp.data[0] < 0);
        sum(pk.logp).backward();
        sum(sh.logp).backward();
        const ga = grads(a);
        const gb = grads(b);
        assert.ok(ga.size > 0);
        for (const [k, g] of ga) {
          const h = gb.get(k);
          assert.ok(h, `no gradient for ${k} on the shared path`);
          let scale = 1e-6;
          for (let i = 0; i < g.length; i++) scale = Math.max(scale, Math.abs(g[i]));
          for (let i = 0; i < g.length; i++)
            assert.ok(Math.abs(g[i] - h[i]) <= 1e-4 * scale + 1e-6, `${k}[${i}]: ${g[i]} vs ${h[i]}`);
        }
      }
    });
  }

  it('log-probs at a temperature are those of the distribution the sampler draws from (softmax of logits / T)', () => {
    for (const [name, make] of models) {
      const m = make();
      const prompt = [5, 9, 2];
      const responses = [
        [3, 1, 4],
        [7, 7],
      ];
      const T = 0.7;
      const sh = noGrad(() => sharedPromptLogProbs(m, prompt, responses, { temperature: T, entropy: true }));
      const pk = noGrad(() =>
        packedLogProbs(
          m,
          responses.map((r) => ({ prompt, response: r })),
          { temperature: T },
        ),
      );
      const V = m.config.vocab_size;
      responses.forEach((r, i) => {
        const ids = [...prompt, ...r];
        const logits = noGrad(() => m.forward(new Tensor(Int32Array.from(ids), [1, ids.length], 'int32')).logits);
        r.forEach((tok, k) => {
          // the sampler's probabilities (src/infer/sampling.ts: exp((l - max) / T), normalised), in float64
          const row = logits.data.subarray((prompt.length - 1 + k) * V, (prompt.length + k) * V);
          let mx = -Infinity;
          for (const x of row) mx = Math.max(mx, x);
          let z = 0;
          for (const x of row) z += Math.exp((x - mx) / T);
          const want = (row[tok] - mx) / T - Math.log(z);
          const at = i * sh.R + k;
          assert.ok(
            Math.abs(sh.logp.data[at] - want) < 1e-5,
            `${name}: shared ${i},${k}: ${sh.logp.data[at]} vs ${want}`,
          );
          assert.ok(Math.abs(pk.logp.data[at] - want) < 1e-5, `${name}: packed ${i},${k}`);
        });
      });
      const at1 = noGrad(() => sharedPromptLogProbs(m, prompt, responses));
      assert.ok(Math.abs(at1.logp.data[0] - sh.logp.data[0]) > 1e-4, `${name}: the temperature changes the log-probs`);
      assert.throws(() => sharedPromptLogProbs(m, prompt, responses, { temperature: 0 }), /temperature must be > 0/);
    }
  });
});
