// What a report shows for the post-training runs, made for real on micro models: an SFT run (training, MTP and
// held-out loss, lr, gradient norm, imbalance, tokens/s), a reward-model and a DPO run (loss, pair accuracy, margin
// and the chosen / rejected values, training and held-out; lr, gradient norm).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport, readRunTree, type Report } from '../../src/report/index.js';
import { trainDpo } from '../../src/posttrain/dpo.js';
import { trainRewardModel } from '../../src/posttrain/rm_train.js';
import { sft } from '../../src/posttrain/sft_run.js';
import { identityRecords, writeRecords, writeSftModelDir } from '../posttrain/helpers.js';
import { writeLmDir, writeToyPairs } from '../posttrain/pair_helpers.js';

const quiet = () => {};

/** The plots of a report's only section: {plot id: {series name: point count}}. */
function plotsOf(r: Report): Record<string, Record<string, number>> {
  assert.equal(r.sections.length, 1);
  const s = r.sections[0];
  return Object.fromEntries(
    [...s.plots, ...s.other].map((p) => [p.id, Object.fromEntries(p.series.map((x) => [x.name, x.points.length]))]),
  );
}

describe('report: post-training runs (micro)', () => {
  let dir = '';
  let lm = '';
  let pairs = '';
  let heldOut = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-report-posttrain-'));
    lm = join(dir, 'lm');
    await writeLmDir(lm, { seed: 1 });
    pairs = writeToyPairs(join(dir, 'pairs.jsonl'), 8);
    heldOut = writeToyPairs(join(dir, 'held-out.jsonl'), 4, 100);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sft: training, MTP and held-out loss (before the first step, every 2 steps, after the last), lr, |g|, imbalance', async () => {
    const model = join(dir, 'sft-base');
    await writeSftModelDir(model);
    const out = join(dir, 'sft');
    await sft({
      outDir: out,
      model,
      data: [writeRecords(join(dir, 'train.jsonl'), identityRecords(16))],
      valData: [writeRecords(join(dir, 'val.jsonl'), identityRecords(4, 'test'))],
      config: { seqLen: 96, batch: 2, microBatch: 2, maxSteps: 5, evalEvery: 2, lr: 3e-3 },
      eval: { tasks: ['identity'], n: 2, maxTokens: 8 },
      log: quiet,
    });
    const r = buildReport(readRunTree(out));
    const p = plotsOf(r);
    assert.deepEqual(p['run-loss'], { 'training loss': 5, 'MTP loss': 5, 'held-out loss': 4 }); // steps 0, 2, 4, 5
    for (const id of ['run-lr', 'run-gradnorm', 'run-imbalance', 'run-tps'])
      assert.equal(Object.values(p[id])[0], 5, id);
    // the fields those plots leave out, generic
    assert.deepEqual(
      r.sections[0].other.map((x) => x.id),
      ['run-epoch', 'run-balanceLoss', 'run-tokens', 'run-msPerStep'],
    );
    // the quality checks' table from run.json's summary; its arrays are not facts
    const s = r.sections[0];
    assert.deepEqual(s.tables[0].head, ['task', 'base', 'sft']);
    assert.equal(s.tables[0].rows[0][0], 'identity');
    assert.match(s.tables[0].rows[0][2], /^\d\/2 \(\d+\.\d%\)$/);
    assert.ok(!s.facts.some(([k]) => k === 'evalAfter'));
  });

  it('rm train and dpo: loss, accuracy, margin and the values, training and held-out; lr, |g|', async () => {
    const train = { epochs: 2, batchSize: 4, microBatch: 4, evalEvery: 2 };
    await trainRewardModel({
      outDir: join(dir, 'rm'),
      model: lm,
      data: [pairs],
      valData: [heldOut],
      train,
      log: quiet,
    });
    await trainDpo({ outDir: join(dir, 'dpo'), model: lm, data: [pairs], valData: [heldOut], train, log: quiet });
    for (const [run, value] of [
      ['rm', 'scores'],
      ['dpo', 'implicit rewards'],
    ]) {
      const r = buildReport(readRunTree(join(dir, run)));
      const p = plotsOf(r);
      // 4 steps; held-out before the first (step 0), at step 2 and at step 4
      for (const id of ['run-loss', 'run-accuracy', 'run-margin'])
        assert.deepEqual(p[id], { training: 4, 'held-out': 3 }, `${run} ${id}`);
      assert.deepEqual(p['run-values'], {
        chosen: 4,
        rejected: 4,
        'held-out chosen': 3,
        'held-out rejected': 3,
      });
      assert.equal(r.sections[0].plots.find((x) => x.id === 'run-values')!.title, value);
      assert.deepEqual(p['run-lr'], { 'learning rate': 4 });
      assert.deepEqual(p['run-gradnorm'], { gradNorm: 4 });
      assert.equal(r.sections[0].plots.find((x) => x.id === 'run-accuracy')!.percent, 'share');
    }
  });
});
