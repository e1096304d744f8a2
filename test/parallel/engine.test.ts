/**
 * Pipeline-parallel training over worker threads against the single-process reference (float64): the loss must agree
 * to 1e-14 (relative) and every gradient to a cosine difference < 1e-13 (the reference DualPipe tests' bound) and a
 * max relative error < 1e-12 (only the summation order over micro-batches differs); after two SGD steps the parameters
 * agree to 1e-12. Every copy of a mirrored DualPipe stage must be bit-identical.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../../src/index.js';
import type { Method } from '../../src/parallel/schedule.js';
import { PipelineTrainer, type StageTensors, measuredResult, sequentialStep } from '../../src/parallel/engine.js';
import { renderText } from '../../src/parallel/render.js';
import { toyBatch, toyModelSpec } from '../../src/parallel/toy.js';

function compare(a: StageTensors[], b: StageTensors[], what: string, maxRel: number, maxCos: number): void {
  assert.equal(a.length, b.length);
  a.forEach((stage, s) => {
    assert.deepEqual([...stage.keys()], [...b[s].keys()], `${what}: stage ${s} names`);
    for (const [name, t] of stage) {
      const r = b[s].get(name)!;
      let dot = 0;
      let na = 0;
      let nb = 0;
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < t.size; i++) {
        dot += t.data[i] * r.data[i];
        na += t.data[i] ** 2;
        nb += r.data[i] ** 2;
        maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - r.data[i]));
        maxAbs = Math.max(maxAbs, Math.abs(r.data[i]));
      }
      const cosDiff = na === 0 && nb === 0 ? 0 : 1 - dot / Math.sqrt(na * nb);
      assert.ok(cosDiff < maxCos, `${what} stage ${s} ${name}: cos diff ${cosDiff}`);
      assert.ok(
        maxDiff <= maxRel * Math.max(maxAbs, 1e-30),
        `${what} stage ${s} ${name}: max |Δ| ${maxDiff} (max |ref| ${maxAbs})`,
      );
    }
  });
}

const sameBits = (a: Tensor, b: Tensor): boolean => a.data.every((v, i) => Object.is(v, b.data[i]));

const cases: [Method, number, number][] = [
  ['1f1b', 4, 8],
  ['zb1p', 4, 8],
  ['dualpipe', 4, 8],
  ['dualpipev', 4, 6],
];

describe('pipeline engine: worker threads vs single process (float64)', () => {
  const open: PipelineTrainer[] = [];
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  for (const [method, pp, n] of cases) {
    it(`${method}, PP=${pp}, ${n} micro-batches: equal loss and gradients, then two SGD steps in sync`, async () => {
      const spec = toyModelSpec({ dtype: 'float64', seed: 3, blocksPerStage: 2 });
      const trainer = await PipelineTrainer.create({ method, pp, microBatches: n, model: spec });
      open.push(trainer);
      assert.equal(trainer.schedule.ranks, method === 'dualpipev' ? pp / 2 : pp);
      let params = (await trainer.parameters()).stages;
      for (let step = 0; step < 2; step++) {
        const { x, target } = toyBatch({ dtype: 'float64' }, 3 * n, 100 + step);
        const r = await trainer.step(x, target, { lr: 0.05 });
        const ref = await sequentialStep(spec, params, x, target, { lr: 0.05 });
        assert.equal(r.microLosses.length, n);
        assert.ok(
          Math.abs(r.loss - ref.loss) <= 1e-14 * Math.abs(ref.loss),
          `step ${step}: loss ${r.loss} vs ${ref.loss}`,
        );
        const g = await trainer.gradients();
        compare(g.stages, ref.grads, `step ${step} grads`, 1e-12, 1e-13);
        const p = await trainer.parameters();
        compare(p.stages, ref.params, `step ${step} params`, 1e-12, 1e-13);
        if (method === 'dualpipe') {
          for (let s = 0; s < pp; s++) {
            assert.equal(g.copies[s].length, 2, `stage ${s} is held twice`);
            for (const [name, t] of g.copies[s][0])
              assert.ok(sameBits(t, g.copies[s][1].get(name)!), `grad copies of ${s}.${name} differ`);
            for (const [name, t] of p.copies[s][0])
              assert.ok(sameBits(t, p.copies[s][1].get(name)!), `param copies of ${s}.${name} differ`);
          }
        } else for (let s = 0; s < pp; s++) assert.equal(g.copies[s].length, 1);
        for (const rank of r.ranks)
          assert.equal(rank.timeline.length, trainer.schedule.programs[r.ranks.indexOf(rank)].length);
        params = ref.params;
      }
      await trainer.close();
    });
  }

  it('float32 stages built from src/nn Linear and RMSNorm (DualPipe, PP=2) agree to float32 precision', async () => {
    const spec = toyModelSpec({ dtype: 'float32', seed: 1 });
    const trainer = await PipelineTrainer.create({ method: 'dualpipe', pp: 2, microBatches: 4, model: spec });
    open.push(trainer);
    const params = (await trainer.parameters()).stages;
    const { x, target } = toyBatch({ dtype: 'float32' }, 8, 7);
    const r = await trainer.step(x, target);
    const ref = await sequentialStep(spec, params, x, target);
    assert.ok(Math.abs(r.loss - ref.loss) < 1e-6 * Math.abs(ref.loss), `loss ${r.loss} vs ${ref.loss}`);
    compare((await trainer.gradients()).stages, ref.grads, 'float32 grads', 1e-5, 1e-10);
    // The measured step as a timeline: program order, no overlap on a rank, inside the wall time, drawable.
    const m = measuredResult(trainer.schedule, r);
    m.ranks.forEach((rank, i) => {
      assert.deepEqual(
        rank.timeline.map((t) => t.step),
        trainer.schedule.programs[i],
      );
      rank.timeline.forEach((t, j) => {
        assert.ok(t.end >= t.start && (j === 0 || t.start >= rank.timeline[j - 1].end), `rank ${i} step ${j}`);
      });
    });
    assert.ok(m.makespan > 0 && m.makespan <= r.wallMs + 1, `measured makespan ${m.makespan} within wall ${r.wallMs}`);
    assert.equal(
      renderText(m)
        .split('\n')
        .filter((l) => l.startsWith('rank ')).length,
      2,
    );
    await trainer.close();
  });

  it('errors name the problem: uneven micro-batches, impossible schedules', async () => {
    const spec = toyModelSpec({ dtype: 'float64' });
    await assert.rejects(
      PipelineTrainer.create({ method: 'dualpipe', pp: 3, microBatches: 6, model: spec }),
      /even PP/,
    );
    const trainer = await PipelineTrainer.create({ method: '1f1b', pp: 2, microBatches: 2, model: spec });
    open.push(trainer);
    const { x, target } = toyBatch({ dtype: 'float64' }, 5, 1);
    await assert.rejects(trainer.step(x, target), /input with 5 rows does not split into 2 micro-batches/);
    await trainer.close();
  });
});
