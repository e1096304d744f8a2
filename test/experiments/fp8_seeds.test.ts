/**
 * The FP8 experiment over seeds: the statistics (mean, standard error) and the comparisons on fixed inputs computed by
 * hand, the verdict on both sides of the 0.25% threshold and of the noise floor, and the seed loop's run directories
 * (a second invocation trains nothing; an interrupted run resumes to the uninterrupted run's numbers; other settings
 * are an error naming the flag).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Fp8RunSummary, type Fp8ExperimentOptions, runFp8Experiment } from '../../src/experiments/fp8.js';
import {
  type Fp8Comparison,
  type Fp8SeedRuns,
  compareOverSeeds,
  fp8Verdict,
  runFp8Seeds,
  seedRunDir,
  seedStat,
} from '../../src/experiments/fp8_seeds.js';
import { formatFp8SeedsReport } from '../../src/cli/commands/experiment.js';
import { toyConfig } from '../train/fixtures.js';

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('seedStat: mean and standard error of the mean (sample standard deviation / sqrt(n))', () => {
  const s = seedStat([1, 2, 3, 4, 5]);
  // mean 3; squared deviations 4 + 1 + 0 + 1 + 4 = 10; variance 10 / 4 = 2.5; SE = sqrt(2.5 / 5) = sqrt(0.5)
  assert.equal(s.mean, 3);
  close(s.stdErr!, Math.SQRT1_2, 'SE');
  assert.deepEqual(s.values, [1, 2, 3, 4, 5]);
  // two values: SE = |a - b| / 2
  close(seedStat([0.001, 0.004]).stdErr!, 0.0015, 'SE of two');
  close(seedStat([-0.002, 0.006]).mean, 0.002, 'mean of two');
  assert.equal(seedStat([0.7]).stdErr, null, 'one seed has no standard error');
  assert.equal(seedStat([2, 2, 2]).stdErr, 0);
  assert.throws(() => seedStat([]), /no values/);
});

/** A run whose loss is `v` at every step: its EMA is `v`, so every gap is exact by hand. */
const flat = (label: string, v: number, steps = 4): Fp8RunSummary => ({
  label,
  precision: label.replace('-ulp', '') as Fp8RunSummary['precision'],
  moments: 'fp32',
  losses: Array(steps).fill(v),
  finalLoss: v,
  finalEma: v,
  msPerStep: 1,
  saved: { calls: 0, elements: 0, bytes: 0 },
});

test('compareOverSeeds: the four comparisons, each (run - against) / against, with per-seed values', () => {
  // per seed: fp32 = 2, bf16 = 2 (1 + x), fp8 = bf16 (1 + y), fp32-ulp = 2 (1 + z)
  const xs = [0.01, -0.002, 0.004];
  const ys = [0.001, 0.003, -0.001];
  const zs = [0, 0.0002, -0.0002];
  const seeds: Fp8SeedRuns[] = xs.map((x, i) => ({
    baseline: flat('fp32', 2),
    fp8: flat('fp8', 2 * (1 + x) * (1 + ys[i])),
    reference: flat('bf16', 2 * (1 + x)),
    noiseFloor: flat('fp32-ulp', 2 * (1 + zs[i])),
  }));
  const c = compareOverSeeds(seeds);
  assert.deepEqual(
    c.map((k) => [k.name, k.run, k.against]),
    [
      ['fp8-vs-bf16', 'fp8', 'bf16'],
      ['fp8-vs-fp32', 'fp8', 'fp32'],
      ['bf16-vs-fp32', 'bf16', 'fp32'],
      ['noise-floor', 'fp32-ulp', 'fp32'],
    ],
  );
  const [paper, vsFp32, yard, floor] = c;
  ys.forEach((y, i) => close(paper.finalEma.values[i], y, `fp8 vs bf16, seed ${i}`));
  close(paper.finalEma.mean, 0.001, 'mean of 0.001, 0.003, -0.001');
  // deviations 0, 0.002, -0.002: variance 8e-6 / 2 = 4e-6; SE = sqrt(4e-6 / 3)
  close(paper.finalEma.stdErr!, Math.sqrt(4e-6 / 3), 'SE');
  // a flat curve's mean gap is its final gap
  paper.curve.values.forEach((v, i) => close(v, ys[i], `curve, seed ${i}`));
  close(paper.curveAbs.values[2], 0.001, '|gap| along the curve');
  xs.forEach((x, i) => close(vsFp32.finalEma.values[i], (1 + x) * (1 + ys[i]) - 1, `fp8 vs fp32, seed ${i}`));
  close(yard.finalEma.mean, (0.01 - 0.002 + 0.004) / 3, 'yardstick mean');
  close(floor.finalEma.mean, 0, 'noise floor mean');
  close(floor.finalEma.stdErr!, Math.sqrt(0.0002 ** 2 * 2) / Math.sqrt(2) / Math.sqrt(3), 'noise floor SE');
  assert.equal(paper.gaps.length, 3);

  // a curve that moves: the final gap and the curve's mean differ, as lossGap computes them
  const moving: Fp8SeedRuns = {
    baseline: { ...flat('fp32', 2), losses: [2, 2] },
    fp8: { ...flat('fp8', 2), losses: [2, 2.2] },
    reference: null,
    noiseFloor: null,
  };
  const [m] = compareOverSeeds([moving]);
  // EMA of fp8: 2, then 0.9 * 2 + 0.1 * 2.2 = 2.02: final gap 1%, curve mean (0 + 1%) / 2
  assert.equal(m.name, 'fp8-vs-fp32');
  close(m.finalEma.mean, 0.01, 'final gap of a moving curve');
  close(m.curve.mean, 0.005, 'curve gap of a moving curve');
  assert.equal(m.finalEma.stdErr, null);
  // without the reference and noise-floor runs only FP8 vs FP32 is left; with baseline bf16 the roles follow labels
  const bf16Base: Fp8SeedRuns = {
    baseline: flat('bf16', 2),
    fp8: flat('fp8', 2.01),
    reference: flat('fp32', 1.99),
    noiseFloor: flat('bf16-ulp', 2),
  };
  assert.deepEqual(
    compareOverSeeds([bf16Base]).map((k) => `${k.name}: ${k.run} vs ${k.against}`),
    [
      'fp8-vs-bf16: fp8 vs bf16',
      'fp8-vs-fp32: fp8 vs fp32',
      'bf16-vs-fp32: bf16 vs fp32',
      'noise-floor: bf16-ulp vs bf16',
    ],
  );
});

/** The FP8-vs-BF16 and noise-floor comparisons with the given per-seed EMA-final gaps. */
function comparisons(gap: number[] | null, floor: number[] | null): Fp8Comparison[] {
  const cmp = (name: Fp8Comparison['name'], v: number[]): Fp8Comparison => ({
    name,
    run: name === 'noise-floor' ? 'fp32-ulp' : 'fp8',
    against: name === 'noise-floor' ? 'fp32' : 'bf16',
    finalEma: seedStat(v),
    curve: seedStat(v),
    curveAbs: seedStat(v.map(Math.abs)),
    gaps: [],
  });
  return [...(gap ? [cmp('fp8-vs-bf16', gap)] : []), ...(floor ? [cmp('noise-floor', floor)] : [])];
}

test('fp8Verdict: met when |mean| + 2 SE < 0.25%; otherwise whether the gap stands out of the noise floor', () => {
  // mean 0.1%, SE 0.07%: 0.24% < 0.25%
  const met = fp8Verdict(comparisons([0.0003, 0.0017], [0, 0]));
  assert.equal(met.met, true);
  close(met.bound!, 0.0024, 'bound');
  assert.equal(met.distinguishable, null);
  assert.match(met.text, /^verdict: FP8 vs BF16 over 2 seeds, EMA\(0\.9\) final loss: gap \+0\.100% ± 0\.070%/);
  assert.match(met.text, /\|mean\| \+ 2 SE = 0\.240% < 0\.25%: the 0\.25% target is met$/);
  // the magnitude counts: the same gap below zero
  assert.equal(fp8Verdict(comparisons([-0.0017, -0.0003], [0, 0])).met, true);
  // mean 0.1%, SE 0.078%: 0.256% >= 0.25%; against a floor of exactly 0 the gap is within 2 SE: not distinguishable
  const above = fp8Verdict(comparisons([0.00022, 0.00178], [0, 0]));
  assert.equal(above.met, false);
  close(above.bound!, 0.00256, 'bound');
  assert.equal(above.distinguishable, false);
  assert.match(
    above.text,
    /= 0\.256% >= 0\.25%: the 0\.25% target is NOT met at N = 2; the gap is not distinguishable/,
  );
  assert.match(above.text, /from the noise floor \(\+0\.000% ± 0\.000%\) at N = 2: \|gap - floor\| = 0\.100% <= 2 SE/);
  // a clear gap (mean 0.5%, SE 0.1%) over a quiet floor: not met, and distinguishable
  const clear = fp8Verdict(comparisons([0.004, 0.006], [0.0001, -0.0001]));
  assert.equal(clear.met, false);
  assert.equal(clear.distinguishable, true);
  assert.match(
    clear.text,
    /the gap is distinguishable from the noise floor .*: \|gap - floor\| = 0\.500% > 2 SE of the difference = 0\.201%$/,
  );
  // the same gap over a floor that moves as much: not distinguishable
  assert.equal(fp8Verdict(comparisons([0.004, 0.006], [-0.003, 0.009])).distinguishable, false);
  // a small but sure gap: 0.2% ± 0.05% misses 0.25% (0.3%) and stands out of a zero floor
  const sure = fp8Verdict(comparisons([0.0015, 0.0025], [0, 0]));
  assert.deepEqual([sure.met, sure.distinguishable], [false, true]);
  // no verdict: one seed; no BF16 run; no noise floor to compare with
  const one = fp8Verdict(comparisons([0.0001], [0]));
  assert.deepEqual([one.met, one.bound], [null, null]);
  assert.match(one.text, /^verdict: none: one seed has no standard error \(give --seeds 2 or more\)$/);
  assert.match(fp8Verdict(comparisons(null, [0, 0])).text, /^verdict: none: no FP8-vs-BF16 comparison/);
  const noFloor = fp8Verdict(comparisons([0.004, 0.006], null));
  assert.equal(noFloor.met, false);
  assert.equal(noFloor.distinguishable, null);
  assert.match(noFloor.text, /NOT met at N = 2; no noise-floor runs/);
});

test('runFp8Seeds: runs kept per seed; a second invocation trains nothing; an interrupted run resumes exactly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'r1ts-fp8-seeds-'));
  const out = path.join(dir, 'out');
  const opts: Fp8ExperimentOptions = { steps: 3, batch: 2, seqLen: 8, config: toyConfig(), gemmK: 128 };
  const seedsRun = (seeds: number[], log: (l: string) => void) =>
    runFp8Seeds({ seeds, outDir: out, run: (seed, d) => runFp8Experiment({ ...opts, seed, outDir: d, log }), log });
  const metricsOf = (seed: number, label: string) => path.join(seedRunDir(out, seed), label, 'metrics.jsonl');
  try {
    const logs: string[] = [];
    const r = await seedsRun([0, 1], (l) => logs.push(l));
    assert.deepEqual(r.seeds, [0, 1]);
    assert.equal(r.perSeed.length, 2);
    assert.deepEqual(r.perSeed[1].runDirs, {
      fp32: path.join(out, 'seed-1', 'fp32'),
      fp8: path.join(out, 'seed-1', 'fp8'),
      bf16: path.join(out, 'seed-1', 'bf16'),
      'fp32-ulp': path.join(out, 'seed-1', 'fp32-ulp'),
    });
    assert.notDeepEqual(r.perSeed[0].fp8.losses, r.perSeed[1].fp8.losses, 'the seeds differ');
    assert.equal(logs.filter((l) => /: step \d+\/3/.test(l)).length, 2 * 4 * 3, 'every step of 4 runs of 2 seeds');
    assert.deepEqual(
      r.comparisons.map((c) => c.name),
      ['fp8-vs-bf16', 'fp8-vs-fp32', 'bf16-vs-fp32', 'noise-floor'],
    );
    // the statistics come from the seeds' own curves
    assert.deepEqual(r.comparisons[1].gaps, [r.perSeed[0].gap, r.perSeed[1].gap]);
    assert.equal(r.comparisons[1].finalEma.values[1], r.perSeed[1].gap.finalEma);
    assert.equal(r.verdict.seeds, 2);
    const text = formatFp8SeedsReport(r).join('\n');
    assert.match(text, /^FP8 over 2 seeds \(0, 1\): DeepSeek-V3 toy/);
    assert.match(
      text,
      new RegExp(`\\n {7}1 +${r.perSeed[1].baseline.finalEma.toFixed(4)} +${r.perSeed[1].fp8.finalEma.toFixed(4)}`),
    );
    assert.match(text, /\n {2}fp8 vs bf16 \(the paper\) +final +[+-][\d.]+% ± [\d.]+%/);
    assert.match(text, /\n {2}fp32-ulp vs fp32 \(noise floor\) final/);
    assert.ok(text.includes(`\n${r.verdict.text}\n`), 'the verdict line');
    assert.match(text, /checks of seed 0:\nsaved activations/);

    // again, with one seed more: seeds 0 and 1 are reused (nothing trained, nothing written), seed 2 is trained
    const before = fs.readFileSync(metricsOf(1, 'fp8'), 'utf8');
    const mtime = fs.statSync(metricsOf(1, 'fp8')).mtimeMs;
    const logs2: string[] = [];
    const r2 = await seedsRun([0, 1, 2], (l) => logs2.push(l));
    assert.equal(logs2.filter((l) => /reusing the completed run/.test(l)).length, 8, logs2.join('\n'));
    assert.deepEqual(
      logs2.filter((l) => /: step \d+\/3/.test(l)).map((l) => l.split(':')[0]),
      ['fp32', 'fp32', 'fp32', 'fp8', 'fp8', 'fp8', 'bf16', 'bf16', 'bf16', 'fp32-ulp', 'fp32-ulp', 'fp32-ulp'],
      'only seed 2 trains',
    );
    assert.equal(fs.readFileSync(metricsOf(1, 'fp8'), 'utf8'), before);
    assert.equal(fs.statSync(metricsOf(1, 'fp8')).mtimeMs, mtime);
    for (const i of [0, 1]) {
      for (const k of ['baseline', 'fp8', 'reference', 'noiseFloor'] as const)
        assert.deepEqual(r2.perSeed[i][k]?.losses, r.perSeed[i][k]?.losses, `seed ${i} ${k}: the same curve`);
      assert.deepEqual(r2.perSeed[i].fp8.saved, r.perSeed[i].fp8.saved, 'saved bytes of the reused model');
    }
    assert.deepEqual(r2.comparisons[0].finalEma.values.slice(0, 2), r.comparisons[0].finalEma.values);
    // the same command a third time trains nothing at all, and reports the same statistics
    const logs2b: string[] = [];
    const r2b = await seedsRun([0, 1, 2], (l) => logs2b.push(l));
    assert.deepEqual(
      logs2b.filter((l) => /: step \d+\//.test(l)),
      [],
      'nothing trained',
    );
    assert.equal(logs2b.filter((l) => /reusing the completed run/.test(l)).length, 12);
    assert.deepEqual(r2b.comparisons, r2.comparisons);
    assert.deepEqual(r2b.verdict, r2.verdict);

    // an interrupted FP8 run (stopped in step 2 of seed 3) resumes from its last checkpoint to the same numbers
    const stop = (l: string) => {
      if (l.startsWith('fp8: step 2/3')) throw new Error('interrupted');
    };
    await assert.rejects(runFp8Experiment({ ...opts, seed: 3, outDir: seedRunDir(out, 3), log: stop }), /interrupted/);
    const logs3: string[] = [];
    const r3 = await runFp8Experiment({ ...opts, seed: 3, outDir: seedRunDir(out, 3), log: (l) => logs3.push(l) });
    assert.ok(
      logs3.includes(`fp32: reusing the completed run in ${path.join(out, 'seed-3', 'fp32')}`),
      logs3.join('\n'),
    );
    assert.ok(logs3.includes(`fp8: resuming the run in ${path.join(out, 'seed-3', 'fp8')}`), logs3.join('\n'));
    assert.deepEqual(
      logs3.filter((l) => /^fp8: step/.test(l)).map((l) => l.split('  ')[0]),
      ['fp8: step 2/3', 'fp8: step 3/3'],
      'the resume trains from its checkpoint of step 1',
    );
    const fresh = await runFp8Experiment({
      ...opts,
      seed: 3,
      outDir: path.join(dir, 'fresh'),
      reference: false,
      noiseFloor: false,
    });
    assert.deepEqual(r3.fp8.losses, fresh.fp8.losses, 'bit for bit the uninterrupted run');
    assert.equal(r3.fp8.losses.length, 3);

    // the same directory with other settings is an error that names the flag
    await assert.rejects(
      runFp8Experiment({ ...opts, steps: 4, seed: 3, outDir: seedRunDir(out, 3) }),
      /seed-3\/fp32 holds another run \(--steps is 4 but the run used 3\); use another --out or remove it/,
    );
    await assert.rejects(
      runFp8Experiment({ ...opts, seed: 3, outDir: seedRunDir(out, 3), moments: 'fp32' }),
      /seed-3\/fp8 holds another run \(--moments is fp32 but the run used bf16\)/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
