import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, Linear, Module, RMSNorm, Embedding, tensor, zeros } from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

class Block extends Module {
  readonly norm = this.child('norm', new RMSNorm(4));
  readonly layers = this.childList('layers', [
    new Linear(4, 4, { std: 0.02, generator: new Generator(1) }),
    new Linear(4, 2, { std: 0.02 }, true),
  ]);
  readonly scale: Tensor = this.buffer('scale', zeros([1]));
  forward(x: Tensor): Tensor {
    return this.layers[1].forward(this.layers[0].forward(this.norm.forward(x)).silu());
  }
}

describe('Module', () => {
  it('names parameters and buffers with dotted paths in registration order', () => {
    const b = new Block();
    assert.deepEqual(
      b.namedParameters().map(([n]) => n),
      ['norm.weight', 'layers.0.weight', 'layers.1.weight', 'layers.1.bias'],
    );
    assert.deepEqual(
      b.namedBuffers().map(([n]) => n),
      ['scale'],
    );
    assert.equal(b.numParameters(), 4 + 16 + 8 + 2);
    assert.ok(b.parameters().every((p) => p.requiresGrad));
  });

  it('stateDict / loadStateDict round-trip and strict errors', () => {
    const a = new Block();
    const b = new Block();
    b.layers[0].weight.data.fill(3);
    a.loadStateDict(b.stateDict());
    assert.deepEqual([...a.layers[0].weight.data], [...b.layers[0].weight.data]);
    const partial = new Map(b.stateDict());
    partial.delete('norm.weight');
    partial.set('extra', zeros([1]));
    assert.throws(() => a.loadStateDict(partial), /loadStateDict: missing norm\.weight; unexpected extra/);
    const bad = new Map(b.stateDict());
    bad.set('scale', zeros([2]));
    assert.throws(() => a.loadStateDict(bad), /scale has shape \[2\], expected \[1\]/);
  });

  it('forward/backward reaches every parameter; zeroGrad clears; train/eval propagate', () => {
    const b = new Block();
    b.forward(tensor([[1, 2, 3, 4]]))
      .sum()
      .backward();
    assert.ok(b.parameters().every((p) => p.grad !== null));
    b.zeroGrad();
    assert.ok(b.parameters().every((p) => p.grad === null));
    b.eval();
    assert.equal(b.layers[0].training, false);
    b.train();
    assert.equal(b.norm.training, true);
  });

  it('Embedding looks up rows', () => {
    const e = new Embedding(5, 3, { std: 1, generator: new Generator(0) });
    const out = e.forward(tensor([4, 0], { dtype: 'int32' }));
    assert.deepEqual(out.shape, [2, 3]);
    assert.deepEqual([...out.data.slice(0, 3)], [...e.weight.data.slice(12, 15)]);
  });
});
