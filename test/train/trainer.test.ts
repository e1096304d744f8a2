import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeepseekV3 } from '../../src/models/index.js';
import { DEFAULT_TRAIN_CONFIG, flipLastBits, train, type StepMetrics } from '../../src/train/trainer.js';
import { tensor } from '../../src/tensor/index.js';
import { SpikeDetector } from '../../src/train/spike.js';
import { listCheckpoints, loadCheckpoint } from '../../src/train/checkpoint.js';
import { AdamW } from '../../src/optim/adamw.js';
import { ToySource, toyConfig } from './fixtures.js';

const base = {
  ...DEFAULT_TRAIN_CONFIG,
  steps: 12,
  seqLen: 8,
  batchStart: 2,
  batchEnd: 4,
  microBatch: 2,
  peakLr: 3e-3,
  warmupSteps: 2,
  evalEvery: 4,
  evalBatches: 1,
  checkpointEvery: 3,
};

function readMetrics(dir: string): StepMetrics[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepMetrics);
}

describe('pre-training loop', () => {
  it('trains: loss falls, checkpoints are kept (last K), metrics are written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-train-'));
    try {
      const model = new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 });
      const r = await train({
        outDir: dir,
        model,
        train: new ToySource(5, 8, 16),
        val: new ToySource(99, 8, 16),
        log: () => {},
        config: { ...base, steps: 30, peakLr: 1e-2 },
      });
      assert.equal(r.steps, 30);
      const m = readMetrics(dir);
      assert.equal(m.length, 30);
      const first = m.slice(0, 3).reduce((s, x) => s + x.mainLoss, 0) / 3;
      const last = m.slice(-3).reduce((s, x) => s + x.mainLoss, 0) / 3;
      assert.ok(last < first - 0.3, `loss ${first} -> ${last}`);
      assert.ok(m[0].batch === 2 && m[29].batch === 4, 'batch ramp');
      assert.ok(m.every((x) => x.imbalance !== null && x.mtpLoss !== null));
      assert.deepEqual(
        listCheckpoints(join(dir, 'checkpoints')).map((c) => c.step),
        [24, 27, 30],
      );
      assert.ok(readdirSync(join(dir, 'checkpoints')).every((n) => !n.startsWith('.tmp')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run killed mid-way (SIGKILL) resumes to exactly the uninterrupted loss curve', async () => {
    const ref = mkdtempSync(join(tmpdir(), 'r1ts-ref-'));
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-kill-'));
    try {
      const child = (args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'test/train/child.ts', ...args], { encoding: 'utf8' });
      const full = child([ref, 'fresh']);
      assert.equal(full.status, 0, full.stderr);
      // start a slow run and kill it hard after step 7 (checkpoint at 6)
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', 'test/train/child.ts', dir, 'fresh', '150'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"step":7,')) p.kill('SIGKILL');
        });
        p.on('exit', (code, signal) =>
          signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code} before being killed: ${out}`)),
        );
      });
      assert.equal(listCheckpoints(join(dir, 'checkpoints')).at(-1)!.step, 6);
      const resumed = child([dir, 'resume']);
      assert.equal(resumed.status, 0, resumed.stderr);
      assert.deepEqual(
        readMetrics(dir).map((m) => [m.step, m.loss, m.valLoss]),
        readMetrics(ref).map((m) => [m.step, m.loss, m.valLoss]),
      );
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
        outDir: dir,
        model,
        train: new ToySource(5, 8, 16),
        log: (l) => logs.push(l),
        config: base,
        onStep: (m) => {
          if (m.step === 7 && !poisoned) {
            poisoned = true;
            model.layers[0].attn.wo.weight.data[0] = NaN; // the next step's loss is NaN
          }
        },
      });
      assert.equal(r.steps, 12);
      assert.equal(r.rollbacks, 1);
      assert.ok(
        logs.some((l) => /step 8: SPIKE \(non-finite loss NaN\) -> rolled back to step 6/.test(l)),
        logs.join('\n'),
      );
      const m = readMetrics(dir);
      assert.ok(m.some((x) => x.event?.startsWith('rollback to step 6')));
      assert.ok(Number.isFinite(r.finalLoss));
      assert.ok(!Number.isNaN(model.layers[0].attn.wo.weight.data[0]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flipLastBits moves every float32 by one ulp (zeros and the smallest subnormal kept), and twice restores it', () => {
    const vals = [1, -1, 0.1, -3e-39, 0, -0, 65504, 1e-45];
    const t = tensor(Float32Array.from(vals), { shape: [2, 4] });
    flipLastBits([t]);
    const ulp = (x: number): number => {
      const f = new Float32Array([x]);
      const u = new Uint32Array(f.buffer);
      u[0] ^= 1;
      return f[0];
    };
    for (let i = 0; i < vals.length; i++) {
      const v = Math.fround(vals[i]);
      if (v === 0 || Math.abs(v) === 2 ** -149) assert.ok(Object.is(t.data[i], v), `${v} kept`);
      else {
        assert.notEqual(t.data[i], v);
        assert.equal(t.data[i], ulp(v));
        // one ulp: no float32 lies strictly between the two
        const [lo, hi] = v < t.data[i] ? [v, t.data[i]] : [t.data[i], v];
        const mid = Math.fround((lo + hi) / 2);
        assert.ok(mid === lo || mid === hi, `${v} -> ${t.data[i]} is one step`);
      }
    }
    flipLastBits([t]);
    assert.deepEqual(Array.from(t.data), vals.map(Math.fround));
  });

  it('flipInitLastBit: the run starts from the init with every weight one ulp off, and trains on from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-train-'));
    try {
      const run = async (flip: boolean, out: string) => {
        const model = new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 });
        const init = model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data as Float32Array)] as const);
        await train({
          outDir: join(dir, out),
          model,
          train: new ToySource(5, 8, 16),
          log: () => {},
          config: { ...base, steps: 3, ...(flip ? { flipInitLastBit: true } : {}) },
        });
        const fresh = new DeepseekV3(toyConfig(), { seed: 7, initStd: 0.1 });
        loadCheckpoint(
          listCheckpoints(join(dir, out, 'checkpoints'))[0].dir,
          fresh,
          new AdamW(fresh.namedParameters(), { lr: 0 }),
        );
        return {
          init,
          step0: fresh.namedParameters(),
          final: model.parameters().map((p) => p.data),
          losses: readMetrics(join(dir, out)).map((m) => m.mainLoss),
        };
      };
      const a = await run(false, 'a');
      const b = await run(true, 'b');
      assert.equal(listCheckpoints(join(dir, 'b', 'checkpoints'))[0].step, 0);
      for (let i = 0; i < b.init.length; i++) {
        const [name, w] = b.init[i];
        const want = Float32Array.from(w);
        flipLastBits([tensor(want)]);
        assert.deepEqual(b.step0[i][1].data, want, `${name}: step-0 weights are the flipped init`);
        assert.deepEqual(a.step0[i][1].data, a.init[i][1], `${name}: unflipped run starts from the init`);
      }
      assert.notDeepEqual(b.final, a.final, 'the nudge is carried through training');
      for (let i = 0; i < 3; i++)
        assert.ok(
          Math.abs(b.losses[i] - a.losses[i]) < 1e-4 * a.losses[i],
          `step ${i + 1}: ${a.losses[i]} vs ${b.losses[i]}`,
        );
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
