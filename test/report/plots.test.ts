// What a report shows for each kind of run directory (src/report): the sections, tables and series a directory
// yields, read from hand-written run.json and metrics.jsonl files, and the HTML they become.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildReport, readRunTree, renderReport, writeReport, type Plot, type Report } from '../../src/report/index.js';
import { emaCurve, lossGap } from '../../src/experiments/fp8.js';
import { writeRun } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'r1ts-report-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Pre-training rows: steps 1..n, MTP, validation every 5 steps, a rollback event after step 3. */
function pretrainRows(n: number, loss = (s: number) => 5 - s / 10): object[] {
  const rows: object[] = [];
  for (let s = 1; s <= n; s++) {
    rows.push({
      step: s,
      tokens: s * 512,
      loss: loss(s) + 0.01,
      mainLoss: loss(s),
      mtpLoss: loss(s) + 0.2,
      balanceLoss: 0.001,
      lr: 0.003,
      batch: 4,
      gradNorm: 1 / s,
      tokensPerSec: 1000 + s,
      msPerStep: 500,
      imbalance: 1.5,
      ...(s % 5 === 0 ? { valLoss: loss(s) + 0.3 } : {}),
    });
    if (s === 3)
      rows.push({ step: 4, mainLoss: null, lr: 0.003, gradNorm: null, event: 'rollback to step 2: non-finite loss' });
  }
  return rows;
}

/** The plot `id` of a report's section `sid`, as {series name: point count}. */
function seriesOf(r: Report, sid: string, id: string): Record<string, number> {
  const s = r.sections.find((x) => x.id === sid);
  assert.ok(s, `section ${sid} in ${r.sections.map((x) => x.id)}`);
  const p = [...s.plots, ...s.other].find((x) => x.id === id);
  assert.ok(p, `plot ${id} in ${[...s.plots, ...s.other].map((x) => x.id)}`);
  return Object.fromEntries(p.series.map((x) => [x.name, x.points.length]));
}

const ids = (ps: Plot[]) => ps.map((p) => p.id);

describe('report: which series a run directory yields', () => {
  it('pre-training: main, MTP and validation loss, lr, gradient norm, imbalance, tokens/s; rollbacks and resumes marked', () => {
    const dir = writeRun(join(root, 'pre'), 'pretrain', pretrainRows(10), {
      history: [{ event: 'resume', at: '2026-01-01T01:00:00.000Z', step: 6 }],
      settings: { preset: 'micro', train: { steps: 10 } },
      summary: { steps: 10, finalLoss: 4 },
    });
    const r = buildReport(readRunTree(dir));
    assert.equal(r.sections.length, 1);
    const s = r.sections[0];
    assert.deepEqual(ids(s.plots), ['run-loss', 'run-lr', 'run-gradnorm', 'run-imbalance', 'run-tps']);
    assert.deepEqual(seriesOf(r, 'run', 'run-loss'), { 'main loss': 10, 'MTP loss': 10, 'validation loss': 2 });
    assert.equal(s.plots[0].series[2].style, 'points');
    assert.deepEqual(seriesOf(r, 'run', 'run-gradnorm'), { gradNorm: 10 });
    assert.deepEqual(seriesOf(r, 'run', 'run-lr'), { 'learning rate': 10 }, 'the rollback row is not a point');
    assert.deepEqual(
      s.plots[0].markers.map((m) => [m.kind, m.step]),
      [
        ['rollback', 4],
        ['resume', 6],
      ],
    );
    // the fields the plots leave out, generic
    assert.deepEqual(ids(s.other), ['run-tokens', 'run-loss', 'run-balanceLoss', 'run-batch', 'run-msPerStep']);
    assert.deepEqual(Object.fromEntries(s.facts).finalLoss, '4');
  });

  it('GRPO: reward (total and each reward), accuracy, format and truncation, length, KL, entropy; reference resets', () => {
    const rows = [1, 2, 3].map((step) => ({
      step,
      reward: step / 3,
      rewards: { accuracy: step / 6, format: step / 6 },
      accuracy: step / 6,
      formatRate: 0.9,
      truncationRate: 0.1,
      responseLength: 40 + step,
      signalGroups: 2,
      groups: 2,
      loss: 0,
      kl: step === 1 ? 0 : 1e-3,
      clipFrac: 0,
      entropy: step === 3 ? null : 0.5,
      gradNorm: 0.2,
      lr: 1e-4,
      optimizerSteps: step,
      msGeneration: 10,
      msTraining: 20,
      ...(step === 2 ? { refReset: true } : {}),
      ...(step === 3 ? { warnings: ['x'] } : {}),
    }));
    const r = buildReport(readRunTree(writeRun(join(root, 'grpo'), 'grpo', rows)));
    const s = r.sections[0];
    assert.deepEqual(ids(s.plots), ['run-reward', 'run-accuracy', 'run-format', 'run-length', 'run-kl', 'run-entropy']);
    assert.deepEqual(seriesOf(r, 'run', 'run-reward'), { total: 3, accuracy: 3, format: 3 });
    assert.deepEqual(seriesOf(r, 'run', 'run-format'), { 'R1 format': 3, truncated: 3 });
    assert.deepEqual(seriesOf(r, 'run', 'run-entropy'), { entropy: 2 }, 'null entropy is left out');
    assert.equal(s.plots[1].percent, 'share');
    assert.deepEqual(
      s.plots[0].markers.map((m) => [m.kind, m.step]),
      [['reference reset', 2]],
    );
    assert.deepEqual(ids(s.other), [
      'run-signalGroups',
      'run-groups',
      'run-loss',
      'run-clipFrac',
      'run-gradNorm',
      'run-lr',
      'run-optimizerSteps',
      'run-msGeneration',
      'run-msTraining',
    ]);
  });

  it('a run of a command the report does not know: every numeric field over step, nested fields flattened', () => {
    const rows = [
      { step: 1, loss: 2, eval: { accuracy: 0.5, name: 'x' }, note: 'text', ok: true },
      { step: 2, loss: 1.5, eval: { accuracy: 0.6 }, margin: 0.1 },
    ];
    const r = buildReport(readRunTree(writeRun(join(root, 'other'), 'some-future-command', rows)));
    assert.deepEqual(ids(r.sections[0].plots), ['run-loss', 'run-eval_accuracy', 'run-margin']);
    assert.deepEqual(seriesOf(r, 'run', 'run-eval_accuracy'), { 'eval.accuracy': 2 });
    assert.deepEqual(seriesOf(r, 'run', 'run-margin'), { margin: 1 });
  });

  it("a zero job's folder: the before/after table, then the base's and the GRPO run's sections", () => {
    const dir = join(root, 'zero');
    writeRun(join(dir, 'base'), 'pretrain', pretrainRows(4));
    writeRun(join(dir, 'grpo'), 'grpo', [
      { step: 1, reward: 0.5, accuracy: 0.25, formatRate: 1, reflectionRate: 0.5, kl: 0 },
    ]);
    const ev = (p: number) => ({
      n: 8,
      k: 4,
      'pass@1': p,
      'cons@k': p + 0.1,
      greedy: null,
      meanLength: 45,
      formatRate: 1,
      truncationRate: 0,
    });
    const zero = { format: 'r1ts-zero-1', task: 'lineq', difficulty: '1', n: 8, k: 4, temperature: 0.6, topP: 0.95 };
    writeFileSync(
      join(dir, 'zero.json'),
      // the base's evaluation as files before the reflection rate have it
      JSON.stringify({
        ...zero,
        corpus: 'plain',
        base: ev(0.25),
        rl: { ...ev(0.5), reflectionRate: 0.375 },
        baseModel: 'b',
        rlModel: 'r',
      }),
    );
    const r = buildReport(readRunTree(dir));
    assert.deepEqual(
      r.sections.map((s) => s.id),
      ['zero', 'run-0-base', 'run-1-grpo'],
    );
    assert.deepEqual(r.sections[0].tables[0].rows, [
      ['base', '25.0%', '35.0%', 'n/a', '100.0%', '45.0', 'n/a'],
      ['r1-zero', '50.0%', '60.0%', 'n/a', '100.0%', '45.0', '37.5%'],
    ]);
    assert.equal(r.sections[0].tables[0].head.at(-1), 'reflection');
    assert.match(r.sections[0].tables[0].title, /, base pre-trained on the plain corpus$/);
    assert.deepEqual(ids(r.sections[2].plots), [
      'run-1-grpo-reward',
      'run-1-grpo-accuracy',
      'run-1-grpo-format',
      'run-1-grpo-reflection',
      'run-1-grpo-kl',
    ]);
  });

  it("the FP8 experiment's folder: each precision's EMA loss curve and its relative gap to the baseline", () => {
    const dir = join(root, 'fp8');
    const curves: Record<string, (s: number) => number> = {
      fp32: (s) => 5 - s / 10,
      fp8: (s) => 5.01 - s / 10,
      bf16: (s) => 5.005 - s / 10,
    };
    for (const [label, f] of Object.entries(curves))
      writeRun(join(dir, label), 'pretrain', pretrainRows(6, f), { settings: { train: { precision: label } } });
    const r = buildReport(readRunTree(dir));
    assert.deepEqual(
      r.sections.map((s) => s.id),
      ['fp8', 'run-0-bf16', 'run-1-fp32', 'run-2-fp8'],
    );
    assert.deepEqual(seriesOf(r, 'fp8', 'fp8-loss'), { bf16: 6, fp32: 6, fp8: 6 });
    assert.deepEqual(seriesOf(r, 'fp8', 'fp8-gap'), { 'bf16 vs fp32': 6, 'fp8 vs fp32': 6 });
    const main = (f: (s: number) => number) => [1, 2, 3, 4, 5, 6].map(f);
    const gap = r.sections[0].plots[1].series[1].points;
    const ema32 = emaCurve(main(curves.fp32));
    const ema8 = emaCurve(main(curves.fp8));
    gap.forEach(([step, g], i) => {
      assert.equal(step, i + 1);
      assert.ok(Math.abs(g - (ema8[i] - ema32[i]) / ema32[i]) < 1e-15);
    });
    const final = lossGap(main(curves.fp32), main(curves.fp8)).finalEma;
    assert.equal(r.sections[0].tables[0].rows[1][3], `${(100 * final).toFixed(3)}%`);
    assert.ok(Math.abs(gap[5][1] - final) < 1e-15);
  });

  it("a recipe's run directory: the table of every model from recipe.json, then its stages' runs in stage order", () => {
    const dir = join(root, 'recipe');
    writeRun(dir, 'recipe r1', [], { settings: { task: 'arith', difficulty: 'easy' }, summary: { models: 2 } });
    writeRun(join(dir, 'rl2'), 'grpo', [{ step: 1, reward: 0.5, accuracy: 0.5 }]);
    writeRun(join(dir, 'sft1'), 'sft', [
      { step: 0, valLoss: 3 },
      { step: 1, loss: 2.5, lr: 1e-3, gradNorm: 1 },
    ]);
    mkdirSync(join(dir, 'data'));
    const row = (model: string, p1: number | null) => ({
      model,
      'pass@1': p1,
      'cons@k': 0.5,
      greedy: 0.25,
      language: 1,
      readable: 0.75,
      meanLength: 12.34,
      harmless: 0.5,
      helpfulWin: null,
      harmlessWin: 0.5,
      tasks: { identity: 1 },
    });
    const recipe = {
      format: 'r1ts-recipe-1',
      settings: { task: 'arith', difficulty: 'easy', eval: { n: 8, k: 4 } },
      rows: [row('base', 0.125), row('cold start', null)],
      curves: { sft1: [], rl2: [] },
    };
    writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe));
    const r = buildReport(readRunTree(dir));
    assert.deepEqual(
      r.sections.map((s) => s.id),
      ['run', 'recipe', 'run-0-sft1', 'run-1-rl2'],
    );
    const t = r.sections[1].tables[0];
    assert.equal(t.title, 'arith (difficulty easy), 8 held-out problems, k=4');
    assert.deepEqual(t.head.slice(0, 3), ['model', 'pass@1', 'cons@4']);
    assert.deepEqual(t.rows[0], [
      'base',
      '12.5%',
      '50.0%',
      '25.0%',
      '100.0%',
      '75.0%',
      '12.3',
      'n/a',
      '50.0%',
      '50.0%',
      '100.0%',
    ]);
    assert.equal(t.rows[1][1], 'n/a'); // NaN, written as null
    assert.deepEqual(seriesOf(r, 'run-0-sft1', 'run-0-sft1-loss'), { 'training loss': 1, 'held-out loss': 1 });
    assert.deepEqual(seriesOf(r, 'run-1-rl2', 'run-1-rl2-accuracy'), { accuracy: 1 });
    writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ ...recipe, format: 'r1ts-recipe-0' }));
    assert.throws(() => readRunTree(dir), /recipe\.json: "format" must be "r1ts-recipe-1", got "r1ts-recipe-0"/);
    writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ ...recipe, rows: [{}] }));
    assert.throws(() => readRunTree(dir), /recipe\.json: rows\[0\] must be an object with a "model" name/);
  });

  it('sft and distill runs: training, MTP and held-out loss; lr, gradient norm, imbalance, tokens/s', () => {
    const rows = [
      { step: 0, valLoss: 3 },
      ...[1, 2, 3].map((step) => ({
        step,
        epoch: step / 3,
        loss: 3 - step / 4,
        mtpLoss: 3.1 - step / 4,
        lr: 1e-3,
        gradNorm: 1,
        tokensPerSec: 100,
        imbalance: 1.2,
        ...(step === 3 ? { valLoss: 2.5 } : {}),
      })),
    ];
    for (const command of ['sft', 'distill']) {
      const r = buildReport(readRunTree(writeRun(join(root, command), command, rows)));
      assert.deepEqual(ids(r.sections[0].plots), ['run-loss', 'run-lr', 'run-gradnorm', 'run-imbalance', 'run-tps']);
      assert.deepEqual(seriesOf(r, 'run', 'run-loss'), { 'training loss': 3, 'MTP loss': 3, 'held-out loss': 2 });
      assert.equal(r.sections[0].plots[0].series[2].style, 'points');
      assert.deepEqual(ids(r.sections[0].other), ['run-epoch']);
    }
  });

  it("a schedule run: the timeline drawn from run.json's settings, its bubble among the facts", () => {
    const dir = writeRun(join(root, 'sched'), 'schedule', [], {
      settings: { method: 'dualpipe', pp: 4, microBatches: 8, costs: { F: 1, B: 2, W: 1, FB: 2.5, comm: 0 } },
    });
    const s = buildReport(readRunTree(dir)).sections[0];
    assert.equal(s.figures.length, 1);
    assert.match(s.figures[0].svg, /^<svg[\s\S]*rank 3[\s\S]*<\/svg>$/);
    assert.match(Object.fromEntries(s.facts).result, /bubble 1\.5 /);
  });

  it('reads a live metrics.jsonl (a torn last line left out); bad input is one error naming the file and line', () => {
    const dir = writeRun(join(root, 'torn'), 'pretrain', pretrainRows(2), { tail: '{"step": 3, "mainL' });
    assert.deepEqual(seriesOf(buildReport(readRunTree(dir)), 'run', 'run-loss'), { 'main loss': 2, 'MTP loss': 2 });
    const bad = writeRun(join(root, 'bad'), 'pretrain', [], { tail: '{"step": 1}\n{"loss": 2}\n' });
    assert.throws(() => readRunTree(bad), { message: `report: ${join(bad, 'metrics.jsonl')}:2: no "step" number` });
    writeFileSync(join(bad, 'metrics.jsonl'), 'nope\n');
    assert.throws(() => readRunTree(bad), /^Error: report: .*metrics\.jsonl:1: not valid JSON/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.throws(() => readRunTree(empty), {
      message: `report: ${empty} holds no run (no run.json in it or in its folders, no zero.json)`,
    });
  });
});

describe('report: the HTML file', () => {
  it('is self-contained (no script, nothing fetched) and holds one figure per plot with every series drawn', () => {
    const dir = writeRun(join(root, 'html'), 'pretrain', pretrainRows(10));
    const { file, report, plots } = writeReport(dir);
    assert.equal(file, join(dir, 'report.html'));
    const html = readFileSync(file, 'utf8');
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(|src=|href="(?!#)/);
    const figures = [...html.matchAll(/<figure class="plot" id="([^"]+)" data-series="([^"]+)">([\s\S]*?)<\/figure>/g)];
    assert.equal(figures.length, plots);
    assert.equal(plots, report.sections[0].plots.length + report.sections[0].other.length);
    for (const [, id, names, body] of figures) {
      const want = JSON.parse(names.replace(/&quot;/g, '"')) as string[];
      const drawn = [...body.matchAll(/class="series[^"]*" data-series="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(drawn)], want, id);
    }
    assert.match(html, /class="marker" data-kind="rollback"/);
    assert.equal(renderReport(report, new Date(0)).includes('1970-01-01T00:00:00.000Z'), true);
  });

  it('r1ts report RUN_DIR --out FILE prints the path; a missing directory is one line and exit status 1', () => {
    const dir = writeRun(join(root, 'cli'), 'grpo', [{ step: 1, reward: 1 }]);
    const out = join(root, 'cli-out', 'r.html');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'report', ...args], { encoding: 'utf8' });
    const ok = cli(dir, '--out', out);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `report: ${out} (1 section(s), 1 plot(s))\n`);
    assert.match(readFileSync(out, 'utf8'), /<figure class="plot" id="run-reward"/);
    const missing = cli(join(root, 'nope'));
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      `r1ts: report: RUN_DIR must be an existing directory, got '${join(root, 'nope')}' (not found)\n`,
    );
  });
});
