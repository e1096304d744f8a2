// Packed samples in one row: with keyStart set to each token's sample start, attention over the packed row equals
// attention over each sample alone (outputs and gradients), on every backend.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/tensor/index.js';
import { eachBackend } from '../helpers/util.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/random.js';
import { concat, mul, narrow, scaledDotProductAttention, sum } from '../../src/tensor/ops/index.js';

describe('attention over packed samples (keyStart)', () => {
  it('equals attention over each sample alone, values and gradients', () => {
    eachBackend((backend) => {
      const g = new Generator(7);
      const lens = [3, 4, 2];
      const T = lens.reduce((a, b) => a + b, 0);
      const [H, Hk, Dk, Dv] = [2, 1, 8, 5];
      const q = randn([1, H, T, Dk], { generator: g, requiresGrad: true });
      const k = randn([1, Hk, T, Dk], { generator: g, requiresGrad: true });
      const v = randn([1, Hk, T, Dv], { generator: g, requiresGrad: true });
      const w = randn([1, H, T, Dv], { generator: g });
      const starts = new Int32Array(T);
      let at = 0;
      for (const n of lens) {
        starts.fill(at, at, at + n);
        at += n;
      }
      const packed = scaledDotProductAttention(q, k, v, { keyStart: new Tensor(starts, [1, T], 'int32') });
      sum(mul(packed, w)).backward();
      const grads = [q, k, v].map((t) => Float32Array.from(t.grad!.data));
      for (const t of [q, k, v]) t.grad = null;
      const parts: Tensor[] = [];
      at = 0;
      for (const n of lens) {
        parts.push(scaledDotProductAttention(narrow(q, 2, at, n), narrow(k, 2, at, n), narrow(v, 2, at, n)));
        at += n;
      }
      const alone = concat(parts, 2);
      sum(mul(alone, w)).backward();
      for (let i = 0; i < alone.size; i++) {
        assert.ok(Math.abs(alone.data[i] - packed.data[i]) < 1e-5, `${backend}: out ${i}`);
      }
      [q, k, v].forEach((t, n) => {
        for (let i = 0; i < t.size; i++) {
          assert.ok(Math.abs(t.grad!.data[i] - grads[n][i]) < 1e-5, `${backend}: grad ${'qkv'[n]} ${i}`);
        }
      });
      // without keyStart the samples see each other: the later samples' outputs differ
      const crossed = scaledDotProductAttention(q, k, v);
      let diff = 0;
      for (let i = 0; i < crossed.size; i++) diff = Math.max(diff, Math.abs(crossed.data[i] - packed.data[i]));
      assert.ok(diff > 1e-3, `${backend}: keyStart must change the result`);
    });
  });

  it('a bad keyStart is an error that names it', () => {
    eachBackend(() => {
      const q = randn([1, 1, 3, 4]);
      assert.throws(
        () => scaledDotProductAttention(q, q, q, { keyStart: new Tensor(Int32Array.of(0, 0), [1, 2], 'int32') }),
        /attention: keyStart must be int32 \(1, 3\)/,
      );
      assert.throws(
        () => scaledDotProductAttention(q, q, q, { keyStart: new Tensor(Int32Array.of(0, -1, 0), [1, 3], 'int32') }),
        /keyStart\[1\] = -1 must be >= 0/,
      );
    });
  });
});
