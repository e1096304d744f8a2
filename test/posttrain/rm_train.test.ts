// Training reward models: the toy task is learned (held-out pair accuracy to 100%), metrics.jsonl holds loss,
// accuracy and margin, a run stopped by a signal resumes to the same model bit for bit, the resume rule names the
// flag, and bad data stops the command with one line naming the file and line.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainRewardModel } from '../../src/posttrain/rm_train.js';
import { loadRewardModel } from '../../src/posttrain/reward_model.js';
import { metricsRows, stopAt, writeLmDir, writeToyPairs } from './pair_helpers.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TRAIN = { epochs: 3, batchSize: 8, microBatch: 4, lr: 3e-3, warmup: 0, checkpointEvery: 2 };
const quiet = () => {};

describe('rm train', () => {
  let dir = '';
  let lm = '';
  let data = '';
  let val = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r1ts-rmtrain-'));
    lm = join(dir, 'lm');
    await writeLmDir(lm, { seed: 1 });
    data = writeToyPairs(join(dir, 'train.jsonl'), 16);
    val = writeToyPairs(join(dir, 'val.jsonl'), 8, 100);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('learns the toy preference: held-out pair accuracy rises to 100%, metrics.jsonl has loss, accuracy, margin', async () => {
    const out = join(dir, 'a');
    const r = await trainRewardModel({
      outDir: out,
      model: lm,
      data: [data],
      valData: [val],
      train: TRAIN,
      log: quiet,
    });
    assert.equal(r.steps, 6);
    assert.ok(r.before && r.after);
    assert.equal(r.after.accuracy, 1, JSON.stringify(r.after));
    assert.ok(r.after.margin > r.before.margin + 0.5, `margin ${r.before.margin} -> ${r.after.margin}`);
    const rows = metricsRows(out);
    assert.deepEqual(
      rows.map((x) => x.step),
      [0, 1, 2, 3, 4, 5, 6],
    );
    for (const k of ['loss', 'accuracy', 'margin', 'chosen', 'rejected', 'lr', 'gradNorm'] as const)
      assert.equal(typeof rows[1][k], 'number', k);
    assert.equal(rows[6].val?.accuracy, 1);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(run.status, 'finished');
    assert.equal(run.modelFrom, 'lm');
    assert.equal(run.pairs.train, 16);
    const rm = loadRewardModel(join(out, 'model'));
    const [c, rj] = rm.score(
      [
        [{ role: 'user', content: 'Question 7: can you help me?' }],
        [{ role: 'user', content: 'Question 7: can you help me?' }],
      ],
      ['Sure, here it is.', 'No.'],
    );
    assert.ok(c > rj);
  });

  it('stopped by a signal after step 2 and resumed: the same model bit for bit as an uninterrupted run', async () => {
    const full = join(dir, 'a');
    const out = join(dir, 'b');
    const s = stopAt(2);
    const first = await trainRewardModel({ outDir: out, model: lm, data: [data], valData: [val], train: TRAIN, ...s });
    assert.equal(first.stopped, 'SIGINT');
    assert.equal(first.steps, 2);
    assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'stopped');
    const second = await trainRewardModel({ outDir: out, resume: true, log: quiet });
    assert.equal(second.steps, 6);
    assert.deepEqual(second.before, JSON.parse(readFileSync(join(full, 'metrics.jsonl'), 'utf8').split('\n')[0]).val);
    assert.ok(
      readFileSync(join(out, 'model', 'model.safetensors')).equals(
        readFileSync(join(full, 'model', 'model.safetensors')),
      ),
      'the resumed run ends with the same weights',
    );
    const strip = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { ms: _, ...rest } = JSON.parse(l);
          return rest;
        });
    assert.deepEqual(strip(join(out, 'metrics.jsonl')), strip(join(full, 'metrics.jsonl')));
  });

  it('resume rule: a changed --batch-size is refused naming the flag; --epochs may grow', async () => {
    const out = join(dir, 'b');
    await assert.rejects(
      trainRewardModel({ outDir: out, resume: true, train: { batchSize: 4 }, log: quiet }),
      /rm train --resume: --batch-size is 4 but the run used 8 \(it cannot change on resume/,
    );
    const r = await trainRewardModel({ outDir: out, resume: true, train: { epochs: 4 }, log: quiet });
    assert.equal(r.steps, 8);
  });

  it('bad pairs, identical sides and a template that fails stop the run with one line naming file and line', async () => {
    const bad = join(dir, 'bad.jsonl');
    const ok = JSON.stringify({ prompt: 'Q', chosen: 'a', rejected: 'b' });
    const broken = join(dir, 'broken');
    await writeLmDir(broken, {
      chatTemplate:
        "{%- if messages[0]['content'] == 'boom' -%}{{ 1 | no_such_filter }}{%- endif -%}{%- for m in messages -%}{{ m['content'] }}{%- endfor -%}",
    });
    const cases: [string, RegExp][] = [
      [
        `${ok}\n${JSON.stringify({ prompt: 'Q2', chosen: 'same', rejected: 'same' })}\n`,
        /bad\.jsonl:2: "chosen" and "rejected" are identical/,
      ],
      [
        `${ok}\n\n${JSON.stringify({ prompt: 'Q3', chosen: 'a' })}\n`,
        /bad\.jsonl:3: a preference pair needs "chosen" and "rejected"/,
      ],
      [`${ok}\n{"prompt": "Q4",\n`, /bad\.jsonl:2: /],
    ];
    for (const [text, re] of cases) {
      writeFileSync(bad, text);
      await assert.rejects(
        trainRewardModel({ outDir: join(dir, 'c'), model: broken, data: [bad], overwrite: true, log: quiet }),
        re,
      );
    }
    // through the command: exit status 1 and one line
    writeFileSync(bad, `${ok}\n${JSON.stringify({ prompt: 'boom', chosen: 'a', rejected: 'b' })}\n`);
    const r = cli('rm', 'train', '--model', broken, '--data', bad, '--out', join(dir, 'c'), '--overwrite');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^r1ts: \S*bad\.jsonl:2: chat template: [^\n]*\n$/);
    const both = cli(
      'dpo',
      '--model',
      lm,
      '--data',
      data,
      '--val-data',
      val,
      '--val-share',
      '0.1',
      '--out',
      join(dir, 'd'),
    );
    assert.equal(both.code, 1);
    assert.equal(both.err, 'r1ts: dpo: --val-data and --val-share exclude each other\n');
  });
});
