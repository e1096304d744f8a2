// The report's views of the experiments that span several runs (src/report/experiments.ts), on folders written by
// hand (./helpers.ts): `experiment fp8 --seeds` (the statistics over seeds, the verdict, each seed's curves) and
// `experiment distill-vs-rl` (the comparison table above its runs' curves).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport, readRunTree, writeReport } from '../../src/report/index.js';
import { FP8_GAP, writeDistillVsRl, writeFp8Seeds, writeRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'r1ts-report-experiments-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('report: experiment fp8 --seeds', () => {
  const dir = writeFp8Seeds(join(root, 'fp8-seeds'));

  it('reads the seed folders two levels down, in seed order', () => {
    const tree = readRunTree(dir);
    assert.deepEqual(
      tree.seeds.map((s) => [s.seed, s.runs.map((r) => r.name)]),
      [0, 1, 2].map((s) => [s, ['bf16', 'fp32', 'fp32-ulp', 'fp8']]),
    );
    assert.equal(tree.run, null);
  });

  it('the summary: mean ± SE of every comparison, the per-seed gaps, the verdict the command prints', () => {
    const r = buildReport(readRunTree(dir));
    assert.deepEqual(
      r.sections.map((s) => s.id),
      ['fp8-seeds', 'fp8-seed-0', 'fp8-seed-1', 'fp8-seed-2'],
    );
    const s = r.sections[0];
    // gaps 0.1%, 0.2%, 0.3%: mean 0.2%, sample sd 0.1%, SE 0.1% / sqrt(3) = 0.0577%; |mean| + 2 SE = 0.3155% >= 0.25%;
    // floor 0, 0.02%, 0.01%: mean 0.01%, SE 0.00577%; |0.2% - 0.01%| = 0.19% > 2 sqrt(0.0577%^2 + 0.00577%^2) = 0.116%
    const verdict = s.facts.find(([k]) => k === 'verdict')![1];
    assert.equal(
      verdict,
      'FP8 vs BF16 over 3 seeds, EMA(0.9) final loss: gap +0.200% ± 0.058% (mean ± standard error), |mean| + 2 SE = ' +
        '0.315% >= 0.25%: the 0.25% target is NOT met at N = 3; the gap is distinguishable from the noise floor ' +
        '(+0.010% ± 0.006%) at N = 3: |gap - floor| = 0.190% > 2 SE of the difference = 0.116%',
    );
    const [stats, perSeed] = s.tables;
    assert.deepEqual(stats.rows, [
      ['fp8-vs-bf16', 'fp8', 'bf16', '+0.200% ± 0.058%', '+0.200% ± 0.058%', '0.200% ± 0.058%'],
      ['fp8-vs-fp32', 'fp8', 'fp32', '+0.300% ± 0.058%', '+0.300% ± 0.058%', '0.300% ± 0.058%'],
      ['bf16-vs-fp32', 'bf16', 'fp32', '+0.100% ± 0.000%', '+0.100% ± 0.000%', '0.100% ± 0.000%'],
      ['noise-floor', 'fp32-ulp', 'fp32', '+0.010% ± 0.006%', '+0.010% ± 0.006%', '0.010% ± 0.006%'],
    ]);
    assert.deepEqual(perSeed.head.slice(0, 5), ['seed', 'bf16 loss', 'fp32 loss', 'fp32-ulp loss', 'fp8 loss']);
    assert.deepEqual(
      perSeed.rows.map((x) => [x[0], x[2], x[5]]),
      [
        ['0', '2.0000', '+0.100%'],
        ['1', '2.1000', '+0.200%'],
        ['2', '2.2000', '+0.300%'],
      ],
    );
    // each comparison's gap along the run, one curve per seed
    const gap = s.plots.find((p) => p.id === 'fp8-seeds-fp8-vs-bf16')!;
    assert.deepEqual(
      gap.series.map((x) => x.name),
      ['seed 0', 'seed 1', 'seed 2'],
    );
    gap.series.forEach((x, i) => {
      assert.equal(x.points.length, 5);
      for (const [, v] of x.points) assert.ok(Math.abs(v - FP8_GAP[i]) < 1e-12, `${x.name}: ${v}`);
    });
    assert.deepEqual(
      s.plots.map((p) => p.id),
      ['fp8-vs-bf16', 'fp8-vs-fp32', 'bf16-vs-fp32', 'noise-floor'].map((c) => `fp8-seeds-${c}`),
    );
    // each seed: its precisions' loss curves and gaps to the baseline (fp32)
    const seed1 = r.sections[2];
    assert.deepEqual(
      seed1.plots.map((p) => [p.id, p.series.map((x) => x.name)]),
      [
        ['fp8-seed-1-loss', ['bf16', 'fp32', 'fp32-ulp', 'fp8']],
        ['fp8-seed-1-gap', ['bf16 vs fp32', 'fp32-ulp vs fp32', 'fp8 vs fp32']],
      ],
    );
  });

  it('the HTML holds the verdict; seeds still training are left out of the statistics, named', () => {
    const html = readFileSync(writeReport(dir, join(root, 'seeds.html')).file, 'utf8');
    assert.match(html, /the 0\.25% target is NOT met at N = 3/);
    // seed 2 has no fp8 run yet; seed 1's fp8 run is still running: the statistics are seed 0's alone
    const live = writeFp8Seeds(join(root, 'fp8-seeds-live'));
    rmSync(join(live, 'seed-2', 'fp8'), { recursive: true });
    const runJson = join(live, 'seed-1', 'fp8', 'run.json');
    writeFileSync(runJson, readFileSync(runJson, 'utf8').replace('"finished"', '"running"'));
    const r = buildReport(readRunTree(live));
    assert.deepEqual(
      r.sections.map((s) => s.title),
      ['FP8 experiment over 1 seed: 0', 'seed 0: 4 runs', 'seed 1: 4 runs (not finished)'],
    );
    const facts = Object.fromEntries(r.sections[0].facts);
    assert.equal(facts['seed 1'], 'left out of the statistics: not finished: fp8 (running)');
    assert.equal(facts['seed 2'], 'left out of the statistics: no fp8 run beside a high-precision run yet');
    assert.match(facts.verdict, /^none: one seed has no standard error/);
    // no seed finished: the summary says so, and the seeds with a pair still get their curves
    const none = writeFp8Seeds(join(root, 'fp8-seeds-none'));
    for (const seed of [0, 1, 2]) rmSync(join(none, `seed-${seed}`, 'fp8'), { recursive: true });
    const r0 = buildReport(readRunTree(none));
    assert.deepEqual(
      r0.sections.map((s) => s.title),
      ['FP8 experiment over seeds: no seed has finished yet'],
    );
    assert.equal(Object.fromEntries(r0.sections[0].facts).verdict, 'none: no seed has finished all its runs');
  });
});

describe('report: experiment distill-vs-rl', () => {
  const dir = writeDistillVsRl(join(root, 'distill-vs-rl'));

  it('the comparison table above the distillation and RL runs, whose curves are their own views', () => {
    const r = buildReport(readRunTree(dir));
    assert.deepEqual(
      r.sections.map((s) => s.title),
      ['Distillation vs RL: held-out evaluation', 'distill: distill', 'grpo: grpo'],
    );
    const t = r.sections[0].tables[0];
    assert.deepEqual(t.head, ['model', 'pass@1', 'cons@2', 'greedy', 'mean length', 'parameters', 'training (min)']);
    assert.deepEqual(t.rows, [
      ['teacher', '50.0%', '60.0%', '25.0%', '42.3', '766,000', '-'],
      ['student base', '12.5%', '22.5%', '6.3%', '42.3', '120,000', '-'],
      ['distilled', '25.0%', '35.0%', '12.5%', '42.3', '120,000', '2.5'],
      ['rl', '18.8%', '28.7%', '9.4%', '42.3', '120,000', '4.0'],
    ]);
    const ids = (i: number) => r.sections[i].plots.map((p) => p.id);
    assert.ok(ids(1).includes('run-0-distill-loss'), ids(1).join());
    assert.ok(ids(2).includes('run-1-grpo-reward') && ids(2).includes('run-1-grpo-accuracy'), ids(2).join());
  });

  it('a distill_vs_rl.json of another format is one error naming the file', () => {
    const bad = join(root, 'dvr-bad');
    writeRun(join(bad, 'grpo'), 'grpo', [{ step: 1, reward: 0 }]);
    writeFileSync(join(bad, 'distill_vs_rl.json'), JSON.stringify({ format: 'x', task: 't', n: 1, k: 1, rows: [] }));
    assert.throws(
      () => readRunTree(bad),
      (e: Error) =>
        e.message.includes('distill_vs_rl.json: "format" must be "r1ts-distill-vs-rl-1"') && !/\n/.test(e.message),
    );
  });
});
