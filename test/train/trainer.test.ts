import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeepseekV3 } from '../../src/models/index.js';
import { DEFAULT_TRAIN_CONFIG, train, type StepMetrics } from '../../src/train/trainer.js';
import { SpikeDetector } from '../../src/train/spike.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { ToySource, toyConfig } from './fixtures.js';

const base = { ...DEFAULT_TRAIN_CONFIG, steps: 12, seqLen: 8, batchStart: 2, batchEnd: 4, microBatch: 2, peakLr: 3e-3, warmupSteps: 2, evalEvery: 4, evalBatches: 1, checkpointEvery: 3 };

function readMetrics(dir: string): StepMetrics[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepMetrics);
}

describe('pre-training loop', () => {
  it('trains: loss falls, checkpoints are kept (last K), metrics are written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-train-'));
    try {
      const model = new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 });
      const r = await train({ outDir: dir, model, train: new ToySource(5, 8, 16), val: new ToySource(99, 8, 16), log: () => {}, config: { ...base, steps: 30, peakLr: 1e-2 } });
      assert.equal(r.steps, 30);
      const m = readMetrics(dir);
      assert.equal(m.length, 30);
      const first = m.slice(0, 3).reduce((s, x) => s + x.mainLoss, 0) / 3;
      const last = m.slice(-3).reduce((s, x) => s + x.mainLoss, 0) / 3;
      assert.ok(last < first - 0.3, `loss ${first} -> ${last}`);
      assert.ok(m[0].batch === 2 && m[29].batch === 4, 'batch ramp');
      assert.ok(m.every((x) => x.imbalance !== null && x.mtpLoss !== null));
      assert.deepEqual(listCheckpoints(join(dir, 'checkpoints')).map((c) => c.step), [24, 27, 30]);
      assert.ok(readdirSync(join(dir, 'checkpoints')).every((n) => !n.startsWith('.tmp')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run killed mid-way (SIGKILL) resumes to exactly the uninterrupted loss curve', async () => {
    const ref = mkdtempSync(join(tmpdir(), 'r1ts-ref-'));
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-kill-'));
    try {
      const child = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'test/train/child.ts', ...args], { encoding: 'utf8' });
      const full = child([ref, 'fresh']);
      assert.equal(full.status, 0, full.stderr);
      // start a slow run and kill it hard after step 7 (checkpoint at 6)
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', 'test/train/child.ts', dir, 'fresh', '150'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"step":7,')) p.kill('SIGKILL');
        });
        p.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} before being killed: ${out}`))));
      });
      assert.equal(listCheckpoints(join(dir, 'checkpoints')).at(-1)!.step, 6);
      const resumed = child([dir, 'resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(readMetrics(dir).map((m) => [m.step, m.loss, m.valLoss]), readMetrics(ref).map((m) => [m.step, m.loss, m.valLoss]));
    } finally {
      rmSync(ref, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a NaN rolls back to the last checkpoint, skips the batch and carries on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-spike-'));
    try {
      const model = new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 });
      let poisoned = false;
      const logs: string[] = [];
      const r = await train({
        outDir: dir, model, train: new ToySource(5, 8, 16), log: (l) => logs.push(l), config: base,
        onStep: (m) => {
          if (m.step === 7 && !poisoned) {
            poisoned = true;
            model.layers[0].attn.wo.weight.data[0] = NaN; // the next step's loss is NaN
          }
        },
      });
      assert.equal(r.steps, 12);
      assert.equal(r.rollbacks, 1);
      assert.ok(logs.some((l) => /step 8: SPIKE \(non-finite loss NaN\) -> rolled back to step 6/.test(l)), logs.join('\n'));
      const m = readMetrics(dir);
      assert.ok(m.some((x) => x.event?.startsWith('rollback to step 6')));
      assert.ok(Number.isFinite(r.finalLoss));
      assert.ok(!Number.isNaN(model.layers[0].attn.wo.weight.data[0]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spike detector: flags far-above-mean and non-finite losses only after warm-up', () => {
    const d = new SpikeDetector({ warmup: 5, zThreshold: 4, minRatio: 0.2 });
    assert.equal(d.isSpike(100), false, 'no detection during warm-up');
    for (let i = 0; i < 30; i++) d.observe(2 + 0.01 * Math.sin(i));
    assert.equal(d.isSpike(2.02), false);
    assert.equal(d.isSpike(3.5), true);
    assert.equal(d.isSpike(Infinity), true);
    assert.equal(d.isSpike(NaN), true);
  });
});
