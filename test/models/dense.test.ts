import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DenseLM } from '../../src/models/index.js';
import { Generator, concat, narrow, noGrad, randint } from '../../src/index.js';
import { tinyDense } from './helpers.js';

describe('dense students (Qwen2 / Llama)', () => {
  it('GQA decoding with the K/V cache equals the full forward', () => {
    const m = new DenseLM(tinyDense(), { initStd: 0.2, seed: 2 });
    const ids = randint(0, 40, [2, 7], { generator: new Generator(4) });
    const full = noGrad(() => m.forward(ids).logits);
    const cache = m.createCache();
    const parts = [noGrad(() => m.forward(narrow(ids, 1, 0, 3), { cache }).logits)];
    for (let t = 3; t < 7; t++) parts.push(noGrad(() => m.forward(narrow(ids, 1, t, 1), { cache }).logits));
    const inc = concat(parts, 1);
    let err = 0;
    for (let i = 0; i < full.size; i++) err = Math.max(err, Math.abs(full.data[i] - inc.data[i]));
    assert.ok(err < 1e-5, `max |Δ| ${err}`);
    assert.deepEqual(
      cache.layers[0].k!.shape,
      [2, 7, 2, 4],
      'only num_key_value_heads heads are cached, (B, T, Hkv, Dh)',
    );
  });

  it('Qwen2 has q/k/v biases, Llama does not; tied embeddings share the head', () => {
    const q = new DenseLM(tinyDense());
    assert.ok(q.layers[0].attn.wq.bias && q.layers[0].attn.wk.bias && !q.layers[0].attn.wo.bias);
    const l = new DenseLM(tinyDense({ model_type: 'llama', tie_word_embeddings: true }));
    assert.equal(l.layers[0].attn.wq.bias, null);
    assert.equal(l.head, null);
    const ids = randint(0, 40, [1, 3], { generator: new Generator(1) });
    l.computeLoss(ids, ids).loss.backward();
    assert.ok(l.embed.weight.grad, 'tied embedding gets gradients from the head too');
  });
});
