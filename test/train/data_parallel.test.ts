/**
 * Data-parallel training (TrainConfig.workers): the same loss curve and the same final weights as one thread, bit for
 * bit, for a DeepSeek-V3 model (MoE with router bias, balance loss, MTP) and a dense model, in fp32 and the FP8/BF16
 * precisions; an interrupted run with workers resumes to the uninterrupted one; a failing worker ends the run with an
 * error that names it, and the process exits (no worker left running).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeepseekV3, DenseLM, parseConfig, type CausalLM, type DenseConfig } from '../../src/models/index.js';
import { DEFAULT_TRAIN_CONFIG, train, type StepMetrics, type TrainConfig } from '../../src/train/trainer.js';
import { DataParallel, autoWorkers, splitMicroBatches } from '../../src/train/data_parallel.js';
import { setModelPrecision } from '../../src/fp8/precision.js';
import { ToySource, toyConfig } from './fixtures.js';

// batch 2 -> 5 sequences in micro-batches of 1: 2 to 5 micro-batches per step, so 2 and 3 ranks split them unevenly
const base: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG,
  steps: 8,
  seqLen: 8,
  batchStart: 2,
  batchEnd: 5,
  microBatch: 1,
  peakLr: 1e-2,
  warmupSteps: 2,
  evalEvery: 4,
  evalBatches: 1,
  checkpointEvery: 3,
};

const denseConfig = (): DenseConfig =>
  parseConfig({
    model_type: 'qwen2',
    vocab_size: 16,
    hidden_size: 24,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 6,
    num_key_value_heads: 2,
  }).config as DenseConfig;

const makeModel = (kind: 'deepseek' | 'dense'): CausalLM =>
  kind === 'deepseek'
    ? new DeepseekV3(toyConfig(), { seed: 1, initStd: 0.1 })
    : new DenseLM(denseConfig(), { seed: 1, initStd: 0.1 });

/** The numbers of a step (not its timing), with -0 and NaN kept apart by Object.is. */
const numbers = (m: StepMetrics) => [
  m.step,
  m.tokens,
  m.loss,
  m.mainLoss,
  m.mtpLoss,
  m.balanceLoss,
  m.lr,
  m.batch,
  m.gradNorm,
  m.imbalance,
  m.valLoss ?? null,
  m.event ?? null,
];

function sameBits(a: CausalLM, b: CausalLM, what: string): void {
  const sb = b.stateDict();
  for (const [name, t] of a.stateDict()) {
    const u = sb.get(name)!;
    const i = t.data.findIndex((v, j) => !Object.is(v, u.data[j]));
    assert.equal(i, -1, `${what}: ${name}[${i}] ${t.data[i]} vs ${u.data[i]}`);
  }
}

function assertSameRun(
  a: { m: StepMetrics[]; model: CausalLM },
  b: { m: StepMetrics[]; model: CausalLM },
  what: string,
): void {
  assert.equal(a.m.length, b.m.length, what);
  a.m.forEach((x, i) => {
    const [p, q] = [numbers(x), numbers(b.m[i])];
    assert.ok(
      p.every((v, j) => Object.is(v, q[j])),
      `${what}: step ${x.step}: ${JSON.stringify(p)} vs ${JSON.stringify(q)}`,
    );
  });
  sameBits(a.model, b.model, what);
}

async function run(
  kind: 'deepseek' | 'dense',
  config: Partial<TrainConfig>,
  prep?: (m: CausalLM) => void,
  onStep?: (m: StepMetrics, model: CausalLM) => void,
): Promise<{ m: StepMetrics[]; model: CausalLM }> {
  const dir = mkdtempSync(join(tmpdir(), 'r1ts-dp-'));
  try {
    const model = makeModel(kind);
    prep?.(model);
    const r = await train({
      outDir: dir,
      model,
      train: new ToySource(5, 8, 16),
      val: new ToySource(99, 8, 16),
      log: () => {},
      config: { ...base, ...config },
      onStep: onStep && ((m) => onStep(m, model)),
    });
    return { m: r.history, model };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('data-parallel training (workers)', () => {
  it('splits micro-batches into contiguous runs, the longer first; auto picks 2 for small models with 2+ micro-batches on 2+ cores', () => {
    assert.deepEqual(splitMicroBatches(3, 2), [2, 1]);
    assert.deepEqual(splitMicroBatches(5, 3), [2, 2, 1]);
    assert.deepEqual(splitMicroBatches(1, 2), [1, 0]);
    assert.deepEqual(splitMicroBatches(4, 2), [2, 2]);
    const run = { batchEnd: 12, microBatch: 4 };
    assert.equal(autoWorkers(toyConfig(), run, 2), 2);
    assert.equal(autoWorkers(toyConfig(), run, 1), 1);
    assert.equal(autoWorkers({ ...toyConfig(), hidden_size: 1024 }, run, 16), 1);
    assert.equal(autoWorkers(toyConfig(), { batchEnd: 8, microBatch: 8 }, 2), 1, 'one micro-batch per step');
  });

  it('DeepSeek-V3 (MoE, router bias, balance loss, MTP): workers 2 and 3 give the bits of workers 1', async () => {
    const one = await run('deepseek', {});
    assert.ok(one.m.every((x) => x.mtpLoss !== null && x.mtpLoss > 0 && x.balanceLoss > 0 && x.imbalance !== null));
    const bias = (one.model as DeepseekV3).gates()[0].bias!;
    assert.ok(
      bias.data.some((v) => v !== 0),
      'the router bias moved',
    );
    // bit equality is not a given: another accumulation order (micro-batches of 2 sequences) changes the bits
    const other = await run('deepseek', { microBatch: 2 });
    assert.ok(
      other.m.some((x, i) => x.loss !== one.m[i].loss),
      'a different accumulation order gives other bits',
    );
    assertSameRun(one, await run('deepseek', { workers: 2 }), 'workers 2');
    assertSameRun(one, await run('deepseek', { workers: 3 }), 'workers 3');
  });

  it('dense model: workers 2 gives the bits of workers 1', async () => {
    assertSameRun(await run('dense', {}), await run('dense', { workers: 2 }), 'dense workers 2');
  });

  for (const precision of ['fp8', 'bf16'] as const) {
    it(`--precision ${precision}: the replicas run the same numerics (workers 2 = workers 1)`, async () => {
      const cfg = { steps: 3, precision, optimizerMoments: 'bf16' as const };
      const one = await run('deepseek', cfg);
      assertSameRun(one, await run('deepseek', { ...cfg, workers: 2 }), `${precision} workers 2`);
      const fp32 = await run('deepseek', { steps: 3 });
      assert.notEqual(one.m[2].loss, fp32.m[2].loss, `${precision} is not fp32`);
    });
  }

  it('a NaN rollback (model, optimizer and router state back to the checkpoint) is the same with workers', async () => {
    const poisonOnce = () => {
      let done = false;
      return (m: StepMetrics, model: CausalLM) => {
        if (m.step !== 4 || done) return;
        done = true;
        (model as DeepseekV3).layers[0].attn.wo.weight.data[0] = NaN; // step 5's loss is NaN
      };
    };
    const one = await run('deepseek', {}, undefined, poisonOnce());
    assert.equal(one.m.filter((x) => x.event?.startsWith('rollback to step 3')).length, 1);
    assertSameRun(one, await run('deepseek', { workers: 2 }, undefined, poisonOnce()), 'rollback with workers 2');
  });

  it('a model switched by hand (no TrainConfig.precision) is an error: the replicas could not copy it', async () => {
    await assert.rejects(
      run('deepseek', { workers: 2 }, (m) => setModelPrecision(m, 'fp8', { v3SpecialCases: false })),
      /data-parallel: layers\.0\.attn\.\S+ runs a switched GEMM but no precision was given/,
    );
  });

  it('a run with workers stopped mid-way resumes to exactly the uninterrupted single-thread run', async () => {
    const ref = await run('deepseek', { steps: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'r1ts-dp-resume-'));
    try {
      // fresh sources for each run, as a new process would have
      const args = () => ({
        outDir: dir,
        train: new ToySource(5, 8, 16),
        val: new ToySource(99, 8, 16),
        log: () => {},
      });
      await assert.rejects(
        train({
          ...args(),
          model: makeModel('deepseek'),
          config: { ...base, steps: 10, workers: 2 },
          onStep: (m) => {
            if (m.step === 7) throw new Error('stop at step 7');
          },
        }),
        /stop at step 7/,
      );
      const model = makeModel('deepseek');
      await train({ ...args(), model, resume: true, config: { ...base, steps: 10, workers: 2 } });
      const m = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as StepMetrics);
      assertSameRun(ref, { m, model }, 'resumed with workers 2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an exception in a worker is an error in the main thread naming the worker, and the process exits', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/train/data_parallel_child.ts'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.error, undefined, 'the child did not exit by itself');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /data-parallel: worker 1: indexSelect: index 99 is out of range/);
    assert.match(r.stdout, /^step 1\/4 /, 'step 1 ran before the bad batch');
  });

  it('run() checks its state: after close it refuses to run', async () => {
    const dp = await DataParallel.create({ model: makeModel('dense'), workers: 2 });
    await dp.close();
    await assert.rejects(dp.run([], { balanceAlpha: 0, mtpLambda: 0 }), /run after close/);
  });
});
