import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AdamW, adamwStep, clipGradNorm } from '../../src/optim/index.js';
import { Tensor, tensor } from '../../src/index.js';

interface Ref {
  init: { w: number[]; b: number[] };
  steps: { gw: number[]; gb: number[]; lr: number; norm: number; w: number[]; b: number[] }[];
}

describe('AdamW', () => {
  it('matches torch.optim.AdamW (0.9, 0.95, wd 0.1, clip 1.0) to 1e-6 over 5 steps', () => {
    const ref = JSON.parse(readFileSync('test/fixtures/optim/adamw_torch.json', 'utf8')) as Ref;
    const w = tensor(ref.init.w, { shape: [3, 4], requiresGrad: true });
    const b = tensor(ref.init.b, { requiresGrad: true });
    const opt = new AdamW(
      [
        ['w', w],
        ['b', b],
      ],
      { lr: 1e-2 },
    );
    for (const s of ref.steps) {
      w.grad = tensor(s.gw, { shape: [3, 4] });
      b.grad = tensor(s.gb);
      const norm = clipGradNorm([w, b], 1.0);
      assert.ok(Math.abs(norm - s.norm) < 1e-5 * s.norm, `norm ${norm} vs ${s.norm}`);
      opt.step(s.lr);
      s.w.forEach((v, i) => assert.ok(Math.abs(w.data[i] - v) < 1e-6, `w[${i}] ${w.data[i]} vs ${v}`));
      s.b.forEach((v, i) => assert.ok(Math.abs(b.data[i] - v) < 1e-6, `b[${i}] ${b.data[i]} vs ${v}`));
    }
  });

  it('weight decay is decoupled and skipped for 1-D tensors', () => {
    const w = tensor([[1, 1]], { requiresGrad: true });
    const b = tensor([1, 1], { requiresGrad: true });
    const opt = new AdamW(
      [
        ['w', w],
        ['b', b],
      ],
      { lr: 0.1, weightDecay: 0.5 },
    );
    w.grad = tensor([[0, 0]]);
    b.grad = tensor([0, 0]);
    opt.step();
    assert.ok(Math.abs(w.data[0] - 0.95) < 1e-7, 'decay applies lr * wd * p with zero gradient');
    assert.equal(b.data[0], 1, 'no decay on biases / norms');
  });

  it('state round-trips for exact resume', () => {
    const mk = () =>
      tensor(
        [
          [0.5, -0.3],
          [0.1, 0.2],
        ],
        { requiresGrad: true },
      );
    const p1 = mk();
    const o1 = new AdamW([['p', p1]], { lr: 0.01 });
    const grads = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [-1, 0.5],
        [0, 2],
      ],
      [
        [0.3, 0.3],
        [-2, 1],
      ],
    ];
    p1.grad = tensor(grads[0]);
    o1.step();
    const p2 = mk();
    p2.data.set(p1.data);
    const o2 = new AdamW([['p', p2]], { lr: 0.01 });
    o2.loadStateDict(o1.stateDict());
    for (const g of grads.slice(1)) {
      p1.grad = tensor(g);
      p2.grad = tensor(g);
      o1.step();
      o2.step();
    }
    assert.deepEqual([...p2.data], [...p1.data]);
  });

  it('clipGradNorm only scales down and reports non-finite norms', () => {
    const p = new Tensor(new Float32Array([0]), [1]);
    p.grad = tensor([0.5]);
    assert.equal(clipGradNorm([p], 1), 0.5);
    assert.equal(p.grad.data[0], 0.5);
    p.grad = tensor([NaN]);
    assert.ok(Number.isNaN(clipGradNorm([p], 1)));
  });

  it('adamwStep bias-corrects the first step to a sign step of size lr', () => {
    const p = new Float32Array([0, 0]);
    adamwStep(p, new Float32Array([3, -0.01]), new Float32Array(2), new Float32Array(2), {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-12,
      weightDecay: 0,
      step: 1,
    });
    assert.ok(Math.abs(p[0] + 0.1) < 1e-6 && Math.abs(p[1] - 0.1) < 1e-6);
  });
});
