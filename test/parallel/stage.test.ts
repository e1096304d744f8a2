import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, randn, Generator } from '../../src/index.js';
import { backwardFull, backwardInput, backwardWeight, forwardChunk } from '../../src/parallel/stage.js';
import { pipelineModel, toyBatch } from '../../src/parallel/toy.js';

/** Runs one chunk through stage s of 3 with a full backward, or split into BI then W; returns input and weight grads. */
function run(s: number, split: boolean): { gx: Tensor | null; grads: [string, Tensor][]; loss: number | null } {
  const model = pipelineModel({ dtype: 'float64', seed: 5, blocksPerStage: 2 });
  const stage = model.buildStage(s, 3);
  const g = new Generator(9);
  const { x: x0, target } = toyBatch({ dtype: 'float64' }, 6, 4);
  const x = s === 0 ? x0 : randn([6, 16], { dtype: 'float64', generator: g });
  const r = forwardChunk(stage, x, { first: s === 0, last: s === 2, model, target, lossScale: 0.25 });
  const gy = r.output ? randn([...r.output.shape], { dtype: 'float64', generator: g }) : null;
  let gx: Tensor | null;
  if (split) {
    gx = backwardInput(stage, r.saved, gy);
    // BI leaves the weights alone.
    for (const [n, p] of stage.namedParameters()) assert.equal(p.grad, null, `${n} got a gradient in BI`);
    backwardWeight(r.saved);
  } else gx = backwardFull(r.saved, gy);
  return { gx, grads: stage.namedParameters().map(([n, p]) => [n, p.grad!]), loss: r.loss };
}

describe('stage: backward split into input gradient (BI) and weight gradient (W)', () => {
  for (const s of [0, 1, 2]) {
    it(`BI + W gives bit-identical gradients to one full backward (stage ${s} of 3)`, () => {
      const full = run(s, false);
      const split = run(s, true);
      assert.equal(split.loss, full.loss);
      if (s === 0) assert.equal(split.gx, null, 'the first stage computes no input gradient');
      else assert.deepEqual(Array.from(split.gx!.data), Array.from(full.gx!.data));
      assert.equal(split.grads.length, full.grads.length);
      split.grads.forEach(([n, g], i) => {
        assert.ok(g, `${n} has no gradient after W`);
        assert.deepEqual(Array.from(g.data), Array.from(full.grads[i][1].data), n);
      });
    });
  }

  it('the last stage needs a target and a scalar loss', () => {
    const model = pipelineModel({ dtype: 'float64' });
    const stage = model.buildStage(1, 2);
    const x = randn([2, 16], { dtype: 'float64' });
    assert.throws(
      () => forwardChunk(stage, x, { first: false, last: true, model, lossScale: 1 }),
      /last stage needs a target/,
    );
  });
});
