import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, add, enableGrad, isGradEnabled, mul, noGrad, ones, sum, tensor } from '../../src/index.js';
import { record, recordParts } from '../../src/tensor/tensor.js';

describe('autograd engine', () => {
  it('computes gradients of a scalar', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).sum(); // d/dx = 2x
    y.backward();
    assert.deepEqual(x.grad!.toList(), [2, 4, 6]);
  });

  it('accumulates gradients of a tensor used several times', () => {
    const x = tensor([2], { requiresGrad: true });
    const y = add(mul(x, 3), mul(x, x)).add(x).sum(); // 3x + x^2 + x: d/dx = 4 + 2x = 8
    y.backward();
    assert.equal(x.grad!.item(), 8);
  });

  it('diamond graphs sum both paths once', () => {
    const x = tensor([1.5], { requiresGrad: true });
    const a = x.exp();
    const b = a.mul(a).add(a); // e^{2x} + e^x
    b.sum().backward();
    assert.ok(Math.abs(x.grad!.item() - (2 * Math.exp(3) + Math.exp(1.5))) < 1e-4);
  });

  it('accumulates into .grad across backward calls (like PyTorch) until reset', () => {
    const x = tensor([1, 1], { requiresGrad: true });
    x.mul(2).sum().backward();
    x.mul(2).sum().backward();
    assert.deepEqual(x.grad!.toList(), [4, 4]);
    x.grad = null;
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad!.toList(), [3, 3]);
  });

  it('errors on backward of a non-scalar without a gradient, and accepts an explicit one', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const y = x.mul(2);
    assert.throws(() => y.backward(), /backward: called on a non-scalar tensor of shape \[2,2\]/);
    assert.throws(() => y.backward(ones([3])), /gradient shape \[3\] does not match tensor shape \[2,2\]/);
    y.backward(
      tensor([
        [1, 0],
        [0, 1],
      ]),
    );
    assert.deepEqual(x.grad!.toArray(), [
      [2, 0],
      [0, 2],
    ]);
  });

  it('errors on backward of a tensor that does not require grad', () => {
    assert.throws(() => tensor([1]).sum().backward(), /does not require grad/);
  });

  it('noGrad records nothing; enableGrad re-enables inside it', () => {
    const x = tensor([1], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.equal(isGradEnabled(), true);
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    assert.equal(z.requiresGrad, true);
  });

  it('detach cuts the graph but shares data', () => {
    const x = tensor([3], { requiresGrad: true });
    const d = x.mul(2).detach();
    assert.equal(d.requiresGrad, false);
    const y = x.mul(d).sum(); // d is a constant 6
    y.backward();
    assert.equal(x.grad!.item(), 6);
  });

  it('non-leaf tensors keep .grad only with retainGrad()', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const h2 = x.mul(4);
    sum(h.mul(h2)).backward();
    assert.deepEqual(h.grad!.toList(), [4, 8]);
    assert.equal(h2.grad, null);
    assert.equal(h.isLeaf, false);
    assert.equal(x.isLeaf, true);
  });

  it('an op with several outputs (split) runs its rule once, with every part that got a gradient', () => {
    const x = tensor([1, 2, 3, 4, 5], { requiresGrad: true });
    const calls: (number[] | null)[][] = [];
    const parts = [new Tensor(Float32Array.from([1, 2]), [2]), new Tensor(Float32Array.from([3, 4, 5]), [3])];
    recordParts(parts, 'twoParts', x, (gs) => {
      calls.push(gs.map((g) => (g ? (g.toList() as number[]) : null)));
      return tensor([gs[0] ? 1 : 0, 0, 0, 0, gs[1] ? 1 : 0]);
    });
    const [a, b] = parts;
    assert.equal(a.gradFn!.op, 'twoParts');
    a.retainGrad();
    sum(add(mul(a, 2), mul(a, a))).backward(); // b unused: its part is null; a's two uses are summed first
    assert.deepEqual(calls, [[[4, 6], null]]);
    assert.deepEqual(a.grad!.toList(), [4, 6]);
    assert.deepEqual(x.grad!.toList(), [1, 0, 0, 0, 0]);
    assert.equal(b.grad, null);
  });

  it('a backward rule returning a wrongly shaped gradient is an error naming the op, the input and both shapes', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = record(new Tensor(Float32Array.from([2, 4, 6]), [3]), 'badOp', [x], () => [tensor([1, 1])]);
    assert.throws(() => y.sum().backward(), /backward of badOp: gradient for input 0 has shape \[2\], expected \[3\]/);
  });

  it('integer results carry no graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const i = x.argmax();
    assert.equal(i.requiresGrad, false);
    assert.equal(x.gt(1).requiresGrad, false);
  });
});
