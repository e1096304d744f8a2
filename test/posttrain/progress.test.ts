// What `r1ts sft`, `r1ts rm train` and `r1ts dpo` show while they train (src/util/progress.ts): on a pipe a line
// every --log-every steps and a one-line summary, --quiet only the results, on a (fake) terminal one line redrawn in
// place; metrics.jsonl gets every step whatever is shown.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainRewardModel } from '../../src/posttrain/rm_train.js';
import { sft } from '../../src/posttrain/sft_run.js';
import { Progress } from '../../src/util/progress.js';
import { identityRecords, writeRecords, writeSftModelDir } from './helpers.js';
import { metricsRows, writeLmDir, writeToyPairs } from './pair_helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The step lines of a command's output (`step  3/8 ...`), as step numbers. */
const stepLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => /^step +\d+\/\d+/.test(l))
    .map((l) => Number(/^step +(\d+)/.exec(l)![1]));

/** A stream that records what is written: a terminal of 100 columns. */
function fakeTerminal() {
  const chunks: string[] = [];
  return { isTTY: true, columns: 100, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

describe('progress of sft, rm train and dpo', () => {
  let dir = '';
  let lm = '';
  let pairs = '';
  let heldOut = '';
  let sftModel = '';
  let records = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-posttrain-progress-'));
    lm = join(dir, 'lm');
    await writeLmDir(lm, { seed: 1 });
    pairs = writeToyPairs(join(dir, 'pairs.jsonl'), 16);
    heldOut = writeToyPairs(join(dir, 'held-out.jsonl'), 4, 100);
    sftModel = join(dir, 'sft-base');
    await writeSftModelDir(sftModel);
    records = writeRecords(join(dir, 'train.jsonl'), identityRecords(24));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pairFlags = ['--data', '', '--val-data', '', '--epochs', '1', '--batch-size', '2', '--micro-batch', '2'];
  const withData = () => pairFlags.map((f, i) => (i === 1 ? pairs : i === 3 ? heldOut : f));

  it('rm train on a pipe: the first step, every --log-every 3 steps and the last, then the summary', () => {
    const out = join(dir, 'rm');
    const r = cli('rm', 'train', '--model', lm, '--out', out, ...withData(), '--log-every', '3');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(stepLines(r.out), [1, 3, 6, 8]);
    assert.match(r.out, /^rm train: 8\/8 steps in \S+; loss [\d.]+, acc [\d.]+%; held-out loss/m);
    assert.match(r.out, /^done: 8 steps; held-out pair accuracy/m);
    // metrics.jsonl: every step, and the held-out evaluation before the first
    assert.deepEqual(
      metricsRows(out).map((x) => x.step),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  it('dpo --quiet prints only its results; without --log-every, a run of 8 steps prints each step once', () => {
    const q = cli('dpo', '--model', lm, '--out', join(dir, 'dpo-q'), ...withData(), '--quiet');
    assert.equal(q.code, 0, q.err);
    assert.deepEqual(
      q.out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
      ['done:', 'model'],
    );
    const p = cli('dpo', '--model', lm, '--out', join(dir, 'dpo'), ...withData());
    assert.equal(p.code, 0, p.err);
    assert.deepEqual(stepLines(p.out), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.match(p.out, /^dpo: 8\/8 steps in /m);
    assert.equal(metricsRows(join(dir, 'dpo')).length, 9);
  });

  it('sft on a pipe: --log-every 2 over 6 steps prints steps 1, 2, 4, 6 and the summary', () => {
    const out = join(dir, 'sft');
    const r = cli(
      'sft',
      '--model',
      sftModel,
      '--data',
      records,
      '--val-share',
      '0.2',
      '--out',
      out,
      '--seq-len',
      '96',
      '--batch',
      '2',
      '--micro-batch',
      '2',
      '--max-steps',
      '6',
      '--lr',
      '3e-3',
      '--log-every',
      '2',
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(stepLines(r.out), [1, 2, 4, 6]);
    assert.match(r.out, /^sft: 6\/6 steps in \S+; loss [\d.]+, held-out [\d.]+, \d+ assistant tokens$/m);
    assert.match(r.out, /^done: 6 steps/m); // the messages still print
    assert.deepEqual(
      metricsRows(out).map((x) => x.step),
      [0, 1, 2, 3, 4, 5, 6],
    );
    // --quiet: only the result
    const small = ['--seq-len', '96', '--batch', '2', '--micro-batch', '2', '--max-steps', '2', '--quiet'];
    const q = cli('sft', '--model', sftModel, '--data', records, '--out', join(dir, 'sft-q'), ...small);
    assert.equal(q.code, 0, q.err);
    assert.equal(q.out, `done: 2 steps; model -> ${join(dir, 'sft-q', 'model')}\n`);
  });

  it('on a terminal: one line redrawn in place, then the summary (sft and rm train as library calls)', async () => {
    const t = fakeTerminal();
    const progress = new Progress({ stream: t, redrawMs: 0, color: false });
    assert.equal(progress.mode, 'live');
    await sft({
      outDir: join(dir, 'sft-tty'),
      model: sftModel,
      data: [records],
      config: { seqLen: 96, batch: 2, microBatch: 2, maxSteps: 3, lr: 3e-3 },
      progress,
    });
    const text = t.text();
    assert.match(text, /\rsft +\d+% \[[=> ]+\] 3\/3 +\S+ +loss [\d.]+/);
    assert.ok(!/^step /m.test(text), 'no step lines on a terminal');
    assert.match(text, /sft: 3\/3 steps in \S+; loss /);
    assert.match(text, /^done: 3 steps/m); // messages print above the live line

    const t2 = fakeTerminal();
    await trainRewardModel({
      outDir: join(dir, 'rm-tty'),
      model: lm,
      data: [pairs],
      valData: [heldOut],
      train: { epochs: 1, batchSize: 4, microBatch: 4 },
      progress: new Progress({ stream: t2, redrawMs: 0, color: false }),
    });
    assert.match(t2.text(), /\rrm train +\d+% \[[=> ]+\] 4\/4 +\S+ +loss [\d.]+ +acc [\d.]+% +margin /);
    assert.match(t2.text(), /rm train: 4\/4 steps in \S+; loss /);
  });
});
