/** AdamW with BF16 moments (DeepSeek-V3): half the moment bytes, updates close to float32 moments, exact state round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Tensor, randn } from '../../src/index.js';
import { AdamW } from '../../src/optim/adamw.js';
import { BF16, roundToFormat } from '../../src/tensor/formats.js';

function setup(moments: 'fp32' | 'bf16'): { p: Tensor; opt: AdamW; grads: Float32Array[] } {
  const g = new Generator(1);
  const p = randn([16, 24], { generator: g }).requiresGrad_();
  const grads = Array.from({ length: 20 }, () => g.normal(p.size, 'float32') as Float32Array);
  return { p, opt: new AdamW([['w', p]], { lr: 1e-2, moments }), grads };
}

test('BF16 moments: half the bytes, BF16 values, parameters within 1% of the float32-moment run after 20 steps', () => {
  const a = setup('fp32');
  const b = setup('bf16');
  assert.equal(b.opt.momentBytes * 2, a.opt.momentBytes);
  const start = Float32Array.from(a.p.data);
  for (let s = 0; s < 20; s++) {
    for (const r of [a, b]) {
      r.p.grad = new Tensor(Float32Array.from(r.grads[s]), r.p.shape);
      r.opt.step();
    }
  }
  const m = b.opt.stateDict().m.get('w')!;
  assert.deepEqual(roundToFormat(m, BF16), m, 'moments hold BF16 values');
  let moved = 0;
  let diff = 0;
  let changed = false;
  for (let i = 0; i < start.length; i++) {
    moved += Math.abs(a.p.data[i] - start[i]);
    diff += Math.abs(a.p.data[i] - b.p.data[i]);
    if (a.p.data[i] !== b.p.data[i]) changed = true;
  }
  assert.ok(diff < 0.01 * moved, `BF16-moment parameters differ by ${diff} over a total movement of ${moved}`);
  assert.ok(changed, 'BF16 rounding of the moments has some effect');
});

test('BF16 moments survive stateDict / loadStateDict exactly (checkpoint resume)', () => {
  const a = setup('bf16');
  for (let s = 0; s < 3; s++) {
    a.p.grad = new Tensor(Float32Array.from(a.grads[s]), a.p.shape);
    a.opt.step();
  }
  const b = setup('bf16');
  b.p.data.set(a.p.data);
  b.opt.loadStateDict(a.opt.stateDict());
  for (const r of [a, b]) {
    r.p.grad = new Tensor(Float32Array.from(r.grads[3]), r.p.shape);
    r.opt.step();
  }
  assert.deepEqual(b.p.data, a.p.data);
  assert.throws(
    () => new AdamW([['w', a.p]], { lr: 1, moments: 'fp16' as 'bf16' }),
    /moments must be 'fp32' or 'bf16'/,
  );
});
