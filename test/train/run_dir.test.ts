import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ResumeRule,
  RunDir,
  describeConflicts,
  readRunRecord,
  runFinished,
  settingsDiff,
} from '../../src/train/run_dir.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'r1ts-rundir-'));
}

const rule: ResumeRule = {
  mutable: ['train.steps', 'train.lr'],
  flags: { 'train.steps': '--steps', 'train.lr': '--lr', 'train.precision': '--precision', model: '--config' },
};
const settings = {
  data: ['a.jsonl'],
  model: { hidden: 16, layers: 2 },
  train: { steps: 4, lr: 0.01, precision: 'fp32' },
};

/** A run directory holding a started run with three (fake) checkpoints and metrics of steps 1-5. */
function startedRun(dir: string): void {
  const run = RunDir.open({ dir, command: 'test', mode: 'new', log: () => {} });
  run.start(settings);
  for (const s of [2, 4, 6]) {
    mkdirSync(join(dir, 'checkpoints', `step-0000000${s}`), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', `step-0000000${s}`, 'state.json'), '{}');
  }
  for (let s = 1; s <= 5; s++) run.appendMetrics({ step: s });
  run.close();
}

describe('run directory protocol', () => {
  it('resume rule: an immutable change is an error naming flag and values; mutable ones are applied and recorded', () => {
    const dir = tmp();
    try {
      startedRun(dir);
      const open = () => RunDir.open({ dir, command: 'test', mode: 'resume', log: () => {} });
      const r1 = open();
      assert.throws(
        () => r1.resume<typeof settings>((s) => ({ ...s, train: { ...s.train, precision: 'fp8' } }), rule),
        {
          message:
            'test --resume: --precision is fp8 but the run used fp32 (it cannot change on resume; start a new run with another --out, or --overwrite)',
        },
      );
      r1.close();
      const r2 = open();
      const next = r2.resume<typeof settings>((s) => ({ ...s, train: { ...s.train, steps: 8, lr: 0.001 } }), rule);
      assert.deepEqual(next.train, { steps: 8, lr: 0.001, precision: 'fp32' });
      assert.equal(readRunRecord(dir)!.history.length, 0, 'nothing is recorded before the checkpoint is restored');
      r2.resumed(join(dir, 'checkpoints', 'step-00000006'), 6);
      r2.close();
      const rec = readRunRecord(dir)!;
      assert.equal(rec.command, 'test');
      assert.equal(rec.status, 'running');
      assert.deepEqual(rec.settings.train, { steps: 8, lr: 0.001, precision: 'fp32' });
      assert.deepEqual(
        rec.history.map((h) => ({ event: h.event, changed: h.changed })),
        [
          {
            event: 'resume',
            changed: [
              { setting: 'train.steps', flag: '--steps', from: 4, to: 8 },
              { setting: 'train.lr', flag: '--lr', from: 0.01, to: 0.001 },
            ],
          },
        ],
      );
      // a subtree under one flag: each leaf is named, many are summarised
      const d = settingsDiff(settings, { ...settings, model: { hidden: 32, layers: 3, heads: 2 } }, rule);
      assert.deepEqual(
        d.map((c) => c.flag),
        ['--config (model.hidden)', '--config (model.layers)', '--config (model.heads)'],
      );
      assert.equal(
        describeConflicts(d),
        '--config differs in 3 settings (model.hidden is 32 but the run used 16, ...)',
      );
      assert.equal(
        describeConflicts(settingsDiff({ a: 1 }, { b: 'x' })),
        "'a' is the default but the run used 1; 'b' is x but the run used the default",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a new run refuses a directory holding one; --overwrite removes it (never an input of the new run)', () => {
    const dir = tmp();
    try {
      startedRun(dir);
      assert.throws(() => RunDir.open({ dir, command: 'test', mode: 'new', log: () => {} }), {
        message: `test: ${dir} already holds a run (run.json, metrics.jsonl, 3 checkpoints (last step 6)); continue it with --resume, or start over with --overwrite (deletes them)`,
      });
      assert.equal(existsSync(join(dir, 'run.lock')), false, 'the lock is released after the refusal');
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'input.jsonl'), '{}');
      assert.throws(
        () =>
          RunDir.open({
            dir,
            command: 'test',
            mode: 'overwrite',
            extraEntries: ['data'],
            inputs: [join(dir, 'data', 'input.jsonl')],
            log: () => {},
          }),
        /--overwrite would delete .*input\.jsonl, an input of this run/,
      );
      assert.ok(existsSync(join(dir, 'run.json')), 'nothing was removed');
      const logs: string[] = [];
      RunDir.open({
        dir,
        command: 'test',
        mode: 'overwrite',
        extraEntries: ['data'],
        log: (l) => logs.push(l),
      }).close();
      assert.deepEqual(logs, [`overwrite: removed run.json, metrics.jsonl, checkpoints, data from ${dir}`]);
      assert.deepEqual(readdirSync(dir), []);
      assert.throws(() => RunDir.open({ dir: join(dir, 'x'), command: 'test', mode: 'resume' }), {
        message: `test: --resume: ${join(dir, 'x', 'run.json')} does not exist (nothing to resume)`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('metrics on resume: a torn last line and the lines after the checkpoint are dropped (and said); a bad line is an error', () => {
    const dir = tmp();
    try {
      startedRun(dir);
      writeFileSync(join(dir, 'metrics.jsonl'), readFileSync(join(dir, 'metrics.jsonl'), 'utf8') + '{"step":6,"lo');
      const logs: string[] = [];
      const run = RunDir.open({ dir, command: 'test', mode: 'resume', log: (l) => logs.push(l) });
      assert.deepEqual(
        run.prepareMetrics(4).map((r) => r.step),
        [1, 2, 3, 4],
      );
      assert.deepEqual(logs, [
        `${join(dir, 'metrics.jsonl')}: dropped an incomplete last line (13 bytes, a write cut short)`,
        `${join(dir, 'metrics.jsonl')}: dropped 1 line(s) after step 4 (written after the checkpoint)`,
      ]);
      assert.equal(
        readFileSync(join(dir, 'metrics.jsonl'), 'utf8'),
        '{"step":1}\n{"step":2}\n{"step":3}\n{"step":4}\n',
      );
      assert.ok(
        readdirSync(dir).every((n) => !n.includes('.tmp-')),
        'no temporary file left',
      );
      writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\n{"step":2,}\n{"step":3}\n');
      assert.throws(() => run.prepareMetrics(4), new RegExp(`^Error: ${join(dir, 'metrics.jsonl')}:2: not valid JSON`));
      run.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint that fails to load is moved aside and the previous one used; none loading is an error naming each', () => {
    const dir = tmp();
    try {
      startedRun(dir);
      const logs: string[] = [];
      const run = RunDir.open({ dir, command: 'test', mode: 'resume', log: (l) => logs.push(l) });
      run.resume(settings, rule);
      const got = run.loadLatestCheckpoint((d) => {
        if (d.endsWith('6')) throw new Error('truncated');
        return d;
      });
      assert.equal(got.step, 4);
      const ckpts = join(dir, 'checkpoints');
      assert.deepEqual(logs, [
        `warning: checkpoint ${join(ckpts, 'step-00000006')} is unreadable (truncated); resuming from step 4 instead (the bad one is kept as ${join(ckpts, 'corrupt-step-00000006')})`,
      ]);
      assert.deepEqual(readdirSync(ckpts).sort(), ['corrupt-step-00000006', 'step-00000002', 'step-00000004']);
      assert.equal(readRunRecord(dir)!.history.length, 0, 'run.json is written when the resume is committed');
      run.resumed(got.dir, got.step);
      assert.equal(readRunRecord(dir)!.history.at(-1)!.step, 4, 'the history says where the resume started');
      assert.throws(
        () =>
          run.loadLatestCheckpoint(() => {
            throw new Error('bad');
          }),
        { message: `test --resume: no checkpoint in ${ckpts} can be read: step-00000004: bad; step-00000002: bad` },
      );
      assert.ok(existsSync(join(ckpts, 'step-00000004')), 'nothing is moved when no checkpoint loads');
      run.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run.json: status, stops and the summary are recorded; a run.json older than the protocol reads as settings', () => {
    const dir = tmp();
    try {
      startedRun(dir);
      const run = RunDir.open({ dir, command: 'test', mode: 'resume', log: () => {} });
      run.resume(settings, rule);
      run.markStopped('SIGTERM', 4);
      assert.equal(readRunRecord(dir)!.status, 'stopped');
      assert.deepEqual(
        readRunRecord(dir)!.history.map((h) => [h.event, h.signal, h.step]),
        [
          ['resume', undefined, undefined],
          ['stop', 'SIGTERM', 4],
        ],
      );
      run.markFinished({ finalLoss: 1.5 });
      run.close();
      assert.equal(runFinished(dir), false, 'finished needs the final model too');
      mkdirSync(join(dir, 'model'));
      writeFileSync(join(dir, 'model', 'config.json'), '{}');
      assert.equal(runFinished(dir), true);
      assert.deepEqual(readRunRecord(dir)!.summary, { finalLoss: 1.5 });
      const json = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
      assert.deepEqual(Object.keys(json), [
        'format',
        'command',
        'created',
        'data',
        'model',
        'train',
        'status',
        'summary',
        'history',
      ]);
      writeFileSync(join(dir, 'run.json'), JSON.stringify({ preset: 'tiny', seed: 0 }));
      assert.deepEqual(readRunRecord(dir), {
        command: null,
        created: null,
        settings: { preset: 'tiny', seed: 0 },
        status: null,
        summary: null,
        history: [],
      });
      writeFileSync(join(dir, 'run.json'), '{"format": "r1ts-run-1", "status": "done", "history": []}');
      assert.throws(
        () => readRunRecord(dir),
        /run\.json .*: "status" must be running, stopped or finished, got "done"/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
